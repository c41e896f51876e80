import Foundation
import JAMArtifacts
import JAMCore
import JAMTestSupport
import Testing

// Round trips through the per-video artifacts of the feature cache (frames, features) and the
// errors that name the file. Expected values are written out by hand or by plain loops here.

@Suite struct VideoArtifactsTests {
    let video = VideoEntry(relativePath: "MoveLeft/v_MoveLeft_g01_c01.avi", label: 1, className: "MoveLeft")

    func header(_ kind: ArtifactKind) -> ArtifactHeader {
        ArtifactHeader(kind: kind, producer: "jam-test \(jamVersion)", configDigest: "00ff", config: "{}",
                       source: video.relativePath)
    }

    func decoding(size: Int) -> FramesArtifact.Decoding {
        FramesArtifact.Decoding(size: size, resize: "crop", every: 2, maxFrames: 8, sourceFPS: 25, sourceWidth: 160,
                                sourceHeight: 120, sourceFrameCount: 16)
    }

    // MARK: - frames

    @Test func framesRoundTripThroughTheReader() throws {
        try withTemporaryDirectory { dir in
            let url = dir.appendingPathComponent("frames/MoveLeft/v.h5")
            // [T = 2, S = 4, S = 4, 3]: byte i is i mod 251, so every frame differs.
            let frames = (0..<96).map { UInt8($0 % 251) }
            try FramesArtifact.write(frames: frames, frameIndex: [0, 5], video: video, decoding: decoding(size: 4),
                                     to: url, header: header(.frames))

            let reader = try FramesArtifact.Reader(url: url, sizeMultiple: 4)
            #expect(reader.frameCount == 2 && reader.size == 4)
            #expect(try reader.frameIndex() == [0, 5])
            #expect(try reader.video() == video)
            var second = [UInt8](repeating: 0, count: 48)
            try second.withUnsafeMutableBufferPointer { try reader.readFrames(into: $0, start: 1, count: 1) }
            #expect(second == (48..<96).map { UInt8($0) })

            let file = try HDF5File.open(at: url)
            #expect(try file.intAttribute("size") == 4)
            #expect(try file.stringAttribute("resize") == "crop")
            #expect(try file.intAttribute("every") == 2)
            #expect(try file.intAttribute("max_frames") == 8)
            #expect(try file.doubleAttribute("source_fps") == 25)
            #expect(try file.intAttribute("source_width") == 160 && file.intAttribute("source_height") == 120)
            #expect(try file.intAttribute("source_frame_count") == 16)
            #expect(try file.stringAttribute("class_name") == "MoveLeft")
        }
    }

    @Test func framesReaderNamesTheFileWhenMissingOrOfTheWrongSize() throws {
        try withTemporaryDirectory { dir in
            let missing = dir.appendingPathComponent("none.h5")
            do {
                _ = try FramesArtifact.Reader(url: missing)
                Issue.record("a missing frames artifact was opened")
            } catch let error as ArtifactError {
                #expect(error.description.contains(missing.path) && error.description.contains("jam-decode"), "\(error)")
            }
            let url = dir.appendingPathComponent("small.h5")
            try FramesArtifact.write(frames: [UInt8](repeating: 1, count: 48), frameIndex: [0], video: video,
                                     decoding: decoding(size: 4), to: url, header: header(.frames))
            do {
                _ = try FramesArtifact.Reader(url: url, sizeMultiple: 16)
                Issue.record("S = 4 was accepted where S must be a multiple of 16")
            } catch let error as ArtifactError {
                #expect(error.description.contains(url.path), "\(error)")
                #expect(error.description.contains("[1, 4, 4, 3]") && error.description.contains("multiple of 16"), "\(error)")
            }
        }
    }

    // MARK: - features

    let shape = FeaturesArtifact.MapShape(height: 2, width: 2, channels: 3)

    /// Tap k, frame t, element i of a frame: 100k + 10t + i/2 (exact in float32).
    func value(tap k: Int, frame t: Int, element i: Int) -> Float { Float(100 * k + 10 * t) + Float(i) * 0.5 }

    /// Writes a 3-frame features artifact with taps pool4 and conv5_3; tap 0 in two slices.
    func writeFeatures(_ url: URL, override: ((Int, Int, Int) -> Float)? = nil) throws {
        let writer = try FeaturesArtifact.Writer(url: url, header: header(.features), taps: ["pool4", "conv5_3"],
                                                 frames: 3, shape: shape, storage: .float32)
        let f = override ?? value
        for k in 0..<2 {
            for (start, count) in [(0, 2), (2, 1)] {
                let slice = (start..<start + count).flatMap { t in (0..<12).map { f(k, t, $0) } }
                try slice.withUnsafeBufferPointer { try writer.write(tap: k, $0, start: start, count: count) }
            }
        }
        try writer.publish(frameIndex: [0, 2, 4], video: video, inputSize: 32, weights: "he-init:0", preprocessing: "caffe")
    }

