import Foundation
import JAMTestSupport
import JAMVideo
import Testing

@Suite struct VideoWriterTests {
    // libx264 prints its settings at info level when writing MP4.
    init() { setFFmpegLogLevel(.error) }

    /// A frame of coloured blocks that moves with `t`: `[H, W, 3]` RGB24.
    static func blocks(width: Int, height: Int, t: Int) -> [UInt8] {
        var rgb = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            for x in 0..<width {
                let cell = ((x + 2 * t) / 16 + y / 16) % 4
                let color: [UInt8] = [[200, 40, 40], [40, 180, 60], [50, 60, 210], [230, 230, 230]][cell]
                for c in 0..<3 { rgb[(y * width + x) * 3 + c] = color[c] }
            }
        }
        return rgb
    }

    static func write(_ url: URL, codec: VideoCodec, width: Int = 64, height: Int = 48, frames: Int = 12, shift: Int = 0) throws {
        let writer = try VideoWriter(url: url, width: width, height: height, fps: 25, codec: codec)
        for t in 0..<frames { try writer.append(rgb: blocks(width: width, height: height, t: t + shift)) }
        try writer.finish()
        #expect(writer.frameCount == frames)
    }

    @Test(arguments: VideoCodec.allCases)
    func identicalInputGivesIdenticalFiles(codec: VideoCodec) throws {
        try withTemporaryDirectory { dir in
            let a = dir.appendingPathComponent("a.\(codec.fileExtension)")
            let b = dir.appendingPathComponent("b.\(codec.fileExtension)")
            let c = dir.appendingPathComponent("c.\(codec.fileExtension)")
            try Self.write(a, codec: codec)
            try Self.write(b, codec: codec)
            try Self.write(c, codec: codec, shift: 1)
            let bytesA = try Data(contentsOf: a), bytesB = try Data(contentsOf: b), bytesC = try Data(contentsOf: c)
            #expect(bytesA.count > 1000)
            #expect(bytesA == bytesB)
            #expect(bytesA != bytesC)
        }
    }

    /// The container and codec as ffprobe sees them, and the pixels back within codec loss.
    @Test(arguments: VideoCodec.allCases)
    func writtenVideoDecodesToTheInput(codec: VideoCodec) throws {
        try withTemporaryDirectory { dir in
            let url = dir.appendingPathComponent("v.\(codec.fileExtension)")
            try Self.write(url, codec: codec, width: 64, height: 64, frames: 10)
            let probe = try FFmpegCLI.runTool("/usr/bin/ffprobe", [
                "-v", "error", "-select_streams", "v:0", "-show_entries",
                "stream=codec_name,width,height:format=format_name", "-of", "default=noprint_wrappers=1", url.path,
            ])
            let expectedCodec = codec == .mpeg4 ? "codec_name=mpeg4" : "codec_name=h264"
            let expectedFormat = codec == .mpeg4 ? "format_name=avi" : "format_name=mov,mp4"
            #expect(probe.contains(expectedCodec) && probe.contains(expectedFormat) && probe.contains("width=64"), "\(probe)")

            let video = try decodeVideo(at: url, options: DecodeOptions(size: 64))
            #expect(video.frameCount == 10)
            for t in [0, 5, 9] {
                let original = Self.blocks(width: 64, height: 64, t: t)
                let decoded = Array(video.frame(t))
                let meanError = zip(original, decoded).map { abs(Double($0) - Double($1)) }.reduce(0, +) / Double(original.count)
                // Lossy 4:2:0 coding blurs colour edges; the blocks must still come back.
                #expect(meanError < 6, "frame \(t): mean |error| \(meanError)")
            }
        }
    }

    @Test func badArgumentsAreRejected() throws {
        try withTemporaryDirectory { dir in
            let mp4 = dir.appendingPathComponent("odd.mp4")
            #expect(throws: VideoError.self) {
                _ = try VideoWriter(url: mp4, width: 97, height: 71, fps: 25, codec: .h264)
            }
            let avi = dir.appendingPathComponent("v.avi")
            let writer = try VideoWriter(url: avi, width: 32, height: 16, fps: 25, codec: .mpeg4)
            do {
                try writer.append(rgb: [UInt8](repeating: 0, count: 10))
                Issue.record("a 10-byte frame was accepted")
            } catch let error as VideoError {
                #expect(error.description.contains("v.avi") && error.description.contains("expected 16x32x3"), "\(error)")
            }
            let nowhere = dir.appendingPathComponent("no/such/dir/v.avi")
            #expect(throws: VideoError.self) {
                _ = try VideoWriter(url: nowhere, width: 32, height: 16, fps: 25, codec: .mpeg4)
            }
        }
    }
}
