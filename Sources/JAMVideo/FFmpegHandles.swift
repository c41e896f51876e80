// Tests: Tests/JAMVideoTests/VideoDecoderTests.swift (decoding and bad inputs through the handles), Tests/JAMVideoTests/VideoWriterTests.swift
import CFFmpeg
import Foundation

// Swift owners of FFmpeg's C handles: each class frees its handle in `deinit`, so an error
// thrown half-way through opening or decoding a file leaks nothing.

/// FFmpeg's message for a negative return code (`av_strerror`).
func ffmpegMessage(_ code: Int32) -> String {
    var buffer = [CChar](repeating: 0, count: 256)
    if av_strerror(code, &buffer, buffer.count) < 0 { return "FFmpeg error \(code)" }
    return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

let averrorEOF = jam_AVERROR_EOF()
let averrorEAGAIN = jam_AVERROR_EAGAIN()

/// How chatty FFmpeg is on standard error.
public enum FFmpegLogLevel: Sendable {
    case quiet, error, warning, info

    var avValue: Int32 {
        switch self {
        case .quiet: return AV_LOG_QUIET
        case .error: return AV_LOG_ERROR
        case .warning: return AV_LOG_WARNING
        case .info: return AV_LOG_INFO
        }
    }
}

/// Sets FFmpeg's process-wide log level. A stage that reports bad videos itself can lower it
/// to `.error` so that the decoder's concealment warnings do not flood its output.
public func setFFmpegLogLevel(_ level: FFmpegLogLevel) {
    av_log_set_level(level.avValue)
}

/// An opened input container (`avformat_open_input`).
final class InputContainer {
    var context: UnsafeMutablePointer<AVFormatContext>?

    init(path: String) throws {
        let code = avformat_open_input(&context, path, nil, nil)
        if code < 0 { throw VideoError(path: path, reason: .notAVideo(ffmpegMessage(code))) }
    }

    /// The numbered images of a frame folder through FFmpeg's image2 demuxer, from its first
    /// number (the ffmpeg CLI's `-start_number N -i folder/img_%05d.jpg`).
    init(imageSequence frames: FrameFolder) throws {
        var options: OpaquePointer?
        defer { av_dict_free(&options) }
        av_dict_set(&options, "pattern_type", "sequence", 0)
        av_dict_set(&options, "start_number", "\(frames.firstNumber)", 0)
        let code = avformat_open_input(&context, frames.ffmpegPattern, av_find_input_format("image2"), &options)
        if code < 0 {
            throw VideoError(path: frames.folder.path, reason: .frameFolder(
                "FFmpeg cannot open the images \(frames.pattern) from \(frames.fileName(frame: 0)): \(ffmpegMessage(code))"))
        }
    }

    deinit { avformat_close_input(&context) }
}

/// An output container being written (`avformat_alloc_output_context2` plus its `AVIOContext`).
final class OutputContainer {
    let context: UnsafeMutablePointer<AVFormatContext>

    init(path: String, formatName: String) throws {
        var ctx: UnsafeMutablePointer<AVFormatContext>?
        let code = avformat_alloc_output_context2(&ctx, nil, formatName, path)
        guard code >= 0, let ctx else {
            throw VideoError(path: path, reason: .writeFailed("no \(formatName) muxer: \(ffmpegMessage(code))"))
        }
        context = ctx
    }

    deinit {
        if context.pointee.oformat.pointee.flags & AVFMT_NOFILE == 0 {
            avio_closep(&context.pointee.pb)
        }
        avformat_free_context(context)
    }
}

/// A decoder or encoder context (`avcodec_alloc_context3`).
final class CodecContext {
    let context: UnsafeMutablePointer<AVCodecContext>

    init?(codec: UnsafePointer<AVCodec>) {
        guard let ctx = avcodec_alloc_context3(codec) else { return nil }
        context = ctx
    }

    deinit {
        var ctx: UnsafeMutablePointer<AVCodecContext>? = context
        avcodec_free_context(&ctx)
    }
}

/// One reusable `AVFrame`.
final class Frame {
    let frame: UnsafeMutablePointer<AVFrame>

    init() {
        guard let f = av_frame_alloc() else { fatalError("av_frame_alloc: out of memory") }
        frame = f
    }

    deinit {
        var f: UnsafeMutablePointer<AVFrame>? = frame
        av_frame_free(&f)
    }
}

/// One reusable `AVPacket`.
final class Packet {
    let packet: UnsafeMutablePointer<AVPacket>

    init() {
        guard let p = av_packet_alloc() else { fatalError("av_packet_alloc: out of memory") }
        packet = p
    }

    deinit {
        var p: UnsafeMutablePointer<AVPacket>? = packet
        av_packet_free(&p)
    }
}

/// A swscale context, rebuilt only when the source geometry or pixel format changes.
final class ScaleContext {
    private(set) var context: OpaquePointer?

    /// Returns a context converting `source` to `destination` with `flags`, reusing the
    /// previous one when nothing changed (`sws_getCachedContext`).
    func update(
        sourceWidth: Int32, sourceHeight: Int32, sourceFormat: AVPixelFormat,
        destinationWidth: Int32, destinationHeight: Int32, destinationFormat: AVPixelFormat,
        flags: Int32
    ) -> OpaquePointer? {
        context = sws_getCachedContext(
            context, sourceWidth, sourceHeight, sourceFormat,
            destinationWidth, destinationHeight, destinationFormat, flags, nil, nil, nil)
        return context
    }

    deinit { sws_freeContext(context) }
}

/// A 64-byte aligned scratch buffer for swscale output (aligned rows match the ffmpeg CLI's
/// own frame buffers, so the same SIMD paths run).
final class AlignedBuffer {
    let pointer: UnsafeMutableRawPointer
    let byteCount: Int

    init(byteCount: Int) {
        self.byteCount = byteCount
        pointer = UnsafeMutableRawPointer.allocate(byteCount: max(byteCount, 1), alignment: 64)
    }

    deinit { pointer.deallocate() }
}

/// `frame.data` and `frame.linesize` as the pointer arrays swscale takes.
func planes(of frame: UnsafeMutablePointer<AVFrame>) -> (data: [UnsafePointer<UInt8>?], strides: [Int32]) {
    let d = frame.pointee.data
    let l = frame.pointee.linesize
    return ([UnsafePointer(d.0), UnsafePointer(d.1), UnsafePointer(d.2), UnsafePointer(d.3)],
            [l.0, l.1, l.2, l.3])
}
