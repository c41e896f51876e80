import Foundation
import JAMArtifacts
import JAMTestSupport
import Testing

@Suite struct HDF5FileTests {
    /// Files JAM creates or opens are not inherited by the programs it starts (their HDF5 lock
    /// would stay held as long as such a program runs).
    @Test func openFilesAreClosedOnExec() throws {
        try withTemporaryDirectory { dir in
            let url = dir.appendingPathComponent("cloexec.h5")
            do {
                let file = try HDF5File.create(at: url)
                try file.write("x", [Float(1)], shape: [1])
                let flags = try #require(file.descriptorFlags, "HDF5 gave no descriptor for a created file")
                #expect(flags & FD_CLOEXEC != 0)
            }
            let file = try HDF5File.open(at: url)
            let flags = try #require(file.descriptorFlags, "HDF5 gave no descriptor for an opened file")
            #expect(flags & FD_CLOEXEC != 0)
        }
    }

    @Test func everyElementTypeRoundTrips() throws {
        try withTemporaryDirectory { dir in
            let url = dir.appendingPathComponent("types.h5")
            let shape = [2, 3, 4]
            let n = shape.reduce(1, *)
            let u8 = (0..<n).map { UInt8(($0 * 37) % 256) }
            let i32 = (0..<n).map { Int32($0 * 1_000_003 - 7_000_000) }
            let i64 = (0..<n).map { Int64($0) * 10_000_000_000 - 3 }
            let f32 = (0..<n).map { Float($0) * 0.37 - 3.3 }
            let f64 = (0..<n).map { Double($0) * 1e-300 + 1 / 3 }
            do {
                let file = try HDF5File.create(at: url)
                try file.write("u8", u8, shape: shape, options: DatasetOptions(deflate: 4))
                try file.write("i32", i32, shape: shape)
                try file.write("nested/i64", i64, shape: shape, options: DatasetOptions(chunk: [1, 3, 2], deflate: 1))
                try file.write("f32", f32, shape: shape, options: DatasetOptions(deflate: 9))
                try file.write("f64", f64, shape: shape)
            }
            let file = try HDF5File.open(at: url)
            #expect(try file.read("u8", as: UInt8.self) == (u8, shape))
            #expect(try file.read("i32", as: Int32.self) == (i32, shape))
            #expect(try file.read("nested/i64", as: Int64.self) == (i64, shape))
            #expect(try file.read("f32", as: Float.self) == (f32, shape))
            #expect(try file.read("f64", as: Double.self) == (f64, shape))
            #expect(try file.openDataset("u8").storageType() == .uint8)
            #expect(try file.openDataset("nested/i64").storageType() == .int64)
            #expect(file.memberNames() == ["f32", "f64", "i32", "nested", "u8"])
        }
    }

    @Test func float16StorageRoundsToNearestHalfAndReadsBackAsFloat() throws {
        try withTemporaryDirectory { dir in
            let url = dir.appendingPathComponent("half.h5")
            // Exactly representable halves survive; 1/3 rounds to the nearest half (0x3555).
            let values: [Float] = [1, -2, 0.5, 65504, 1.0 / 3.0, 0]
            do {
                let file = try HDF5File.create(at: url)
                try file.write("h", values, shape: [2, 3], options: DatasetOptions(storage: .float16, deflate: 2))
            }
            let file = try HDF5File.open(at: url)
            #expect(try file.openDataset("h").storageType() == .float16)
            let back = try file.read("h", as: Float.self).data
            #expect(Array(back[0..<4]) == [1, -2, 0.5, 65504])
            #expect(back[4] == Float(Float16(bitPattern: 0x3555)))
            // Independent route: h5dump interprets our 16-bit float type with the same values.
            let dump = try runTool("/usr/bin/h5dump", ["-d", "/h", url.path])
            #expect(dump.contains("65504"), "h5dump output: \(dump)")
            #expect(dump.contains("-2"), "h5dump output: \(dump)")
        }
    }

