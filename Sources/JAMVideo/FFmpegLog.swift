// Tests: Tests/JAMVideoTests/VideoDecoderTests.swift (FFmpeg's own lines land in the failure, not on standard error)
import CFFmpeg
import Foundation

// FFmpeg logs to standard error by default ("[avi @ 0x55…] Format avi detected only with low
// score of 1", "moov atom not found"), between JAM's own lines and without naming the file.
// Once routed (`FFmpegLog.route()`), its warnings and errors are kept per thread while a file is
// read (`FFmpegLog.collect`) and attached to that file's failure (`VideoError.ffmpegLog`); lines
// outside a collection, or of a file that decodes fine, are dropped.

enum FFmpegLog {
    /// The lines of one collection (one thread reading one file).
    final class Lines {
        var lines: [String] = []
    }

    static let threadKey = "jam.ffmpeg-log"
    /// At most this many distinct lines are kept per file.
    static let limit = 6

    /// Routes FFmpeg's log through `collect` (once per process).
    static func route() { _ = routed }

    private static let routed: Bool = {
        jam_av_log_route { _, line in
            guard let line, let lines = Thread.current.threadDictionary[FFmpegLog.threadKey] as? FFmpegLog.Lines else { return }
            let text = String(cString: line).trimmingCharacters(in: .whitespacesAndNewlines)
            guard !text.isEmpty, lines.lines.count < FFmpegLog.limit, !lines.lines.contains(text) else { return }
            lines.lines.append(text)
        }
        return true
    }()

    /// Runs `body` collecting what FFmpeg logs on this thread; a `VideoError` it throws carries
    /// the lines. Nested collections share the outer one.
    static func collect<T>(_ body: () throws -> T) throws -> T {
        route()
        let dictionary = Thread.current.threadDictionary
        if dictionary[threadKey] != nil { return try body() }
        let lines = Lines()
        dictionary[threadKey] = lines
        defer { dictionary.removeObject(forKey: threadKey) }
        do {
            return try body()
        } catch var error as VideoError {
            error.ffmpegLog = lines.lines
            throw error
        }
    }
}
