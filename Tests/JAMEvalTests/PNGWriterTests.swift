import Foundation
import JAMEval
import JAMTestSupport
import Testing

/// Decodes a PNG with the ffmpeg command line (an independent route) to `[H, W, 3]` RGB24 bytes.
func decodeWithFFmpegCLI(_ url: URL) throws -> Data {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["ffmpeg", "-v", "error", "-i", url.path, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
    let out = Pipe()
    process.standardOutput = out
    try process.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { throw CLIError(status: process.terminationStatus) }
    return data
}

struct CLIError: Error { var status: Int32 }

@Suite struct PNGWriterTests {
    @Test func randomPixelsDecodeBackIdentically() throws {
        // An odd width, so rows are not a multiple of the frame's line alignment.
        var rng = SplitMix(seed: 3)
        let image = RGBImage(width: 37, height: 23, pixels: (0..<(37 * 23 * 3)).map { _ in UInt8.random(in: 0...255, using: &rng) })
        try withTemporaryDirectory { dir in
            let url = dir.appendingPathComponent("random.png")
            try PNGWriter.write(image, to: url)
            let file = try Data(contentsOf: url)
            #expect(Array(file.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
            #expect(Array(try decodeWithFFmpegCLI(url)) == image.pixels)
            // Deterministic bytes.
            #expect(try PNGWriter.encode(image) == file)
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["random.png"])
        }
    }

    @Test func attentionStripDecodesBackIdentically() throws {
        let frames = (0..<2).map { i in
            RGBImage(width: 6, height: 4, pixels: (0..<(6 * 4 * 3)).map { UInt8(truncatingIfNeeded: $0 * 7 + i * 40) })
        }
        let strip = try attentionStrip(frames: frames, attention: [[0.1, 0.2, 0.3, 0.4], [0.4, 0.3, 0.2, 0.1]], gridSize: 2)
        try withTemporaryDirectory { dir in
            let url = dir.appendingPathComponent("strip.png")
            try PNGWriter.write(strip, to: url)
            #expect(Array(try decodeWithFFmpegCLI(url)) == strip.pixels)
        }
    }

    @Test func emptyImageIsRejected() {
        #expect(throws: (any Error).self) { try PNGWriter.encode(RGBImage(width: 0, height: 4)) }
    }
}
