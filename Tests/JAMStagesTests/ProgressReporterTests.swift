import Foundation
import JAMStages
import JAMTestSupport
import Testing

/// Progress in a log (standard error a file, as under Slurm): timed lines with done/total, the
/// rate and the ETA, every `JAM_PROGRESS_INTERVAL` seconds; none with 0; no terminal codes.
@Suite(.serialized) struct ProgressReporterTests {
    /// Runs a built executable with standard error written to `log`.
    func run(_ name: String, _ arguments: [String], in dir: URL, log: URL, environment: [String: String]) throws -> Int32 {
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        defer { try? handle.close() }
        let process = Process()
        process.executableURL = productsDirectory.appendingPathComponent(name)
        process.arguments = arguments
        process.currentDirectoryURL = dir
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = handle
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }

    @Test func aStageWritesTimedProgressLinesIntoALogFile() throws {
        try withTemporaryDirectory { dir in
            let config = try writeTinyConfig(in: dir, videosPerClass: 6, frames: 24, size: 64)
            #expect(try runExecutable("jam-synth", ["--config", config.path], in: dir).status == 0)
            let log = dir.appendingPathComponent("decode.log")
            let status = try run("jam-decode", ["--config", config.path, "--threads", "1"], in: dir, log: log,
                                 environment: [ProgressReporter.intervalVariable: "0.01"])
            #expect(status == 0)
            let text = try String(contentsOf: log, encoding: .utf8)
            #expect(!text.contains("\u{1B}") && !text.contains("\r"), "terminal codes in a log: \(text.debugDescription)")
            let lines = text.split(separator: "\n").map(String.init)
            // The first line, then lines while videos are decoded.
            let total = try #require(lines.compactMap { $0.wholeMatch(of: #/jam-decode: 0/(\d+), 0/s, ETA unknown/#) }.first,
                                     "no first progress line in \(text)").1
            #expect(Int(total)! >= 18)
            let timed = lines.compactMap { $0.wholeMatch(of: #/jam-decode: (\d+)/(\d+), ([0-9.]+)/s, ETA (\d+ s|\d+m \d\ds)/#) }
            #expect(!timed.isEmpty, "no timed progress line in \(text)")
            for match in timed {
                #expect(match.2 == total && (1..<Int(total)!).contains(Int(match.1)!) && Double(match.3)! > 0, "\(match.0)")
            }

            // 0 turns the timed lines off; the summary on standard output is unchanged.
            let quiet = dir.appendingPathComponent("quiet.log")
            #expect(try run("jam-decode", ["--config", config.path, "--threads", "1", "--force"], in: dir, log: quiet,
                            environment: [ProgressReporter.intervalVariable: "0"]) == 0)
            let quietText = try String(contentsOf: quiet, encoding: .utf8)
            #expect(!quietText.contains("/\(total),"), "\(quietText)")

            // A value that is not a number of seconds is named, and the default used.
            let bad = dir.appendingPathComponent("bad.log")
            #expect(try run("jam-decode", ["--config", config.path], in: dir, log: bad,
                            environment: [ProgressReporter.intervalVariable: "soon"]) == 0)
            let badText = try String(contentsOf: bad, encoding: .utf8)
            #expect(badText.contains("JAM_PROGRESS_INTERVAL='soon' is not a number of seconds") && badText.contains("using 30 s"),
                    "\(badText)")
        }
    }
}
