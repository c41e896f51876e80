// shapes: T kept frames, S output size; frames are [T, S, S, 3] RGB24, row-major, channels last.
import CFFmpeg
import Foundation
import JAMCore


/// Where a source frame goes on its way to S×S: the scaled size, then the crop origin.
public struct ResizeGeometry: Sendable, Equatable {
    /// Size swscale produces (bicubic).
    public var scaledWidth: Int
    public var scaledHeight: Int
    /// Top-left corner of the S×S window kept from the scaled frame.
    public var cropX: Int
    public var cropY: Int
    public var size: Int

    /// For `.centerCrop` the longer side becomes `round(longer * S / shorter)` (at least S) and
    /// the crop is centred, rounding its origin down: 320×240 at S = 112 scales to 149×112 and
    /// keeps columns 18..<130.
    public init(sourceWidth: Int, sourceHeight: Int, size: Int, mode: ResizeMode) {
        self.size = size
        switch mode {
        case .stretch:
            scaledWidth = size
            scaledHeight = size
        case .centerCrop:
            let shorter = min(sourceWidth, sourceHeight)
            let longer = max(sourceWidth, sourceHeight)
            let scaledLonger = max(size, Int((Double(longer) * Double(size) / Double(shorter)).rounded()))
            if sourceWidth >= sourceHeight {
                scaledWidth = scaledLonger
                scaledHeight = size
            } else {
                scaledWidth = size
                scaledHeight = scaledLonger
            }
        }
        cropX = (scaledWidth - size) / 2
        cropY = (scaledHeight - size) / 2
    }
}

/// What to decode and how to resize it.
public struct DecodeOptions: Sendable, Equatable {
    /// Output side S: every kept frame becomes S×S RGB24.
    public var size: Int
    public var resize: ResizeMode
    /// Keep every n-th source frame (source indices 0, n, 2n, ...); at least 1.
    public var every: Int
    /// Stop after this many kept frames; 0 keeps all.
    public var maxFrames: Int
    /// libavcodec's `thread_count` (0 lets FFmpeg choose). The output does not depend on it.
    public var threads: Int
    /// Return what a damaged file yields (the ffmpeg CLI's behaviour: skip rejected packets, keep
    /// concealed frames, stop where a truncated file ends) instead of throwing. Off by default:
    /// a damaged video is a bad input to report. A file that yields no frame throws either way.
    public var allowDamaged: Bool

    public init(size: Int, resize: ResizeMode = .stretch, every: Int = 1, maxFrames: Int = 0,
                threads: Int = 1, allowDamaged: Bool = false) {
        self.size = size
        self.resize = resize
        self.every = every
        self.maxFrames = maxFrames
        self.threads = threads
        self.allowDamaged = allowDamaged
    }

    func validate(path: String) throws {
        func bad(_ m: String) -> VideoError { VideoError(path: path, reason: .invalidArgument(m)) }
        if size < 1 { throw bad("size must be at least 1, got \(size)") }
        if every < 1 { throw bad("every must be at least 1, got \(every)") }
        if maxFrames < 0 { throw bad("maxFrames must be 0 (no limit) or positive, got \(maxFrames)") }
        if threads < 0 { throw bad("threads must be 0 (automatic) or positive, got \(threads)") }
    }
}

/// The kept frames of one video, resized to S×S.
public struct DecodedVideo: Sendable {
    /// `[T, S, S, 3]` RGB24, row-major, channels last.
    public var frames: [UInt8]
    /// T, the number of kept frames.
    public var frameCount: Int
    /// S, the side of each frame.
    public var size: Int
    /// `[T]`: the 0-based source frame index (decoding order of output frames) of each kept frame.
    public var frameIndices: [Int32]
    /// The stream's frame rate as FFmpeg guesses it (`av_guess_frame_rate`); 0 when unknown
    /// (always for a frame folder).
    public var fps: Double
    public var sourceWidth: Int
    public var sourceHeight: Int
    /// Frames the decoder produced in total; the video's length when `decodedToEnd`.
    public var sourceFrameCount: Int
    /// False when decoding stopped early because `maxFrames` frames were kept.
    public var decodedToEnd: Bool

