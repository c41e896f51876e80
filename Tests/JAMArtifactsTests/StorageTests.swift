import Foundation
import JAMArtifacts
import JAMCore
import JAMTestSupport
import Testing

// How arrays and strings are stored (issue 14, points 8 and 9): shuffle + deflate round trips
// bit for bit and h5dump names the filters; float16 cubes; string attributes as variable-length
// UTF-8 (what h5py returns as `str`) with the older fixed-length form still read; every array
// of every typed artifact names its axes; the split's normalization file.

@Suite struct StorageTests {
    let video = VideoEntry(relativePath: "MoveLeft/v_MoveLeft_g01_c01.avi", label: 1, className: "MoveLeft")

    func header(_ kind: ArtifactKind) -> ArtifactHeader {
        ArtifactHeader(kind: kind, producer: "jam-test \(jamVersion)", configDigest: "00ff", config: "{}", source: "test")
    }

    /// ReLU-like maps: about half zeros, the rest of varied magnitude (what features and cubes hold).
    func maps(_ count: Int, seed: UInt64) -> [Float] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let u = Float(state >> 40) / Float(1 << 24)
            return u < 0.5 ? 0 : (u - 0.5) * 37.5
        }
    }

    @Test func shuffleAndDeflateRoundTripBitForBitAndH5dumpShowsTheFilters() throws {
        try withTemporaryDirectory { dir in
            let shape = [6, 4, 4, 32]
            let values = maps(shape.reduce(1, *), seed: 7)
            let plain = dir.appendingPathComponent("plain.h5"), packed = dir.appendingPathComponent("packed.h5")
            for (url, deflate) in [(plain, 0), (packed, 4)] {
                let file = try HDF5File.create(at: url)
                try file.write("f32", values, shape: shape, options: DatasetOptions(chunk: [1, 4, 4, 32], deflate: deflate))
                try file.write("f16", values, shape: shape, options: DatasetOptions(storage: .float16, chunk: [2, 4, 4, 32],
                                                                                     deflate: deflate))
            }
            let a = try HDF5File.open(at: plain), b = try HDF5File.open(at: packed)
            for name in ["f32", "f16"] {
                let x = try a.read(name, as: Float.self), y = try b.read(name, as: Float.self)
                #expect(x.shape == y.shape)
                #expect(x.data.map(\.bitPattern) == y.data.map(\.bitPattern), "\(name): compressed values differ")
            }
            #expect(try b.read("f32", as: Float.self).data.map(\.bitPattern) == values.map(\.bitPattern))
            #expect(try b.openDataset("f32").filters() == ["shuffle", "deflate(4)"])
            #expect(try b.openDataset("f16").chunkShape() == [2, 4, 4, 32])
            #expect(try a.openDataset("f32").filters().isEmpty)
            // Frame by frame from the compressed file, as the stages read.
            var frame = [Float](repeating: 0, count: 4 * 4 * 32)
            try frame.withUnsafeMutableBufferPointer { try b.openDataset("f32").read(into: $0, at: [3, 0, 0, 0], shape: [1, 4, 4, 32]) }
            #expect(frame == Array(values[(3 * 512)..<(4 * 512)]))
            let size = { (url: URL) in try #require(try url.resourceValues(forKeys: [.fileSizeKey]).fileSize) }
            let (packedBytes, plainBytes) = (try size(packed), try size(plain))
            #expect(packedBytes < plainBytes * 9 / 10, "half-zero maps compress: \(packedBytes) of \(plainBytes) bytes")
            // Independent route: h5dump reads the filter pipeline from the file.
            let dump = try runTool("/usr/bin/h5dump", ["-p", "-H", packed.path])
            #expect(dump.contains("SHUFFLE") && dump.contains("COMPRESSION DEFLATE { LEVEL 4 }"), "h5dump -p: \(dump)")
        }
    }

    @Test func stringAttributesAreVariableLengthUTF8AndTheFixedLengthFormStillReads() throws {
        try withTemporaryDirectory { dir in
            let url = dir.appendingPathComponent("strings.h5")
            do {
                let file = try HDF5File.create(at: url)
                try file.setAttribute("vlen", "grüße, 世界")
                try file.setAttribute("vlen_list", strings: ["pool4", "conv5_3", ""])
                try file.setAttribute("fixed", "grüße", fixedLength: true)
                try file.setAttribute("fixed_list", strings: ["block1_conv1", "b"], fixedLength: true)
                try file.setAttribute("empty", "")
            }
            let file = try HDF5File.open(at: url)
            #expect(try file.stringAttribute("vlen") == "grüße, 世界")
            #expect(try file.stringArrayAttribute("vlen_list") == ["pool4", "conv5_3", ""])
            #expect(try file.stringAttribute("fixed") == "grüße")
            #expect(try file.stringArrayAttribute("fixed_list") == ["block1_conv1", "b"])
            #expect(try file.stringAttribute("empty") == "")
            let dump = try runTool("/usr/bin/h5dump", ["-A", url.path])
            let vlen = try #require(dump.range(of: "ATTRIBUTE \"vlen\"")).upperBound
            let block = String(dump[vlen...].prefix(260))
            #expect(block.contains("STRSIZE H5T_VARIABLE;") && block.contains("CSET H5T_CSET_UTF8;"), "h5dump -A: \(block)")
            let fixed = try #require(dump.range(of: "ATTRIBUTE \"fixed\"")).upperBound
            #expect(String(dump[fixed...].prefix(200)).contains("STRSIZE 8;"), "grüße is 7 UTF-8 bytes + NUL")
        }
    }

    /// A file as schema-1 writers left it: fixed-length strings throughout.
    @Test func headersWrittenWithFixedLengthStringsStillRead() throws {
        try withTemporaryDirectory { dir in
            let url = dir.appendingPathComponent("old.h5")
            do {
                let file = try HDF5File.create(at: url)
                for (name, value) in [("jam_artifact", "frames"), ("jam_producer", "jam-decode 0.1.0"), ("video", "a/b.avi")] {
                    try file.setAttribute(name, value, fixedLength: true)
                }
                try file.setAttribute("jam_schema_version", 1)
            }
            let reader = try ArtifactReader(url: url, expecting: .frames)
            #expect(reader.header.kind == "frames" && reader.header.producer == "jam-decode 0.1.0")
            #expect(try reader.file.stringAttribute("video") == "a/b.avi")
        }
    }

    func provenance(grid: Int = 2, channels: Int = 3) -> CubesArtifact.Provenance {
        CubesArtifact.Provenance(branches: ["pool4", "conv5_3"], gridHeight: grid, gridWidth: grid, channels: channels,
                                 middle: "3d", round: 1, attentionWeight: 0, timeOffset: 0, centering: "video")
    }

    @Test func cubesStoredAsFloat16AreWithinHalfPrecisionOfFloat32AndCompressed() throws {
        try withTemporaryDirectory { dir in
            let steps = 5, size = 2 * 2 * 3
            let cubes = [maps(steps * size, seed: 1), maps(steps * size, seed: 2)]
            var read: [HDF5StorageType: [[Float]]] = [:]
            for type in [HDF5StorageType.float32, .float16] {
                let url = dir.appendingPathComponent("\(type).h5")
                try CubesArtifact.write(cubes: cubes, steps: steps, frameIndex: (0..<5).map(Int32.init), video: video, split: 1,
                                        subset: "train", provenance: provenance(), storage: .init(type: type, compression: Compression(deflate: 1)),
                                        to: url, header: header(.cubes))
                let file = try HDF5File.open(at: url)
                let dataset = try file.openDataset("cube/conv5_3")
                #expect(try dataset.storageType() == type)
                #expect(try dataset.filters() == ["deflate(1)"])
                // Small steps are chunked together (whole steps, up to 64 KiB): here the whole video.
                #expect(try dataset.chunkShape() == [steps, 2, 2, 3])
                let summary = try CubesArtifact.scan(url, video: video, branches: ["pool4", "conv5_3"], expected: nil,
                                                     keep: true, rerun: "rerun jam-c3d")
                read[type] = summary.cubes
            }
            #expect(read[.float32] == cubes, "float32 cubes are stored as computed, compressed losslessly")
            for b in 0..<2 {
                // Half precision: 11 significant bits, relative error at most 2⁻¹¹ after rounding (absolute
                // 2⁻²⁵ below the smallest normal half).
                expectClose(read[.float16]![b], cubes[b], rtol: 1.0 / 2048, atol: 1e-7, "branch \(b) as float16")
                #expect(read[.float16]![b] != cubes[b], "float16 storage rounds (else the test proves nothing)")
            }
        }
    }

    @Test func everyArrayOfEveryTypedArtifactNamesItsAxes() throws {
        try withTemporaryDirectory { dir in
            let frames = dir.appendingPathComponent("frames.h5")
            try FramesArtifact.write(
                frames: [UInt8](repeating: 9, count: 2 * 16 * 16 * 3), frameIndex: [0, 1], video: video,
                decoding: .init(size: 16, resize: "stretch", every: 1, maxFrames: 0, sourceFPS: 25, sourceWidth: 32,
                                sourceHeight: 24, sourceFrameCount: 2),
                to: frames, header: header(.frames))
            let features = dir.appendingPathComponent("features.h5")
            let shape = FeaturesArtifact.MapShape(height: 1, width: 1, channels: 4)
            let writer = try FeaturesArtifact.Writer(url: features, header: header(.features), taps: ["pool4", "conv5_3"],
                                                     frames: 2, shape: shape, storage: .float16,
                                                     compression: Compression(deflate: 1, shuffle: true))
            for tap in 0..<2 { try maps(8, seed: 3).withUnsafeBufferPointer { try writer.write(tap: tap, $0, start: 0, count: 2) } }
            try writer.publish(frameIndex: [0, 1], video: video, inputSize: 16, weights: "he-init:1", preprocessing: "none")
            let cubes = dir.appendingPathComponent("cubes.h5")
            try CubesArtifact.write(cubes: [maps(24, seed: 4), maps(24, seed: 5)], steps: 2, frameIndex: [0, 1], video: video,
                                    split: 1, subset: "test", provenance: provenance(), to: cubes, header: header(.cubes))
            let attention = dir.appendingPathComponent("attention.h5")
            try AttentionArtifact.write(
                .init(attention: [Float](repeating: 0.25, count: 8), perBranch: [Float](repeating: 0.25, count: 16), branchCount: 2,
                      clipStarts: [0], clipProbabilities: [0.5, 0.5, 0.5, 0.5], frameIndex: [0, 1], classNames: ["a", "b"],
                      round: 1, branches: ["pool4", "conv5_3"], grid: 2, clipLength: 2, clipStride: 1, attentionMode: "joint",
                      note: nil, checkpointStep: 3),
                video: video, split: 1, subset: "test", to: attention, header: header(.attention))
            let predictions = dir.appendingPathComponent("predictions.h5")
            try PredictionsArtifact.write([.init(video: "a/v.avi", trueLabel: 0, predictedLabel: 1, top5: [1, 0],
                                                 probabilities: [0.4, 0.6])],
                                          classNames: ["a", "b"], rule: "mean", voteSteps: 1, to: predictions,
                                          header: header(.predictions))
            let normalization = dir.appendingPathComponent("normalization.h5")
            try NormalizationArtifact.write(.init(branches: ["pool4"], mean: [[1, 2]], scale: [[0.5, 0]], inputs: "features",
                                                  split: 1, trainingVideos: 3),
                                            to: normalization, header: header(.normalization))
            let expected: [(URL, [String: String])] = [
                (frames, ["frames": "T,H,W,C", "frame_index": "T"]),
                (features, ["pool4": "T,H,W,C", "conv5_3": "T,H,W,C", "frame_index": "T"]),
                (cubes, ["cube/pool4": "T,H,W,C", "cube/conv5_3": "T,H,W,C", "frame_index": "T"]),
                (attention, ["attention": "T,L", "attention_per_branch": "T,B,L", "clip_starts": "N",
                             "clip_probabilities": "N,T,K", "frame_index": "T"]),
                (predictions, ["true_label": "V", "predicted_label": "V", "top5": "V,R", "probabilities": "V,K"]),
                (normalization, ["mean/pool4": "C", "scale/pool4": "C"]),
            ]
            for (url, axes) in expected {
                let file = try HDF5File.open(at: url)
                for (name, names) in axes {
                    let dataset = try file.openDataset(name)
                    #expect(try dataset.stringAttribute("axes") == names, "\(url.lastPathComponent) \(name)")
                    #expect(try dataset.shape().count == names.split(separator: ",").count)
                }
            }
            let dump = try runTool("/usr/bin/h5dump", ["-A", cubes.path])
            #expect(dump.contains("ATTRIBUTE \"axes\"") && dump.contains("\"T,H,W,C\""), "h5dump -A: \(dump)")
            #expect(try HDF5File.open(at: features).openDataset("pool4").filters() == ["shuffle", "deflate(1)"])
            #expect(try HDF5File.open(at: features).openDataset("pool4").chunkShape() == [1, 1, 1, 4])
            #expect(throws: HDF5Error.self) {
                try HDF5File.create(at: dir.appendingPathComponent("bad.h5")).write("x", [Float(1)], shape: [1], options: .axes("T,C"))
            }
        }
    }

    @Test func normalizationRoundTripsAndIsRefusedClearlyWhenMissing() throws {
        try withTemporaryDirectory { dir in
            let url = NormalizationArtifact.url(inSplitFolder: dir.appendingPathComponent("split2"))
            #expect(url.lastPathComponent == "normalization.h5")
            let content = NormalizationArtifact.Content(branches: ["pool4", "conv5_3"], mean: [[1, -2.5], [3, 4, 5]],
                                                        scale: [[0.5, 0], [1, 2, 0.125]], inputs: "cubes", split: 2,
                                                        trainingVideos: 7)
            #expect(throws: JAMError.self) { try NormalizationArtifact.read(url, branches: ["pool4"]) }
            try NormalizationArtifact.write(content, to: url, header: header(.normalization))
            #expect(try NormalizationArtifact.read(url, branches: ["pool4", "conv5_3"]) == content)
            let error = #expect(throws: JAMError.self) { try NormalizationArtifact.read(url, branches: ["conv4_3"]) }
            #expect("\(error!)".contains("conv4_3") && "\(error!)".contains(url.path))
        }
    }

    @Test func schema1CubesAreRefusedNamingBothVersionsAndTheFix() throws {
        try withTemporaryDirectory { dir in
            let url = dir.appendingPathComponent("old-cubes.h5")
            var old = header(.cubes)
            old.schemaVersion = 1
            let writer = try ArtifactWriter(url: url, header: old)
            try writer.publish()
            let error = #expect(throws: JAMError.self) {
                try CubesArtifact.scan(url, video: video, branches: ["pool4"], expected: nil, keep: false, rerun: "rerun jam-c3d")
            }
            let text = "\(error!)"
            #expect(text.contains("schema version 1") && text.contains("reads version 2") && text.contains("keep checkpoint.h5")
                    && text.contains("jam-c3d with --force") && text.contains(url.path), "\(text)")
        }
    }
}