    @Test func featuresScanFindsShapeFrameIndexMomentsAndMeanMaps() throws {
        try withTemporaryDirectory { dir in
            let url = dir.appendingPathComponent("f.h5")
            try writeFeatures(url)
            let summary = try FeaturesArtifact.scan(url, video: video.relativePath, taps: ["pool4", "conv5_3"],
                                                    expected: shape, meanMaps: true)
            #expect(summary.frames == 3)
            #expect(summary.shape == shape)
            #expect(summary.frameIndex == [0, 2, 4])
            #expect(summary.moments.count == 2 && summary.meanMaps.count == 2)
            for k in 0..<2 {
                var sums = [Double](repeating: 0, count: 3), squares = sums
                for t in 0..<3 {
                    for i in 0..<12 {
                        let v = Double(value(tap: k, frame: t, element: i))
                        sums[i % 3] += v
                        squares[i % 3] += v * v
                    }
                }
                #expect(summary.moments[k].count == 12, "3 frames × 4 pixels")
                expectClose(summary.moments[k].sums, sums, rtol: 1e-12, atol: 0, "sums of tap \(k)")
                expectClose(summary.moments[k].squares, squares, rtol: 1e-12, atol: 0, "squares of tap \(k)")
                // The mean over frames 0, 1, 2 adds 10 (the mean of 0, 10, 20) to 100k + i/2.
                expectClose(summary.meanMaps[k], (0..<12).map { Float(100 * k + 10) + Float($0) * 0.5 },
                            rtol: 0, atol: 1e-5, "mean map of tap \(k)")
            }
            let file = try HDF5File.open(at: url)
            #expect(try file.intAttribute("input_size") == 32)
            #expect(try file.stringAttribute("weights") == "he-init:0")
            #expect(try file.stringAttribute("preprocessing") == "caffe")
            #expect(try file.stringAttribute("video") == video.relativePath)
        }
    }

    @Test func readFramesRepeatsTheLastFrameOfAPaddedClip() throws {
        try withTemporaryDirectory { dir in
            let url = dir.appendingPathComponent("f.h5")
            try writeFeatures(url)
            let file = try ArtifactReader(url: url, expecting: .features).file
            var output = [Float](repeating: -1, count: 3 * 12)
            try output.withUnsafeMutableBufferPointer {
                try FeaturesArtifact.readFrames(into: $0.baseAddress!, file: file, tap: "conv5_3", frames: [1, 2, 2],
                                                shape: shape)
            }
            let expected = [1, 2, 2].flatMap { t in (0..<12).map { value(tap: 1, frame: t, element: $0) } }
            #expect(output == expected)

            var single = [Float](repeating: -1, count: 12)
            try single.withUnsafeMutableBufferPointer {
                try FeaturesArtifact.readFrames(into: $0.baseAddress!, file: file, tap: "pool4", frames: [0], shape: shape)
            }
            #expect(single == (0..<12).map { value(tap: 0, frame: 0, element: $0) })
        }
    }

    /// Runs a scan that must fail and returns the error's description.
    func scanError(_ url: URL, taps: [String] = ["pool4", "conv5_3"],
                   expected: FeaturesArtifact.MapShape? = nil) -> String {
        do {
            _ = try FeaturesArtifact.scan(url, video: video.relativePath, taps: taps, expected: expected, meanMaps: false)
            Issue.record("scan of \(url.lastPathComponent) succeeded")
            return ""
        } catch {
            return String(describing: error)
        }
    }

    @Test func featuresScanRefusesBadFilesNamingThem() throws {
        try withTemporaryDirectory { dir in
            let missing = dir.appendingPathComponent("missing.h5")
            let text = scanError(missing)
            #expect(text.contains(missing.path) && text.contains("run jam-features first")
                    && text.contains(video.relativePath), "\(text)")

            let nan = dir.appendingPathComponent("nan.h5")
            try writeFeatures(nan) { k, t, i in k == 0 && t == 1 && i == 5 ? .nan : 1 }
            let nanText = scanError(nan)
            #expect(nanText.contains(nan.path) && nanText.contains("'pool4' holds nan at frame 1 (element 5)"), "\(nanText)")

            let good = dir.appendingPathComponent("good.h5")
            try writeFeatures(good)
            let other = FeaturesArtifact.MapShape(height: 3, width: 3, channels: 3)
            let shapeText = scanError(good, expected: other)
            #expect(shapeText.contains(good.path), "\(shapeText)")
            #expect(shapeText.contains("maps are [T, 2, 2, 3], the other videos' [T, 3, 3, 3]"), "\(shapeText)")

            let tapText = scanError(good, taps: ["pool4", "fc7"])
            #expect(tapText.contains(good.path) && tapText.contains("no 'fc7' dataset"), "\(tapText)")

            let frames = dir.appendingPathComponent("frames.h5")
            try FramesArtifact.write(frames: [UInt8](repeating: 0, count: 48), frameIndex: [0], video: video,
                                     decoding: decoding(size: 4), to: frames, header: header(.frames))
            let kindText = scanError(frames)
            #expect(kindText.contains(frames.path) && kindText.contains("found a 'frames' artifact"), "\(kindText)")

            // Taps that disagree in T within one file.
            let uneven = dir.appendingPathComponent("uneven.h5")
            let writer = try ArtifactWriter(url: uneven, header: header(.features))
            try writer.file!.write("pool4", [Float](repeating: 0, count: 36), shape: [3, 2, 2, 3])
            try writer.file!.write("conv5_3", [Float](repeating: 0, count: 24), shape: [2, 2, 2, 3])
            try writer.file!.write("frame_index", [Int32]([0, 1, 2]), shape: [3])
            try writer.publish()
            let unevenText = scanError(uneven)
            #expect(unevenText.contains(uneven.path)
                    && unevenText.contains("'conv5_3' has shape [2, 2, 2, 3], the other taps [3, 2, 2, 3]"), "\(unevenText)")
        }
    }
}