    /// Bytes in one frame: S·S·3.
    public var frameByteCount: Int { size * size * 3 }

    /// Frame `t` as `[S, S, 3]` RGB24.
    public func frame(_ t: Int) -> ArraySlice<UInt8> {
        frames[(t * frameByteCount)..<((t + 1) * frameByteCount)]
    }
}

/// Decodes a video with libavformat/libavcodec and resizes its frames to S×S RGB24.
///
/// `url` is a video file or a frame folder of numbered images (`FrameFolder`: naming rules
/// there), which FFmpeg's image2 demuxer reads as a stream of images from the first number on;
/// the frames, the sampling and the resizing are the same either way, and a frame folder's
/// `fps` is 0 (images carry no rate).
///
/// Frames are converted by swscale with `SWS_BICUBIC` and the colour settings the ffmpeg CLI's
/// scale filter uses, so with `.stretch` they are byte-identical to
/// `ffmpeg -i X -f rawvideo -pix_fmt rgb24 -s SxS -`. Sample aspect ratio is ignored.
///
/// Bad input throws a `VideoError` naming the file: missing, zero-length, not a media container,
/// no video stream, no decoder, or no frame at all. Damage is an error too, unless
/// `options.allowDamaged`: a read error from the demuxer, or fewer packets than the container
/// declares frames once the stream has been read to its end (an AVI cut short), is `.truncated`; a packet
/// the decoder rejects or a frame it marks corrupt (errors concealed) is `.undecodable`. A damaged
/// video is rejected rather than returned short or smeared, because docs/DESIGN.md §3 makes it a bad input
/// to report; decoding still runs to the end first so that the message says which it was.
///
/// A still image is not a video, whatever its name: a file that FFmpeg opens with an image
/// demuxer (`jpeg_pipe`, `png_pipe`, `image2`), or whose container is the raw stream of a
/// still-image codec holding one frame, is `.stillImage`. (Motion JPEG in AVI or QuickTime is a
/// video and decodes as one.)
///
/// What FFmpeg logs while reading the file is attached to the error (`VideoError.ffmpegLog`),
/// not printed.
///
/// Memory: one `AVFrame` is reused; only kept frames are converted; decoding stops as soon as
/// `maxFrames` frames are kept.
public func decodeVideo(at url: URL, options: DecodeOptions) throws -> DecodedVideo {
    try FFmpegLog.collect { try decodeVideoLogged(at: url, options: options) }
}