    @Test func slicesWriteAndReadInPlace() throws {
        try withTemporaryDirectory { dir in
            let url = dir.appendingPathComponent("slices.h5")
            let file = try HDF5File.create(at: url)
            let dataset = try file.createDataset("x", of: Float.self, shape: [3, 2, 2], options: DatasetOptions(deflate: 1))
            for t in 0..<3 {
                let frame = (0..<4).map { Float(t * 10 + $0) }
                try frame.withUnsafeBufferPointer { try dataset.write(buffer: $0, at: [t, 0, 0], shape: [1, 2, 2]) }
            }
            var middle = [Float](repeating: 0, count: 4)
            try middle.withUnsafeMutableBufferPointer { try dataset.read(into: $0, at: [1, 0, 0], shape: [1, 2, 2]) }
            #expect(middle == [10, 11, 12, 13])
            #expect(try dataset.read(as: Float.self) == [0, 1, 2, 3, 10, 11, 12, 13, 20, 21, 22, 23])
            var wrong = [Float](repeating: 0, count: 4)
            #expect(throws: HDF5Error.self) {
                try wrong.withUnsafeMutableBufferPointer { try dataset.read(into: $0, at: [2, 1, 0], shape: [1, 2, 2]) }
            }
        }
    }

    @Test func attributesOfEveryKind() throws {
        try withTemporaryDirectory { dir in
            let url = dir.appendingPathComponent("attrs.h5")
            do {
                let file = try HDF5File.create(at: url)
                try file.setAttribute("name", "grüße, 世界")
                try file.setAttribute("count", 42)
                try file.setAttribute("ratio", 0.125)
                try file.setAttribute("mean", [Float(103.939), 116.779, 123.68])
                try file.setAttribute("count", 43)  // replacing is allowed
                let d = try file.write("d", [Int32(1)], shape: [1])
                try d.setAttribute("units", "frames")
            }
            let file = try HDF5File.open(at: url)
            #expect(try file.stringAttribute("name") == "grüße, 世界")
            #expect(try file.intAttribute("count") == 43)
            #expect(try file.doubleAttribute("ratio") == 0.125)
            #expect(try file.numericAttribute("mean", as: Float.self) == [103.939, 116.779, 123.68])
            #expect(try file.stringAttribute("missing") == nil)
            #expect(try file.openDataset("d").stringAttribute("units") == "frames")
            #expect(file.attributeNames() == ["name", "ratio", "mean", "count"])
            #expect(throws: HDF5Error.self) { try file.stringAttribute("count") }
        }
    }

    @Test func badFilesAreNamedWithTheReason() throws {
        try withTemporaryDirectory { dir in
            let missing = dir.appendingPathComponent("missing.h5")
            let empty = dir.appendingPathComponent("empty.h5")
            let text = dir.appendingPathComponent("text.h5")
            let truncated = dir.appendingPathComponent("truncated.h5")
            _ = FileManager.default.createFile(atPath: empty.path, contents: Data())
            _ = FileManager.default.createFile(atPath: text.path, contents: Data("hello".utf8))
            let full = dir.appendingPathComponent("full.h5")
            do {
                let file = try HDF5File.create(at: full)
                try file.write("x", [Float](repeating: 1, count: 50_000), shape: [50_000])
            }
            let bytes = try Data(contentsOf: full)
            try bytes.prefix(1_000).write(to: truncated)
            let cases: [(URL, String)] = [
                (missing, "no such file"), (empty, "empty"), (text, "not an HDF5 file"),
                (truncated, "truncated or corrupt"),
            ]
            for (url, reason) in cases {
                do {
                    _ = try HDF5File.open(at: url)
                    Issue.record("\(url.lastPathComponent) opened")
                } catch let error as HDF5Error {
                    #expect(error.description.contains(url.path))
                    #expect(error.description.contains(reason), "\(error)")
                }
            }
        }
    }
}

/// Runs a command-line tool and returns its standard output; fails the test on a non-zero exit.
func runTool(_ path: String, _ arguments: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    #expect(process.terminationStatus == 0, "\(path) \(arguments) exited \(process.terminationStatus)")
    return String(decoding: data, as: UTF8.self)
}
