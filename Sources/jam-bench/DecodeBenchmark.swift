import ArgumentParser
import Foundation
import JAMVideo

/// Decoding speed of `decodeVideo` against the ffmpeg CLI on the same synthetic videos.
///
/// Both routes decode with one libavcodec thread, one file after another, and resize every frame
/// to S×S RGB24 with bicubic swscale; the CLI writes its frames to /dev/null. The CLI is timed two
/// ways: wall time per process (including starting ffmpeg and loading its libraries), and its own
/// `-benchmark` rtime, which covers only the transcode (open, decode, scale, write). The ratio
/// against the latter is the fair one. Target: JAM at least 0.9× the CLI's frames per second.
struct DecodeBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode",
        abstract: "Decode synthetic videos with JAM and with the ffmpeg CLI; print frames/s and their ratio.")

    enum Container: String, ExpressibleByArgument, CaseIterable {
        case avi, mp4
        var codec: VideoCodec { self == .avi ? .mpeg4 : .h264 }
    }

    @Option(help: "Output frame side S (frames become S×S RGB24).")
    var size = 112
    @Option(help: "Number of videos to generate and decode.")
    var videos = 8
    @Option(help: "Frames per video.")
    var frames = 100
    @Option(help: "Source frame width (UCF101: 320).")
    var sourceWidth = 320
    @Option(help: "Source frame height (UCF101: 240).")
    var sourceHeight = 240
    @Option(help: "Container and codec: avi (mpeg4, as UCF101) or mp4 (h264).")
    var codec: Container = .avi
    @Option(help: "Timed passes over all videos per route; the fastest pass counts.")
    var repeats = 3
    @Option(help: "Path of the ffmpeg executable.")
    var ffmpeg = "/usr/bin/ffmpeg"

    func validate() throws {
        if size < 1 { throw ValidationError("--size must be positive") }
        if videos < 1 || frames < 2 { throw ValidationError("--videos must be >= 1 and --frames >= 2") }
        if repeats < 1 { throw ValidationError("--repeats must be >= 1") }
        if !FileManager.default.isExecutableFile(atPath: ffmpeg) { throw ValidationError("no ffmpeg at \(ffmpeg)") }
    }

    func run() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("jam-bench-decode-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }

        setFFmpegLogLevel(.error)
        let generator = try SyntheticActionGenerator(
            width: sourceWidth, height: sourceHeight, frames: frames, fps: 25, classes: 10, seed: 2016)
        let urls = (0..<videos).map { dir.appendingPathComponent("video\($0).\(codec.rawValue)") }
        for (i, url) in urls.enumerated() {
            try generator.writeVideo(classIndex: i % generator.classes, videoIndex: i, to: url, codec: codec.codec)
        }
        print("decode: \(videos) videos × \(frames) frames, \(sourceWidth)x\(sourceHeight) \(codec.rawValue) → \(size)x\(size) RGB24")

        let options = DecodeOptions(size: size, threads: 1)
        var jamFrames = 0
        func jamPass() throws {
            jamFrames = 0
            for url in urls { jamFrames += try decodeVideo(at: url, options: options).frameCount }
        }
        var cliTranscodeSeconds = 0.0
        func cliPass() throws {
            cliTranscodeSeconds = 0
            for url in urls { cliTranscodeSeconds += try runFFmpeg(url) }
        }
        // One untimed warm-up each, then alternate passes so that load from other processes
        // falls on both routes alike; the fastest pass of each counts.
        try jamPass()
        try cliPass()
        var jamSeconds = Double.infinity, cliSeconds = Double.infinity, cliRtime = Double.infinity
        for _ in 0..<repeats {
            jamSeconds = min(jamSeconds, try seconds(jamPass))
            cliSeconds = min(cliSeconds, try seconds(cliPass))
            cliRtime = min(cliRtime, cliTranscodeSeconds)
        }
        let total = Double(videos * frames)
        if jamFrames != videos * frames { print("warning: JAM decoded \(jamFrames) frames, expected \(videos * frames)") }
        let jamRate = total / jamSeconds, cliRate = total / cliSeconds, cliWorkRate = total / cliRtime
        print(String(format: "jam decodeVideo (threads 1):     %8.1f frames/s  (%.3f s)", jamRate, jamSeconds))
        print(String(format: "ffmpeg CLI -benchmark rtime:     %8.1f frames/s  (%.3f s, transcode only)", cliWorkRate, cliRtime))
        print(String(format: "ffmpeg CLI wall, per process:    %8.1f frames/s  (%.3f s, with process start)", cliRate, cliSeconds))
        print(String(format: "ratio jam/cli: %.2f against rtime, %.2f against wall  (target >= 0.90)",
                     jamRate / cliWorkRate, jamRate / cliRate))
    }

    /// Wall time of one run of `body`.
    private func seconds(_ body: () throws -> Void) throws -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    /// Runs the CLI on one file; returns the transcode time it reports with `-benchmark`.
    private func runFFmpeg(_ url: URL) throws -> Double {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ffmpeg)
        process.arguments = [
            "-hide_banner", "-nostats", "-nostdin", "-benchmark", "-threads", "1", "-i", url.path,
            "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", "\(size)x\(size)", "-y", "/dev/null",
        ]
        let err = Pipe()
        process.standardError = err
        try process.run()
        let log = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        if process.terminationStatus != 0 {
            throw ValidationError("ffmpeg failed on \(url.lastPathComponent) (exit \(process.terminationStatus))")
        }
        // "bench: utime=0.025s stime=0.001s rtime=0.039s"
        guard let range = log.range(of: "rtime="),
              let value = Double(log[range.upperBound...].prefix { $0.isNumber || $0 == "." })
        else { throw ValidationError("ffmpeg printed no -benchmark rtime for \(url.lastPathComponent)") }
        return value
    }
}