private func decodeVideoLogged(at url: URL, options: DecodeOptions) throws -> DecodedVideo {
    let path = url.path
    try options.validate(path: path)
    func fail(_ reason: VideoError.Reason) -> VideoError { VideoError(path: path, reason: reason) }

    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw fail(.fileMissing) }
    // A folder is a video of numbered images (`FrameFolder`), read by FFmpeg's image2 demuxer.
    let frameFolder = isDirectory.boolValue ? try FrameFolder(scanning: url) : nil
    let byteCount = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue
    if frameFolder == nil && byteCount == 0 { throw fail(.emptyFile) }

    let input = try frameFolder.map(InputContainer.init(imageSequence:)) ?? InputContainer(path: path)
    guard let format = input.context else { throw fail(.notAVideo("no context")) }
    var code = avformat_find_stream_info(format, nil)
    if code < 0 { throw fail(.notAVideo(ffmpegMessage(code))) }

    var decoderCodec: UnsafePointer<AVCodec>?
    let streamIndex = av_find_best_stream(format, AVMEDIA_TYPE_VIDEO, -1, -1, &decoderCodec, 0)
    if streamIndex < 0 {
        // AVERROR_DECODER_NOT_FOUND: a video stream exists but nothing decodes it.
        if streamIndex == jam_AVERROR_DECODER_NOT_FOUND() {
            throw fail(.codecUnavailable("no decoder for the video stream"))
        }
        throw fail(.noVideoStream)
    }
    guard let decoderCodec else { throw fail(.codecUnavailable("no decoder for the video stream")) }
    let stream = format.pointee.streams[Int(streamIndex)]!
    let demuxer = String(cString: format.pointee.iformat.pointee.name)
    let codecName = String(cString: decoderCodec.pointee.name)
    if frameFolder == nil && isImageDemuxer(demuxer) {  // a frame folder is an image sequence by choice
        throw fail(.stillImage("FFmpeg reads it as a single \(codecName) image (\(demuxer) format)"))
    }
    // Let the demuxer skip audio and other streams instead of handing us their packets.
    for i in 0..<Int(format.pointee.nb_streams) where i != Int(streamIndex) {
        format.pointee.streams[i]!.pointee.discard = AVDISCARD_ALL
    }

    guard let decoder = CodecContext(codec: decoderCodec) else { throw fail(.undecodable("cannot allocate a decoder")) }
    let dec = decoder.context
    code = avcodec_parameters_to_context(dec, stream.pointee.codecpar)
    if code < 0 { throw fail(.undecodable(ffmpegMessage(code))) }
    dec.pointee.thread_count = Int32(options.threads)
    dec.pointee.pkt_timebase = stream.pointee.time_base
    code = avcodec_open2(dec, decoderCodec, nil)
    if code < 0 {
        let name = String(cString: decoderCodec.pointee.name)
        throw fail(.codecUnavailable("cannot open the \(name) decoder: \(ffmpegMessage(code))"))
    }

    let rate = av_guess_frame_rate(format, stream, nil)
    // Images carry no frame rate (image2 assumes 25): a frame folder's is unknown, 0.
    let fps = frameFolder == nil && rate.num > 0 && rate.den > 0 ? Double(rate.num) / Double(rate.den) : 0
    let declaredFrames = frameFolder?.count ?? Int(stream.pointee.nb_frames)

    var sink = FrameSink(path: path, options: options)
    // Reserve for the frames the container declares, so `frames` is not regrown while decoding.
    if declaredFrames > 0 {
        var expected = (declaredFrames + options.every - 1) / options.every
        if options.maxFrames > 0 { expected = min(expected, options.maxFrames) }
        sink.reserve(frames: expected)
    }

    let packet = Packet()
    let frame = Frame()
    var reachedEnd = false
    var packetsRead = 0
    var readFailure: String?
    var firstDamage: String?
    func noteDamage(_ m: String) {
        // In a frame folder each packet is one image: name the one being decoded.
        let image = frameFolder.map { " (image \($0.fileName(frame: max(packetsRead - 1, 0))))" } ?? ""
        if firstDamage == nil { firstDamage = m + image }
    }

    /// Pulls every frame the decoder has ready; returns true once `maxFrames` are kept.
    func drain() throws -> Bool {
        while true {
            let r = avcodec_receive_frame(dec, frame.frame)
            if r == averrorEAGAIN { return false }
            if r == averrorEOF { reachedEnd = true; return false }
            if r < 0 {
                noteDamage("decoding after frame \(sink.decodedCount): \(ffmpegMessage(r))")
                return false
            }
            defer { av_frame_unref(frame.frame) }
            if frame.frame.pointee.flags & AV_FRAME_FLAG_CORRUPT != 0 || frame.frame.pointee.decode_error_flags != 0 {
                noteDamage("frame \(sink.decodedCount) is corrupt (the decoder concealed errors)")
            }
            try sink.consume(frame.frame)
            if sink.isFull { return true }
        }
    }

    reading: while true {
        let r = av_read_frame(format, packet.packet)
        if r == averrorEOF { break }
        if r < 0 {
            readFailure = "reading stopped after \(sink.decodedCount) frames: \(ffmpegMessage(r))"
            break
        }
        defer { av_packet_unref(packet.packet) }
        if packet.packet.pointee.stream_index != streamIndex { continue }
        packetsRead += 1
        if packet.packet.pointee.flags & AV_PKT_FLAG_CORRUPT != 0 {
            noteDamage("packet \(packetsRead) is incomplete or corrupt")
        }
        let s = avcodec_send_packet(dec, packet.packet)
        if s < 0 && s != averrorEAGAIN {
            // Like the ffmpeg CLI, skip the packet and go on; whether that is fatal is decided below.
            noteDamage("a packet after frame \(sink.decodedCount) was rejected: \(ffmpegMessage(s))")
        }
        if try drain() { break reading }
    }
    if !sink.isFull {
        // Flush: decoders hold back frames (B-frames, frame threads) until told the stream ended.
        let s = avcodec_send_packet(dec, nil)
        if s < 0 && s != averrorEOF { noteDamage("flushing: \(ffmpegMessage(s))") }
        _ = try drain()
        reachedEnd = !sink.isFull
    }

    if sink.decodedCount == 0 {
        throw fail(.truncated(readFailure ?? firstDamage ?? "no frame could be decoded"))
    }
    // A raw still-image stream (a JPEG probed as the `mjpeg` format) with one frame is a picture.
    if frameFolder == nil, sink.decodedCount == 1, demuxer == codecName, isStillImageCodec(stream.pointee.codecpar.pointee.codec_id) {
        throw fail(.stillImage("one \(codecName) picture (\(demuxer) format), no moving frames"))
    }
    if !options.allowDamaged {
        if let readFailure { throw fail(.truncated(readFailure)) }
        // Count packets, not frames: a decoder may legitimately emit fewer frames than packets
        // (dropped-frame placeholders), but a container that delivers fewer packets than its
        // header declares has lost its end.
        if reachedEnd && declaredFrames > 0 && packetsRead < declaredFrames {
            throw fail(.truncated(frameFolder.map {
                "FFmpeg read \(packetsRead) of the \($0.count) images and stopped at \($0.fileName(frame: packetsRead)) (empty or unreadable)"
            } ?? "the container declares \(declaredFrames) frames but delivered \(packetsRead) (\(sink.decodedCount) decoded)"))
        }
        if let firstDamage { throw fail(.undecodable(firstDamage)) }
    }
    return DecodedVideo(
        frames: sink.frames, frameCount: sink.indices.count, size: options.size,
        frameIndices: sink.indices, fps: fps,
        sourceWidth: Int(stream.pointee.codecpar.pointee.width),
        sourceHeight: Int(stream.pointee.codecpar.pointee.height),
        sourceFrameCount: sink.decodedCount, decodedToEnd: reachedEnd)
}

