// shapes: the encoded image is [H, W, 3] RGB24 (RGBImage.pixels).
import CFFmpeg
import Foundation
import JAMCore

/// PNG files through libavcodec's own `png` encoder (`AV_CODEC_ID_PNG`, pixel format RGB24),
/// so that plots need no library beyond the FFmpeg the pipeline already links. Output is
/// deterministic (bit-exact flag: no encoder version in the file).
public enum PNGWriter {
    /// The PNG file's bytes for `image`. Throws a `JAMError` (naming `what`, e.g. the file the
    /// bytes are for) when the image is empty or the encoder fails.
    public static func encode(_ image: RGBImage, what: String = "PNG image") throws -> Data {
        func fail(_ message: String) -> JAMError { JAMError("PNG encoding failed: \(message)", file: what) }
        guard image.width > 0, image.height > 0, image.width <= 32768, image.height <= 32768 else {
            throw fail("image size \(image.width)x\(image.height)")
        }
        guard let codec = avcodec_find_encoder(AV_CODEC_ID_PNG) else { throw fail("this FFmpeg has no png encoder") }
        guard let context = avcodec_alloc_context3(codec) else { throw fail("cannot allocate the encoder") }
        defer {
            var c: UnsafeMutablePointer<AVCodecContext>? = context
            avcodec_free_context(&c)
        }
        context.pointee.width = Int32(image.width)
        context.pointee.height = Int32(image.height)
        context.pointee.pix_fmt = AV_PIX_FMT_RGB24
        context.pointee.time_base = AVRational(num: 1, den: 1)
        context.pointee.thread_count = 1
        context.pointee.flags |= Int32(AV_CODEC_FLAG_BITEXACT)
        // Paeth prediction shrinks plots (flat areas, sharp edges) several-fold over "none".
        av_opt_set(context.pointee.priv_data, "pred", "paeth", 0)
        var code = avcodec_open2(context, codec, nil)
        if code < 0 { throw fail("cannot open the encoder: \(ffmpegMessage(code))") }

        guard let frame = av_frame_alloc() else { throw fail("out of memory") }
        defer {
            var f: UnsafeMutablePointer<AVFrame>? = frame
            av_frame_free(&f)
        }
        frame.pointee.format = AV_PIX_FMT_RGB24.rawValue
        frame.pointee.width = Int32(image.width)
        frame.pointee.height = Int32(image.height)
        code = av_frame_get_buffer(frame, 0)
        if code < 0 { throw fail("cannot allocate a frame: \(ffmpegMessage(code))") }
        // The frame's rows are padded to its line size; copy row by row.
        let lineSize = Int(frame.pointee.linesize.0)
        let rowBytes = image.width * 3
        guard let plane = frame.pointee.data.0 else { throw fail("frame without data") }
        image.pixels.withUnsafeBufferPointer { source in
            for y in 0..<image.height {
                (plane + y * lineSize).update(from: source.baseAddress! + y * rowBytes, count: rowBytes)
            }
        }
        frame.pointee.pts = 0

        guard let packet = av_packet_alloc() else { throw fail("out of memory") }
        defer {
            var p: UnsafeMutablePointer<AVPacket>? = packet
            av_packet_free(&p)
        }
        code = avcodec_send_frame(context, frame)
        if code < 0 { throw fail(ffmpegMessage(code)) }
        code = avcodec_send_frame(context, nil)
        if code < 0 { throw fail(ffmpegMessage(code)) }
        var bytes = Data()
        while true {
            code = avcodec_receive_packet(context, packet)
            if code == jam_AVERROR_EOF() || code == jam_AVERROR_EAGAIN() { break }
            if code < 0 { throw fail(ffmpegMessage(code)) }
            if let data = packet.pointee.data { bytes.append(data, count: Int(packet.pointee.size)) }
            av_packet_unref(packet)
        }
        guard !bytes.isEmpty else { throw fail("the encoder produced no data") }
        return bytes
    }

    /// Encodes `image` and writes it to `url` atomically (temporary file, then rename).
    public static func write(_ image: RGBImage, to url: URL) throws {
        try AtomicFile.write(encode(image, what: url.path), to: url)
    }

    /// FFmpeg's message for a negative return code.
    private static func ffmpegMessage(_ code: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        if av_strerror(code, &buffer, buffer.count) < 0 { return "FFmpeg error \(code)" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
