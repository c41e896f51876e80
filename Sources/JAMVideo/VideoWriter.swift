// shapes: each appended frame is [H, W, 3] RGB24, row-major, channels last.
import CFFmpeg
import Foundation

/// The codec and container a `VideoWriter` produces.
public enum VideoCodec: String, Sendable, Codable, CaseIterable {
    /// MPEG-4 part 2 in AVI, as UCF101 and HMDB51 ship (FFmpeg's own encoder).
    case mpeg4
    /// H.264 in MP4 through libx264 (needs even width and height: 4:2:0 chroma).
    case h264

    /// The file extension of the container: `avi` or `mp4`.
    public var fileExtension: String {
        switch self {
        case .mpeg4: return "avi"
        case .h264: return "mp4"
        }
    }

    var muxerName: String { fileExtension }
    var encoderName: String {
        switch self {
        case .mpeg4: return "mpeg4"
        case .h264: return "libx264"
        }
    }
}

/// Encodes RGB24 frames into a video file, byte-identical for identical input across runs.
///
/// Determinism comes from bit-exact flags on the container and the codec (no version strings or
/// timestamps in the file), one encoder thread and fixed quality (mpeg4: qscale 3; libx264:
/// CRF 18, preset `fast`, CPU-independent algorithms). The writer writes straight to `url`: a caller that needs an atomic
/// result writes to a temporary name and renames it.
///
///     let writer = try VideoWriter(url: url, width: 320, height: 240, fps: 25, codec: .mpeg4)
///     for frame in frames { try writer.append(rgb: frame) }   // each [240, 320, 3]
///     try writer.finish()
public final class VideoWriter {
    public let url: URL
    public let width: Int
    public let height: Int
    public let fps: Double
    public let codec: VideoCodec
    /// Frames appended so far.
    public private(set) var frameCount = 0

    private let output: OutputContainer
    private let encoder: CodecContext
    private let stream: UnsafeMutablePointer<AVStream>
    private let picture = Frame()
    private let packet = Packet()
    private let converter = ScaleContext()
    private var finished = false

    public init(url: URL, width: Int, height: Int, fps: Double, codec: VideoCodec) throws {
        FFmpegLog.route()  // FFmpeg's own lines go nowhere; failures are thrown
        let path = url.path
        func fail(_ reason: VideoError.Reason) -> VideoError { VideoError(path: path, reason: reason) }
        guard width > 0, height > 0, width <= 16384, height <= 16384 else {
            throw fail(.invalidArgument("frame size \(width)x\(height)"))
        }
        guard fps.isFinite, fps > 0 else { throw fail(.invalidArgument("fps \(fps)")) }
        if codec == .h264 && (width % 2 != 0 || height % 2 != 0) {
            throw fail(.invalidArgument("h264 (4:2:0) needs even width and height, got \(width)x\(height)"))
        }
        self.url = url
        self.width = width
        self.height = height
        self.fps = fps
        self.codec = codec

        guard let encoderCodec = avcodec_find_encoder_by_name(codec.encoderName) else {
            throw fail(.codecUnavailable("this FFmpeg has no \(codec.encoderName) encoder"))
        }
        output = try OutputContainer(path: path, formatName: codec.muxerName)
        let format = output.context
        format.pointee.flags |= AVFMT_FLAG_BITEXACT

        guard let enc = CodecContext(codec: encoderCodec) else { throw fail(.writeFailed("cannot allocate the encoder")) }
        encoder = enc
        let ctx = enc.context
        // MPEG-4 part 2 caps the time-base denominator at 2^16 - 1.
        let rate = av_d2q(fps, 65535)
        ctx.pointee.width = Int32(width)
        ctx.pointee.height = Int32(height)
        ctx.pointee.pix_fmt = AV_PIX_FMT_YUV420P
        ctx.pointee.time_base = av_inv_q(rate)
        ctx.pointee.framerate = rate
        ctx.pointee.sample_aspect_ratio = AVRational(num: 1, den: 1)
        ctx.pointee.thread_count = 1
        ctx.pointee.flags |= Int32(AV_CODEC_FLAG_BITEXACT)
        switch codec {
        case .mpeg4:
            ctx.pointee.gop_size = 12
            ctx.pointee.max_b_frames = 0
            ctx.pointee.flags |= Int32(AV_CODEC_FLAG_QSCALE)
            ctx.pointee.global_quality = FF_QP2LAMBDA * 3
        case .h264:
            av_opt_set(ctx.pointee.priv_data, "preset", "fast", 0)
            av_opt_set(ctx.pointee.priv_data, "crf", "18", 0)
            // x264's own log (settings, statistics) only at error level, and its CPU-independent
            // algorithms: with the ones x264 picks for an AVX-512 Xeon, encoding the same frames
            // twice gave different bytes about half the time.
            av_opt_set(ctx.pointee.priv_data, "x264-params", "log=0:cpu-independent=1", 0)
        }
        if format.pointee.oformat.pointee.flags & AVFMT_GLOBALHEADER != 0 {
            ctx.pointee.flags |= Int32(AV_CODEC_FLAG_GLOBAL_HEADER)
        }
        var code = avcodec_open2(ctx, encoderCodec, nil)
        if code < 0 { throw fail(.writeFailed("cannot open the \(codec.encoderName) encoder: \(ffmpegMessage(code))")) }

        guard let st = avformat_new_stream(format, nil) else { throw fail(.writeFailed("cannot add a stream")) }
        stream = st
        code = avcodec_parameters_from_context(st.pointee.codecpar, ctx)
        if code < 0 { throw fail(.writeFailed(ffmpegMessage(code))) }
        st.pointee.time_base = ctx.pointee.time_base
        st.pointee.avg_frame_rate = rate

        if format.pointee.oformat.pointee.flags & AVFMT_NOFILE == 0 {
            code = avio_open(&format.pointee.pb, path, AVIO_FLAG_WRITE)
            if code < 0 { throw fail(.writeFailed("cannot create the file: \(ffmpegMessage(code))")) }
        }
        code = avformat_write_header(format, nil)
        if code < 0 { throw fail(.writeFailed("cannot write the header: \(ffmpegMessage(code))")) }

        let pic = picture.frame
        pic.pointee.format = AV_PIX_FMT_YUV420P.rawValue
        pic.pointee.width = Int32(width)
        pic.pointee.height = Int32(height)
        code = av_frame_get_buffer(pic, 0)
        if code < 0 { throw fail(.writeFailed("cannot allocate a frame: \(ffmpegMessage(code))")) }
    }

