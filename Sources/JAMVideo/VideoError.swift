// Tests: Tests/JAMVideoTests/VideoDecoderTests.swift (bad inputs throw errors naming the file and the reason)
import Foundation

/// A video that could not be read or written, naming the file and the reason.
///
/// `description` reads `"<path>: <reason>"`, for example
/// `"/data/ucf/v_X.avi: truncated: the container declares 164 frames, 81 decoded"`.
/// Stages record it as the failure of that video and carry on with the others.
public struct VideoError: Error, CustomStringConvertible, Sendable, Equatable {
    /// Why the file failed; the associated text is FFmpeg's own message where there is one.
    public enum Reason: Sendable, Equatable {
        /// No file (or no directory entry) at the path.
        case fileMissing
        /// The file exists but holds zero bytes.
        case emptyFile
        /// FFmpeg cannot open or probe it as a media container (a text file, a random blob).
        case notAVideo(String)
        /// A media container without a decodable video stream (audio only, for example).
        case noVideoStream
        /// The video stream's codec has no decoder, or the requested encoder is missing.
        case codecUnavailable(String)
        /// The file ends before its content does, or decoding yielded no frame.
        case truncated(String)
        /// Reading or decoding failed in the middle of the stream.
        case undecodable(String)
        /// A folder read as a video (`FrameFolder`) whose images do not form one numbered
        /// sequence without gaps; the text names the file at fault.
        case frameFolder(String)
        /// Writing a video failed (opening the output, encoding, muxing).
        case writeFailed(String)
        /// The caller asked for something impossible (size 0, odd size for h264, wrong buffer length).
        case invalidArgument(String)
        /// A still image (a JPEG or PNG, whatever its name says), not a video.
        case stillImage(String)
    }

    /// The file the error is about, as given by the caller.
    public var path: String
    public var reason: Reason
    /// What FFmpeg itself logged while reading the file (warnings and errors, prefix included).
    public var ffmpegLog: [String] = []

    public init(path: String, reason: Reason) {
        self.path = path
        self.reason = reason
    }

    public var description: String {
        let text: String
        switch reason {
        case .fileMissing: text = "no such file"
        case .emptyFile: text = "zero-length file"
        case .notAVideo(let m): text = "not a video (FFmpeg cannot open it: \(m))"
        case .noVideoStream: text = "not a video (the container has no video stream)"
        case .codecUnavailable(let m): text = "codec unavailable: \(m)"
        case .truncated(let m): text = "truncated: \(m)"
        case .undecodable(let m): text = "undecodable: \(m)"
        case .frameFolder(let m): text = "frame folder: \(m)"
        case .writeFailed(let m): text = "cannot write video: \(m)"
        case .invalidArgument(let m): text = "invalid argument: \(m)"
        case .stillImage(let m): text = "not a video: \(m)"
        }
        let log = ffmpegLog.isEmpty ? "" : " (FFmpeg said: \(ffmpegLog.joined(separator: "; ")))"
        return "\(path): \(text)\(log)"
    }
}
