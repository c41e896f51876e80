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
        jam_av_log_route()
        return true
    }()

    /// One formatted line from FFmpeg: kept when this thread is collecting, else dropped.
    static func receive(_ line: UnsafePointer<CChar>) {
        guard let lines = Thread.current.threadDictionary[threadKey] as? Lines else { return }
        let text = withoutAddress(String(cString: line).trimmingCharacters(in: .whitespacesAndNewlines))
        guard !text.isEmpty, lines.lines.count < limit, !lines.lines.contains(text) else { return }
        lines.lines.append(text)
    }

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

/// `[avi @ 0x55d0c8] Format avi detected …` as `avi: Format avi detected …` (the address means nothing to a user).
func withoutAddress(_ line: String) -> String {
    guard line.hasPrefix("["), let close = line.firstIndex(of: "]"),
          let at = line[..<close].range(of: " @ 0x") else { return line }
    let rest = line[line.index(after: close)...].drop { $0 == " " }
    return "\(line[line.index(after: line.startIndex)..<at.lowerBound]): \(rest)"
}

/// Called by the C forwarder in CFFmpeg's shim.h for every line FFmpeg logs at warning level or above.
@_cdecl("jam_av_log_line")
func jamAVLogLine(_ level: Int32, _ line: UnsafePointer<CChar>?) {
    if let line { FFmpegLog.receive(line) }
}
