import Foundation
import JAMTestSupport
import JAMVideo
import Testing

/// Decoded frames are compared byte for byte with the ffmpeg CLI, an independent route through the
/// same libraries: its scale filter, format negotiation and frame handling are not ours.
@Suite struct VideoDecoderTests {
    init() { setFFmpegLogLevel(.error) }

    struct StretchCase: CustomTestStringConvertible, Sendable {
        var codec: VideoCodec, width: Int, height: Int, frames: Int, size: Int
        var testDescription: String { "\(codec) \(width)x\(height) → \(size)" }
    }

    @Test(arguments: [
        StretchCase(codec: .mpeg4, width: 97, height: 71, frames: 23, size: 64),   // odd source, downscale
        StretchCase(codec: .mpeg4, width: 160, height: 120, frames: 20, size: 97), // odd output size
        StretchCase(codec: .h264, width: 160, height: 120, frames: 27, size: 112), // B-frames: needs the flush
        StretchCase(codec: .h264, width: 96, height: 72, frames: 15, size: 128),   // upscale
    ])
    func stretchedFramesEqualTheCLI(_ c: StretchCase) throws {
        try withTemporaryDirectory { dir in
            let url = try TestVideos.write(in: dir, name: "v", width: c.width, height: c.height, frames: c.frames, codec: c.codec)
            let video = try decodeVideo(at: url, options: DecodeOptions(size: c.size))
            let cli = try FFmpegCLI.rawFrames(url, size: c.size)
            let frameBytes = c.size * c.size * 3
            #expect(video.frames == cli, "\(TestVideos.firstDifference(video.frames, cli, frameBytes: frameBytes))")
            // Every written frame comes back: the decoder was flushed.
            #expect(video.frameCount == c.frames)
            #expect(video.sourceFrameCount == c.frames)
            #expect(video.decodedToEnd)
            #expect(video.frameIndices == (0..<Int32(c.frames)).map { $0 })
            #expect(video.frames.count == c.frames * frameBytes)
            #expect(video.size == c.size)
            #expect(video.sourceWidth == c.width && video.sourceHeight == c.height)
            #expect(abs(video.fps - 25) < 1e-9)
        }
    }

    /// centerCrop against the CLI's `scale=W:H:flags=bicubic,crop=S:S:X:Y` with the geometry worked
    /// out by hand here (shorter side to S, longer side rounded, centred crop rounded down).
    @Test(arguments: [
        // 160x120 → S=64: 160·64/120 = 85.33 → 85x64, crop x = (85-64)/2 = 10.
        (VideoCodec.mpeg4, 160, 120, 64, "scale=85:64:flags=bicubic,crop=64:64:10:0"),
        // 71x97 (odd, portrait) → S=48: 97·48/71 = 65.58 → 48x66, crop y = (66-48)/2 = 9.
        (VideoCodec.mpeg4, 71, 97, 48, "scale=48:66:flags=bicubic,crop=48:48:0:9"),
        // 320x240 → S=112: 149.33 → 149x112, crop x = 18.
        (VideoCodec.h264, 320, 240, 112, "scale=149:112:flags=bicubic,crop=112:112:18:0"),
    ])
    func centerCropEqualsTheCLIScaleThenCrop(codec: VideoCodec, width: Int, height: Int, size: Int, filter: String) throws {
        try withTemporaryDirectory { dir in
            let url = try TestVideos.write(in: dir, name: "v", width: width, height: height, frames: 9, codec: codec)
            let video = try decodeVideo(at: url, options: DecodeOptions(size: size, resize: .centerCrop))
            let cli = try FFmpegCLI.rawFrames(url, filter: filter)
            #expect(video.frameCount == 9)
            #expect(video.frames == cli, "\(TestVideos.firstDifference(video.frames, cli, frameBytes: size * size * 3))")
        }
    }