/// Receives decoded frames in order, keeps every n-th one, and resizes it into `frames`.
private struct FrameSink {
    let path: String
    let options: DecodeOptions
    let scaler = ScaleContext()
    var scratch: AlignedBuffer?
    var scratchStride = 0
    var geometry: ResizeGeometry?
    var lastSource: (Int32, Int32, Int32) = (0, 0, -1)
    /// The swscale context and (colour space, range) last given to `sws_setColorspaceDetails`.
    var lastColor: (OpaquePointer?, UInt32, UInt32) = (nil, 0, 0)
    var frames: [UInt8] = []
    var indices: [Int32] = []
    var decodedCount = 0

    init(path: String, options: DecodeOptions) {
        self.path = path
        self.options = options
    }

    var isFull: Bool { options.maxFrames > 0 && indices.count >= options.maxFrames }

    mutating func reserve(frames count: Int) {
        frames.reserveCapacity(count * options.size * options.size * 3)
        indices.reserveCapacity(count)
    }

    mutating func consume(_ frame: UnsafeMutablePointer<AVFrame>) throws {
        let index = decodedCount
        decodedCount += 1
        guard index % options.every == 0, !isFull else { return }

        let w = frame.pointee.width, h = frame.pointee.height, fmt = frame.pointee.format
        if geometry == nil || lastSource != (w, h, fmt) {
            let g = ResizeGeometry(sourceWidth: Int(w), sourceHeight: Int(h), size: options.size, mode: options.resize)
            geometry = g
            lastSource = (w, h, fmt)
            lastColor = (nil, 0, 0)  // a rebuilt context may reuse the old address
            scratchStride = (g.scaledWidth * 3 + 63) & ~63
            scratch = AlignedBuffer(byteCount: scratchStride * g.scaledHeight)
        }
        let g = geometry!
        guard let sws = scaler.update(
            sourceWidth: w, sourceHeight: h, sourceFormat: AVPixelFormat(fmt),
            destinationWidth: Int32(g.scaledWidth), destinationHeight: Int32(g.scaledHeight),
            destinationFormat: AV_PIX_FMT_RGB24, flags: SWS_BICUBIC)
        else {
            throw VideoError(path: path, reason: .undecodable("swscale cannot convert frame \(index) (\(w)x\(h), format \(fmt))"))
        }
        let color = (sws, frame.pointee.colorspace.rawValue, frame.pointee.color_range.rawValue)
        if lastColor != color {
            applyColorDetails(sws, frame)
            lastColor = color
        }

        let (src, srcStrides) = planes(of: frame)
        let out = scratch!.pointer.assumingMemoryBound(to: UInt8.self)
        var dst: [UnsafeMutablePointer<UInt8>?] = [out, nil, nil, nil]
        var dstStrides: [Int32] = [Int32(scratchStride), 0, 0, 0]
        _ = sws_scale(sws, src, srcStrides, 0, h, &dst, &dstStrides)

        // Copy the S×S window out of the aligned scratch rows.
        let rowBytes = g.size * 3
        let start = frames.count
        frames.append(contentsOf: repeatElement(0, count: rowBytes * g.size))
        frames.withUnsafeMutableBufferPointer { buffer in
            let base = buffer.baseAddress! + start
            for y in 0..<g.size {
                let from = out + ((y &+ g.cropY) &* scratchStride &+ g.cropX &* 3)
                (base + y &* rowBytes).update(from: from, count: rowBytes)
            }
        }
        indices.append(Int32(index))
    }