    /// Encodes one frame: `rgb` is `[H, W, 3]` RGB24, `H·W·3` bytes.
    public func append(rgb: [UInt8]) throws {
        let path = url.path
        guard !finished else { throw VideoError(path: path, reason: .invalidArgument("append after finish")) }
        guard rgb.count == width * height * 3 else {
            throw VideoError(path: path, reason: .invalidArgument(
                "frame has \(rgb.count) bytes, expected \(height)x\(width)x3 = \(width * height * 3)"))
        }
        let pic = picture.frame
        // The encoder may still reference the previous buffer; get a private one if so.
        var code = av_frame_make_writable(pic)
        if code < 0 { throw VideoError(path: path, reason: .writeFailed(ffmpegMessage(code))) }
        guard let sws = converter.update(
            sourceWidth: Int32(width), sourceHeight: Int32(height), sourceFormat: AV_PIX_FMT_RGB24,
            destinationWidth: Int32(width), destinationHeight: Int32(height), destinationFormat: AV_PIX_FMT_YUV420P,
            flags: SWS_BICUBIC)
        else { throw VideoError(path: path, reason: .writeFailed("swscale cannot convert RGB24 to YUV420P")) }
        rgb.withUnsafeBufferPointer { source in
            let src: [UnsafePointer<UInt8>?] = [source.baseAddress, nil, nil, nil]
            let srcStrides: [Int32] = [Int32(width * 3), 0, 0, 0]
            let d = pic.pointee.data, l = pic.pointee.linesize
            let dst: [UnsafeMutablePointer<UInt8>?] = [d.0, d.1, d.2, d.3]
            let dstStrides: [Int32] = [l.0, l.1, l.2, l.3]
            _ = sws_scale(sws, src, srcStrides, 0, Int32(height), dst, dstStrides)
        }
        pic.pointee.pts = Int64(frameCount)
        if codec == .mpeg4 { pic.pointee.quality = encoder.context.pointee.global_quality }
        code = avcodec_send_frame(encoder.context, pic)
        if code < 0 { throw VideoError(path: path, reason: .writeFailed("encoding frame \(frameCount): \(ffmpegMessage(code))")) }
        frameCount += 1
        try writePackets()
    }

    /// Flushes the encoder and writes the trailer; the file is complete after this returns.
    public func finish() throws {
        guard !finished else { return }
        finished = true
        let code = avcodec_send_frame(encoder.context, nil)
        if code < 0 { throw VideoError(path: url.path, reason: .writeFailed("flushing: \(ffmpegMessage(code))")) }
        try writePackets()
        let t = av_write_trailer(output.context)
        if t < 0 { throw VideoError(path: url.path, reason: .writeFailed("writing the trailer: \(ffmpegMessage(t))")) }
        let c = avio_closep(&output.context.pointee.pb)
        if c < 0 { throw VideoError(path: url.path, reason: .writeFailed("closing: \(ffmpegMessage(c))")) }
    }

    /// Moves every packet the encoder has ready into the container.
    private func writePackets() throws {
        while true {
            let r = avcodec_receive_packet(encoder.context, packet.packet)
            if r == averrorEAGAIN || r == averrorEOF { return }
            if r < 0 { throw VideoError(path: url.path, reason: .writeFailed("encoding: \(ffmpegMessage(r))")) }
            av_packet_rescale_ts(packet.packet, encoder.context.pointee.time_base, stream.pointee.time_base)
            packet.packet.pointee.stream_index = stream.pointee.index
            // Takes ownership of the packet's data and leaves it blank.
            let w = av_interleaved_write_frame(output.context, packet.packet)
            if w < 0 { throw VideoError(path: url.path, reason: .writeFailed("muxing: \(ffmpegMessage(w))")) }
        }
    }
}
