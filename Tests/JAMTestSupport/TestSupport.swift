import Foundation
import JAMTensor
import Testing

/// A fresh directory under the system temporary folder, removed when `body` returns.
public func withTemporaryDirectory<R>(
    _ body: (URL) throws -> R
) throws -> R {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("jam-test-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: url) }
    return try body(url)
}

/// The largest absolute difference between two equally long sequences.
public func maxAbsDifference<A: Collection, B: Collection>(_ a: A, _ b: B) -> Double
where A.Element: BinaryFloatingPoint, B.Element: BinaryFloatingPoint {
    precondition(a.count == b.count, "length mismatch: \(a.count) vs \(b.count)")
    var worst = 0.0
    for (x, y) in zip(a, b) { worst = max(worst, abs(Double(x) - Double(y))) }
    return worst
}

/// Expects `|actual - expected| <= atol + rtol * |expected|` elementwise, and reports the worst
/// element (index, both values, largest difference) when it fails.
public func expectClose<A: Collection, B: Collection>(
    _ actual: A, _ expected: B, rtol: Double = 1e-5, atol: Double = 1e-6,
    _ what: String = "", sourceLocation: SourceLocation = #_sourceLocation
) where A.Element: BinaryFloatingPoint, B.Element: BinaryFloatingPoint {
    guard actual.count == expected.count else {
        Issue.record("\(what): length \(actual.count) != expected \(expected.count)", sourceLocation: sourceLocation)
        return
    }
    var worstIndex = -1
    var worstExcess = 0.0
    var maxDiff = 0.0
    for (i, (x, y)) in zip(actual, expected).enumerated() {
        let d = abs(Double(x) - Double(y))
        maxDiff = max(maxDiff, d)
        let excess = d - (atol + rtol * abs(Double(y)))
        if excess > worstExcess || (!d.isFinite || Double(x).isNaN) && worstIndex < 0 {
            worstExcess = excess.isFinite ? excess : .infinity
            worstIndex = i
        }
    }
    if worstIndex >= 0 {
        let x = Double(actual[actual.index(actual.startIndex, offsetBy: worstIndex)])
        let y = Double(expected[expected.index(expected.startIndex, offsetBy: worstIndex)])
        Issue.record(
            "\(what): element \(worstIndex) is \(x), expected \(y) (rtol \(rtol), atol \(atol)); max |diff| \(maxDiff)",
            sourceLocation: sourceLocation)
    }
}

/// Where SwiftPM put the built executables: the folder that holds the test bundle.
///
/// Every test that starts a program finds it here, so the first use also gives the programs
/// this test process's BLAS kernels: JAM's programs re-execute themselves with other kernels
/// when OpenBLAS falls back to its generic ones (`BLASKernelChoice`), which the test process
/// cannot do, and the tests compare their results with in-process ones bit for bit. When
/// `OPENBLAS_CORETYPE` is already set (scripts/test.sh sets it to the programs' choice),
/// nothing changes.
public var productsDirectory: URL { builtProducts }

private let builtProducts: URL = {
    if ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil {
        setenv("OPENBLAS_CORETYPE", BLASInfo.current.coreName, 1)
    }
    var url = Bundle.main.bundleURL
    // On Linux the test runner is `<products>/JAMPackageTests.xctest`; walk up to its folder.
    while url.pathExtension == "xctest" || !FileManager.default.fileExists(
        atPath: url.appendingPathComponent("jam-decode").path)
    {
        let parent = url.deletingLastPathComponent()
        if parent.path == url.path { break }
        url = parent
    }
    return url
}()

/// The result of running one of JAM's executables.
public struct ProcessResult: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
}

/// Runs a built executable (`jam-decode`, ...) with arguments, in `directory`, and collects its output.
@discardableResult
public func runExecutable(
    _ name: String, _ arguments: [String], in directory: URL? = nil,
    environment: [String: String] = [:], unsetting: [String] = []
) throws -> ProcessResult {
    try runProcess(productsDirectory.appendingPathComponent(name), arguments, in: directory,
                   environment: environment, unsetting: unsetting)
}

/// Runs any program with arguments, in `directory`, with extra environment variables (and
/// without the variables in `unsetting`), and collects its output.
@discardableResult
public func runProcess(
    _ executable: URL, _ arguments: [String], in directory: URL? = nil,
    environment: [String: String] = [:], unsetting: [String] = []
) throws -> ProcessResult {
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    if let directory { process.currentDirectoryURL = directory }
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        .filter { !unsetting.contains($0.key) }
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    // Read both pipes concurrently so neither fills up and blocks the child.
    nonisolated(unsafe) var errData = Data()
    let errThread = Thread { errData = err.fileHandleForReading.readDataToEndOfFile() }
    errThread.start()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    while !errThread.isFinished { usleep(1000) }
    return ProcessResult(
        status: process.terminationStatus,
        stdout: String(decoding: outData, as: UTF8.self),
        stderr: String(decoding: errData, as: UTF8.self))
}