    @Test func everyAndMaxFramesKeepTheRightSourceFrames() throws {
        try withTemporaryDirectory { dir in
            let url = try TestVideos.write(in: dir, name: "v", width: 96, height: 72, frames: 30, codec: .mpeg4)
            let size = 32
            let all = try FFmpegCLI.rawFrames(url, size: size)
            for (every, maxFrames, expected) in [
                (4, 0, [0, 4, 8, 12, 16, 20, 24, 28]),
                (3, 4, [0, 3, 6, 9]),
                (1, 5, [0, 1, 2, 3, 4]),
                (7, 100, [0, 7, 14, 21, 28]),
            ] {
                let video = try decodeVideo(at: url, options: DecodeOptions(size: size, every: every, maxFrames: maxFrames))
                #expect(video.frameIndices == expected.map(Int32.init), "every \(every), maxFrames \(maxFrames)")
                #expect(video.frameCount == expected.count)
                for (t, source) in expected.enumerated() {
                    #expect(video.frame(t) == TestVideos.frame(all, source, size: size), "kept frame \(t) = source frame \(source)")
                }
                // Stopping at maxFrames leaves the rest of the file unread.
                let stoppedEarly = maxFrames > 0 && maxFrames < (30 + every - 1) / every
                #expect(video.decodedToEnd == !stoppedEarly)
                #expect(stoppedEarly ? video.sourceFrameCount < 30 : video.sourceFrameCount == 30)
            }
        }
    }

    @Test func decoderThreadsDoNotChangeTheFrames() throws {
        try withTemporaryDirectory { dir in
            let url = try TestVideos.write(in: dir, name: "v", width: 160, height: 120, frames: 20, codec: .h264)
            let one = try decodeVideo(at: url, options: DecodeOptions(size: 64, threads: 1))
            let two = try decodeVideo(at: url, options: DecodeOptions(size: 64, threads: 2))
            #expect(one.frames == two.frames)
            #expect(two.frameCount == 20)
        }
    }

    // MARK: - Bad inputs

    /// Decodes `url` expecting a `VideoError`; checks that it names the file and says `reason`.
    private func expectFailure(
        _ url: URL, _ options: DecodeOptions = DecodeOptions(size: 32), says reason: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) -> VideoError? {
        do {
            let video = try decodeVideo(at: url, options: options)
            Issue.record("\(url.lastPathComponent) decoded \(video.frameCount) frames instead of failing", sourceLocation: sourceLocation)
            return nil
        } catch let error as VideoError {
            #expect(error.description.contains(url.lastPathComponent), "\(error)", sourceLocation: sourceLocation)
            #expect(error.description.contains(reason), "\(error)", sourceLocation: sourceLocation)
            return error
        } catch {
            Issue.record("not a VideoError: \(error)", sourceLocation: sourceLocation)
            return nil
        }
    }

