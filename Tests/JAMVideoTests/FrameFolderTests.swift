import Foundation
import JAMCore
import JAMTestSupport
import JAMVideo
import Testing

/// Frame folders (`<video>/img_00001.jpg …`): the naming rules, and the decoded frames compared
/// byte for byte with the ffmpeg CLI reading the same images through its image2 demuxer, with the
/// scaling of the video exactness tests (VideoDecoderTests).
@Suite struct FrameFolderTests {
    init() { setFFmpegLogLevel(.error) }

    /// Writes the frames of a synthetic video as images `<dir>/<name>/<pattern>` with the ffmpeg
    /// CLI (`extra` goes before the output: `-pix_fmt yuvj444p`, `-start_number 0`).
    static func writeFrameFolder(
        in dir: URL, name: String, width: Int, height: Int, frames: Int,
        pattern: String = "img_%05d.jpg", extra: [String] = []
    ) throws -> URL {
        let video = try TestVideos.write(in: dir, name: "source-\(UUID().uuidString)", width: width, height: height,
                                         frames: frames, codec: .mpeg4)
        let folder = dir.appendingPathComponent(name, isDirectory: true)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        // image2 reads `%` as the start of a number: a literal one in the folder's path is `%%`.
        let output = folder.path.replacingOccurrences(of: "%", with: "%%") + "/" + pattern
        _ = try FFmpegCLI.run(["-i", video.path] + extra + [output])
        try FileManager.default.removeItem(at: video)
        let written = try FileManager.default.contentsOfDirectory(atPath: folder.path)
        try #require(written.count == frames, "the CLI wrote \(written.count) images, not \(frames)")
        return folder
    }

    struct Case: CustomTestStringConvertible, Sendable {
        var pattern: String, extra: [String], width: Int, height: Int, frames: Int, size: Int
        var resize: ResizeMode = .stretch
        /// The CLI's filter for `resize`; nil: `-s SxS`, as in VideoDecoderTests.
        var filter: String? = nil
        var startNumber: Int = 1
        var testDescription: String { "\(pattern) \(extra.joined(separator: " ")) \(width)x\(height) → \(size) \(resize)" }
    }

    static let cases: [Case] = [
        // MMAction2's layout: JPEG (yuvj420p, full range), numbered from 1, odd size scaled down.
        Case(pattern: "img_%05d.jpg", extra: ["-q:v", "3"], width: 97, height: 71, frames: 13, size: 64),
        // PNG (rgb24) numbered from 0 and unpadded, scaled up to an odd size.
        Case(pattern: "%d.png", extra: ["-start_number", "0"], width: 48, height: 40, frames: 11, size: 97, startNumber: 0),
        // JPEG 4:4:4 from 100, centre crop: 160x120 → 85x64, crop x 10 (as for the AVI).
        Case(pattern: "frame_%06d.jpg", extra: ["-pix_fmt", "yuvj444p", "-start_number", "100"], width: 160, height: 120,
             frames: 9, size: 64, resize: .centerCrop, filter: "scale=85:64:flags=bicubic,crop=64:64:10:0", startNumber: 100),
    ]