    /// The ffmpeg CLI's scale filter reads the frame's colour matrix and range and sets them on
    /// swscale before each frame (vf_scale with `in_color_matrix=auto`); doing the same keeps the
    /// output byte-identical for BT.709 or full-range sources too.
    private func applyColorDetails(_ sws: OpaquePointer, _ frame: UnsafeMutablePointer<AVFrame>) {
        var invTable: UnsafeMutablePointer<Int32>?
        var table: UnsafeMutablePointer<Int32>?
        var srcRange: Int32 = 0, dstRange: Int32 = 0
        var brightness: Int32 = 0, contrast: Int32 = 0, saturation: Int32 = 0
        if sws_getColorspaceDetails(sws, &invTable, &srcRange, &table, &dstRange,
                                    &brightness, &contrast, &saturation) < 0 { return }
        var space = Int32(frame.pointee.colorspace.rawValue)
        // vf_scale's parse_yuv_type: out-of-range and reserved values fall back to BT.601.
        if space < 1 || space > 10 || space == 8 { space = Int32(AVCOL_SPC_BT470BG.rawValue) }
        let coefficients = sws_getCoefficients(space)
        let range = frame.pointee.color_range
        if range != AVCOL_RANGE_UNSPECIFIED { srcRange = range == AVCOL_RANGE_JPEG ? 1 : 0 }
        _ = sws_setColorspaceDetails(sws, coefficients, srcRange, coefficients, dstRange,
                                     brightness, contrast, saturation)
    }
}

/// FFmpeg's demuxers for single pictures and picture sequences: `jpeg_pipe`, `png_pipe`, …, `image2`.
func isImageDemuxer(_ name: String) -> Bool {
    name.hasSuffix("_pipe") || name == "image2" || name == "image2pipe"
}

/// Whether FFmpeg describes a codec as a picture format (its MIME types are `image/…`).
func isStillImageCodec(_ id: AVCodecID) -> Bool {
    guard let descriptor = avcodec_descriptor_get(id), var types = descriptor.pointee.mime_types else { return false }
    while let type = types.pointee {
        if String(cString: type).hasPrefix("image/") { return true }
        types += 1
    }
    return false
}