    @Test func badInputsThrowErrorsNamingFileAndReason() throws {
        // The damaged files make the decoder log concealment errors; they are expected here.
        setFFmpegLogLevel(.quiet)
        defer { setFFmpegLogLevel(.error) }
        try withTemporaryDirectory { dir in
            let missing = expectFailure(dir.appendingPathComponent("missing.avi"), says: "no such file")
            #expect(missing?.reason == .fileMissing)

            let empty = dir.appendingPathComponent("empty.avi")
            #expect(FileManager.default.createFile(atPath: empty.path, contents: Data()))
            #expect(expectFailure(empty, says: "zero-length")?.reason == .emptyFile)

            let text = dir.appendingPathComponent("notes.avi")
            try Data("This is a text file, not a video.\n".utf8).write(to: text)
            let notVideo = expectFailure(text, says: "not a video")
            if case .notAVideo = notVideo?.reason {} else { Issue.record("text file: \(String(describing: notVideo))") }

            let audio = dir.appendingPathComponent("tone.wav")
            _ = try FFmpegCLI.run(["-f", "lavfi", "-i", "sine=duration=0.2", "-y", audio.path])
            #expect(expectFailure(audio, says: "no video stream")?.reason == .noVideoStream)

            let good = try TestVideos.write(in: dir, name: "good", width: 160, height: 120, frames: 30, codec: .mpeg4)
            let bytes = try Data(contentsOf: good)

            // The first half: the AVI header declares 30 frames, the cut file holds fewer.
            let half = dir.appendingPathComponent("half.avi")
            try bytes.prefix(bytes.count / 2).write(to: half)
            let truncated = expectFailure(half, says: "truncated")
            if case .truncated = truncated?.reason {} else { Issue.record("half: \(String(describing: truncated))") }

            // The first kilobyte: headers only, not even the stream's first frame.
            let head = dir.appendingPathComponent("head.avi")
            try bytes.prefix(1024).write(to: head)
            let headError = expectFailure(head, says: "not a video")
            #expect(headError.map { $0.reason != .fileMissing && $0.reason != .emptyFile } == true, "\(String(describing: headError))")

            // Garbage inside the first frame's data (chunk headers intact): the decoder conceals
            // errors, which is damage, not truncation.
            let smeared = dir.appendingPathComponent("smeared.avi")
            var damaged = [UInt8](bytes)
            let movi = try #require(damaged.firstRange(of: Array("movi".utf8))).lowerBound
            let chunk = try #require(damaged[movi...].firstRange(of: Array("00dc".utf8))).lowerBound
            for i in (chunk + 200)..<(chunk + 260) { damaged[i] = UInt8(truncatingIfNeeded: i &* 37) }
            try Data(damaged).write(to: smeared)
            let smearError = expectFailure(smeared, says: "corrupt")
            if case .undecodable? = smearError?.reason {} else { Issue.record("garbage in a frame: \(String(describing: smearError))") }

            // With allowDamaged the cut file yields what the CLI yields from it, frame for frame.
            let partial = try decodeVideo(at: half, options: DecodeOptions(size: 32, allowDamaged: true))
            let cli = try FFmpegCLI.rawFrames(half, size: 32)
            #expect(partial.frameCount > 0 && partial.frameCount < 30)
            #expect(partial.frames == cli, "\(TestVideos.firstDifference(partial.frames, cli, frameBytes: 32 * 32 * 3))")

            // allowDamaged still refuses a file with no frame at all.
            _ = expectFailure(head, DecodeOptions(size: 32, allowDamaged: true), says: head.lastPathComponent)
        }
    }

    @Test func invalidOptionsAreRejectedBeforeTheFileIsOpened() {
        let url = URL(fileURLWithPath: "/nonexistent/v.avi")
        for (options, word) in [
            (DecodeOptions(size: 0), "size"), (DecodeOptions(size: 32, every: 0), "every"),
            (DecodeOptions(size: 32, maxFrames: -1), "maxFrames"), (DecodeOptions(size: 32, threads: -2), "threads"),
        ] {
            do {
                _ = try decodeVideo(at: url, options: options)
                Issue.record("\(options) accepted")
            } catch let error as VideoError {
                if case .invalidArgument(let m) = error.reason { #expect(m.contains(word)) } else { Issue.record("\(error)") }
            } catch { Issue.record("\(error)") }
        }
    }

    @Test func resizeGeometryByHand() {
        let g = ResizeGeometry(sourceWidth: 320, sourceHeight: 240, size: 112, mode: .centerCrop)
        #expect(g == ResizeGeometry(sourceWidth: 320, sourceHeight: 240, size: 112, mode: .centerCrop))
        #expect((g.scaledWidth, g.scaledHeight, g.cropX, g.cropY) == (149, 112, 18, 0))
        let s = ResizeGeometry(sourceWidth: 97, sourceHeight: 71, size: 64, mode: .stretch)
        #expect((s.scaledWidth, s.scaledHeight, s.cropX, s.cropY) == (64, 64, 0, 0))
        // A square source needs no crop; a source smaller than S is scaled up.
        let q = ResizeGeometry(sourceWidth: 50, sourceHeight: 50, size: 64, mode: .centerCrop)
        #expect((q.scaledWidth, q.scaledHeight, q.cropX, q.cropY) == (64, 64, 0, 0))
    }
}