    @Test(arguments: cases)
    func framesEqualTheCLIReadingTheSameImages(_ c: Case) throws {
        try withTemporaryDirectory { dir in
            // A `%` in the folder's path must reach image2 as a literal character.
            let folder = try Self.writeFrameFolder(in: dir, name: "clip 100%", width: c.width, height: c.height,
                                                   frames: c.frames, pattern: c.pattern, extra: c.extra)
            let frames = try FrameFolder(scanning: folder)
            #expect(frames.pattern == c.pattern)
            #expect(frames.firstNumber == c.startNumber && frames.count == c.frames)

            let video = try decodeVideo(at: folder, options: DecodeOptions(size: c.size, resize: c.resize))
            // The CLI's own pattern, with `%` in the folder name escaped as image2 wants it.
            let input = folder.path.replacingOccurrences(of: "%", with: "%%") + "/" + c.pattern
            let scale = c.filter.map { ["-vf", $0] } ?? ["-s", "\(c.size)x\(c.size)"]
            let cli = try FFmpegCLI.run(["-start_number", "\(c.startNumber)", "-i", input] + scale
                                        + ["-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
            let frameBytes = c.size * c.size * 3
            #expect(cli.count == c.frames * frameBytes)
            #expect(video.frames == cli, "\(TestVideos.firstDifference(video.frames, cli, frameBytes: frameBytes))")
            #expect(video.frameCount == c.frames && video.sourceFrameCount == c.frames && video.decodedToEnd)
            #expect(video.frameIndices == (0..<Int32(c.frames)).map { $0 })
            #expect(video.sourceWidth == c.width && video.sourceHeight == c.height)
            #expect(video.fps == 0, "images carry no frame rate")
        }
    }

    @Test func everyAndMaxFramesKeepTheRightImages() throws {
        try withTemporaryDirectory { dir in
            let folder = try Self.writeFrameFolder(in: dir, name: "v_Walk_g01_c01", width: 96, height: 72, frames: 20)
            let size = 32
            let all = try FFmpegCLI.run(["-i", folder.appendingPathComponent("img_%05d.jpg").path, "-s", "\(size)x\(size)",
                                         "-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
            for (every, maxFrames, expected) in [(3, 0, [0, 3, 6, 9, 12, 15, 18]), (4, 2, [0, 4]), (1, 3, [0, 1, 2])] {
                let video = try decodeVideo(at: folder, options: DecodeOptions(size: size, every: every, maxFrames: maxFrames))
                #expect(video.frameIndices == expected.map(Int32.init), "every \(every), maxFrames \(maxFrames)")
                for (t, source) in expected.enumerated() {
                    #expect(video.frame(t) == TestVideos.frame(all, source, size: size), "kept frame \(t) = image \(source + 1)")
                }
                #expect(video.decodedToEnd == (maxFrames == 0))
            }
        }
    }

    // MARK: - Naming rules (listing only: the images may be empty files here)

    /// `n` zero-padded to `width` digits.
    private func pad(_ n: Int, _ width: Int) -> String {
        let s = String(n)
        return String(repeating: "0", count: max(0, width - s.count)) + s
    }

    /// A folder holding empty files with these names.
    private func folder(_ names: [String], in dir: URL, name: String = "v") throws -> URL {
        let url = dir.appendingPathComponent(name, isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        for n in names { #expect(FileManager.default.createFile(atPath: url.appendingPathComponent(n).path, contents: Data())) }
        return url
    }

    /// Scans expecting a `.frameFolder` error naming the folder and containing every one of `words`.
    private func expectRefused(_ url: URL, _ words: [String], sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            let f = try FrameFolder(scanning: url)
            Issue.record("accepted as \(f.pattern) from \(f.firstNumber)", sourceLocation: sourceLocation)
        } catch let error as VideoError {
            if case .frameFolder = error.reason {} else { Issue.record("reason \(error.reason)", sourceLocation: sourceLocation) }
            #expect(error.description.hasPrefix(url.path + ": frame folder: "), "\(error)", sourceLocation: sourceLocation)
            for w in words { #expect(error.description.contains(w), "\(error) lacks \(w)", sourceLocation: sourceLocation) }
        } catch {
            Issue.record("not a VideoError: \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test func namingRulesGivePatternAndFirstNumber() throws {
        try withTemporaryDirectory { dir in
            func scan(_ names: [String]) throws -> FrameFolder {
                try FrameFolder(scanning: try folder(names, in: dir, name: UUID().uuidString))
            }
            let mm = try scan((1...12).map { "img_\(pad($0, 5)).jpg" } + [".DS_Store", "notes.txt", "._img_00013.jpg"])
            #expect((mm.pattern, mm.firstNumber, mm.count, mm.width) == ("img_%05d.jpg", 1, 12, 5))
            #expect(mm.fileName(frame: 11) == "img_00012.jpg")
            // Unpadded numbers that grow a digit, from 0.
            let plain = try scan((0...10).map { "\($0).PNG" })
            #expect((plain.pattern, plain.firstNumber, plain.count) == ("%d.PNG", 0, 11))
            // A padded sequence that outgrows its padding is still one sequence.
            let grown = try scan((98...101).map { "f\(pad($0, 2)).jpeg" })
            #expect((grown.pattern, grown.firstNumber, grown.count) == ("f%02d.jpeg", 98, 4))
            // MMAction2 keeps optical flow beside the RGB frames: img_ is taken.
            let flow = try scan((1...3).flatMap { n in ["img_", "flow_x_", "flow_y_"].map { "\($0)\(pad(n, 5)).jpg" } })
            #expect((flow.pattern, flow.count) == ("img_%05d.jpg", 3))
        }
    }

    @Test func badFolderNamesAreRefusedNamingTheFile() throws {
        try withTemporaryDirectory { dir in
            let gap = try folder(["img_00001.jpg", "img_00002.jpg", "img_00004.jpg", "img_00005.jpg", "img_00007.jpg"], in: dir, name: "gap")
            expectRefused(gap, ["img_00003.jpg is missing", "img_00001.jpg … img_00007.jpg", "2 missing", "renumber"])
            expectRefused(try folder(["img_01.jpg", "img_2.jpg"], in: dir, name: "pad"),
                          ["img_2.jpg is padded differently from img_01.jpg", "expected img_02.jpg"])
            expectRefused(try folder(["img_00001.jpg", "cover.jpg"], in: dir, name: "unnumbered"), ["cover.jpg has no frame number"])
            expectRefused(try folder(["a_1.jpg", "a_2.jpg", "b_1.jpg"], in: dir, name: "two"),
                          ["several image sequences", "a_<number>.jpg (2 images)", "b_<number>.jpg (1 images)"])
            expectRefused(try folder(["img_1.jpg", "img_2.png"], in: dir, name: "mixed"), ["several image sequences"])
            expectRefused(try folder(["readme.txt"], in: dir, name: "empty"), ["no images"])
        }
    }

    @Test func decodingABadFrameFolderNamesTheFolderAndTheImage() throws {
        setFFmpegLogLevel(.quiet)
        defer { setFFmpegLogLevel(.error) }
        try withTemporaryDirectory { dir in
            let folder = try Self.writeFrameFolder(in: dir, name: "v", width: 64, height: 48, frames: 6)
            // A gap is found before FFmpeg, which would stop at it, reads anything.
            try FileManager.default.removeItem(at: folder.appendingPathComponent("img_00004.jpg"))
            #expect { _ = try decodeVideo(at: folder, options: DecodeOptions(size: 32)) } throws: {
                ($0 as? VideoError)?.reason == .frameFolder(
                    "frame img_00004.jpg is missing (the images img_00001.jpg … img_00006.jpg must be numbered without gaps; "
                    + "1 missing); renumber the images contiguously or extract the frames again")
                    && "\($0)".hasPrefix(folder.path)
            }
            // An image FFmpeg cannot decode, and an empty one (image2 stops there): errors naming
            // the folder and the image, not a short video.
            try Data("not an image".utf8).write(to: folder.appendingPathComponent("img_00004.jpg"))
            #expect { _ = try decodeVideo(at: folder, options: DecodeOptions(size: 32)) } throws: {
                guard let e = $0 as? VideoError, case .undecodable(let m) = e.reason else { return false }
                return "\(e)".hasPrefix(folder.path) && m.hasSuffix("(image img_00004.jpg)")
            }
            try Data().write(to: folder.appendingPathComponent("img_00004.jpg"))
            #expect { _ = try decodeVideo(at: folder, options: DecodeOptions(size: 32)) } throws: {
                ($0 as? VideoError)?.reason
                    == .truncated("FFmpeg read 3 of the 6 images and stopped at img_00004.jpg (empty or unreadable)")
                    && "\($0)".hasPrefix(folder.path)
            }
        }
    }
}
