import Foundation
import JAMTestSupport
import JAMVideo
import Testing

/// Issue 13, points 3 and 8: a still image is not a video, whatever its name; Motion JPEG in AVI
/// still is one; FFmpeg's own log lines end up in the failure, not on standard error.
@Suite struct StillImageTests {
    /// Makes `name` in `dir` with the ffmpeg CLI from a test pattern (FAILS, not skips, without it).
    func make(_ name: String, in dir: URL, frames: Int, _ codec: [String]) throws -> URL {
        let url = dir.appendingPathComponent(name)
        _ = try FFmpegCLI.run(["-f", "lavfi", "-i", "testsrc=size=64x48:rate=10", "-frames:v", "\(frames)"] + codec
                              + ["-y", url.path])
        return url
    }

    @Test func aJPEGRenamedAVIIsRejectedAsAStillImage() throws {
        try withTemporaryDirectory { dir in
            for (codec, ext) in [("mjpeg", "jpg"), ("png", "png")] {
                let image = try make("picture.\(ext)", in: dir, frames: 1, ["-c:v", codec, "-f", "image2"])
                let renamed = dir.appendingPathComponent("picture-\(codec).avi")
                try FileManager.default.moveItem(at: image, to: renamed)
                do {
                    let video = try decodeVideo(at: renamed, options: DecodeOptions(size: 32))
                    Issue.record("a \(codec) picture named .avi decoded as a \(video.frameCount)-frame video")
                } catch let error as VideoError {
                    guard case .stillImage = error.reason else {
                        Issue.record("expected .stillImage, got \(error)")
                        continue
                    }
                    #expect(error.description.hasPrefix(renamed.path + ": not a video"), "\(error)")
                }
            }
        }
    }

    @Test func motionJPEGInAVIIsStillAVideo() throws {
        try withTemporaryDirectory { dir in
            for frames in [6, 1] {
                let url = try make("mjpeg\(frames).avi", in: dir, frames: frames, ["-c:v", "mjpeg", "-pix_fmt", "yuvj420p"])
                let video = try decodeVideo(at: url, options: DecodeOptions(size: 32))
                #expect(video.frameCount == frames)
            }
        }
    }

    @Test func ffmpegsOwnLinesAreAttachedToTheFailure() throws {
        try withTemporaryDirectory { dir in
            // An MP4 whose index ('moov', written last) is cut off: FFmpeg logs "moov atom not found".
            let url = try make("clip.mp4", in: dir, frames: 10, ["-c:v", "mpeg4"])
            let bytes = try Data(contentsOf: url)
            try bytes.prefix(bytes.count / 2).write(to: url)
            do {
                _ = try decodeVideo(at: url, options: DecodeOptions(size: 32))
                Issue.record("a truncated MP4 decoded")
            } catch let error as VideoError {
                #expect(error.ffmpegLog.contains { $0.contains("moov atom not found") }, "\(error.ffmpegLog)")
                #expect(error.description.contains("FFmpeg said: "), "\(error)")
                #expect(error.description.hasPrefix(url.path + ": "))
            }
        }
    }
}
