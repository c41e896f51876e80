import Foundation
import JAMArtifacts
import JAMCore
import JAMModel
import JAMTestSupport
import Testing

/// jam-features end to end: synth → decode → features through the built executables.
@Suite(.serialized) struct FeaturesStageTests {
    func prepareFrames(in dir: URL, videosPerClass: Int = 3, frames: Int = 8) throws -> URL {
        let config = try writeTinyConfig(in: dir, videosPerClass: videosPerClass, frames: frames, size: 32)
        #expect(try runExecutable("jam-synth", ["--config", config.path], in: dir).status == 0)
        #expect(try runExecutable("jam-decode", ["--config", config.path], in: dir).status == 0)
        return config
    }

    @Test func featuresMatchTheNetworkRunOnTheDecodedFrames() throws {
        try withTemporaryDirectory { dir in
            let config = try prepareFrames(in: dir)
            let run = try runExecutable("jam-features", ["--config", config.path], in: dir)
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.stderr.contains("WARNING: no VGG16 weights configured"), "the He-init warning must be loud")
            #expect(run.stdout.contains("BLAS"), "the loaded BLAS core is shown: \(run.stdout)")

            let artifacts = dir.appendingPathComponent("artifacts")
            let folder = try stageFolder(artifacts, "features")
            #expect(artifactFiles(under: folder).count == 18)
            let video = "RotateCounterclockwise/v_RotateCounterclockwise_g02_c01.h5"
            let features = try ArtifactReader(url: folder.appendingPathComponent(video), expecting: .features)
            #expect(try features.file.stringAttribute("weights") == "he-init:3")
            #expect(try features.file.intAttribute("label") == 5)
            #expect(try features.file.intAttribute("input_size") == 32)
            let pool4 = try features.file.read("pool4", as: Float.self)
            let conv5 = try features.file.read("conv5_3", as: Float.self)
            #expect(pool4.shape == [8, 2, 2, 512])
            #expect(conv5.shape == [8, 2, 2, 512])
            #expect(try features.file.read("frame_index", as: Int32.self).data == (0..<8).map(Int32.init))

            // Independent route: the same network called directly on the frames artifact's pixels.
            let frames = try ArtifactReader(url: try stageFolder(artifacts, "frames").appendingPathComponent(video),
                                            expecting: .frames)
            let pixels = try frames.file.read("frames", as: UInt8.self).data
            // The stage ran 2 threads in batches of 4 (features.batch); results do not depend on
            // the thread count, so one thread must give the same bits.
            let network = VGG16FeatureExtractor(weights: VGG16Weights.heInitialized(seed: 3), threads: 1, frameSize: 32)
            let half = 4 * 32 * 32 * 3
            let first = try network.extract(frames: Array(pixels[0..<half]), batch: 4, frameSize: 32)
            let second = try network.extract(frames: Array(pixels[half...]), batch: 4, frameSize: 32)
            expectClose(pool4.data, first.pool4 + second.pool4, rtol: 0, atol: 0, "pool4")
            expectClose(conv5.data, first.conv5_3 + second.conv5_3, rtol: 0, atol: 0, "conv5_3")
            #expect(conv5.data.contains { $0 > 0 })
        }
    }

    @Test func wrongKindOrCorruptFramesAreReportedAndTheRestGoOn() throws {
        try withTemporaryDirectory { dir in
            let config = try prepareFrames(in: dir)
            let framesFolder = try stageFolder(dir.appendingPathComponent("artifacts"), "frames")
            // A features-kind file where a frames artifact should be, and a truncated one.
            let wrong = framesFolder.appendingPathComponent("MoveUp/v_MoveUp_g01_c01.h5")
            try FileManager.default.removeItem(at: wrong)
            try ArtifactWriter(url: wrong, header: ArtifactHeader(
                kind: .features, producer: "test", configDigest: "x", config: "{}", source: "test")).publish()
            let corrupt = framesFolder.appendingPathComponent("MoveDown/v_MoveDown_g02_c01.h5")
            let bytes = try Data(contentsOf: corrupt)
            try bytes.prefix(bytes.count / 3).write(to: corrupt)
            let missing = framesFolder.appendingPathComponent("MoveLeft/v_MoveLeft_g03_c01.h5")
            try FileManager.default.removeItem(at: missing)

            let run = try runExecutable("jam-features", ["--config", config.path, "--threads", "1"], in: dir)
            #expect(run.status == 1)
            #expect(run.stderr.contains("v_MoveUp_g01_c01.h5: found a 'features' artifact"), "\(run.stderr)")
            #expect(run.stderr.contains("v_MoveDown_g02_c01.h5"), "\(run.stderr)")
            #expect(run.stderr.contains("v_MoveLeft_g03_c01.h5: frames artifact missing; run jam-decode first"), "\(run.stderr)")
            let folder = try stageFolder(dir.appendingPathComponent("artifacts"), "features")
            #expect(artifactFiles(under: folder).count == 15)
        }
    }

    @Test func killedFeaturesResumeToTheSameArtifacts() throws {
        try withTemporaryDirectory { dir in
            let config = try prepareFrames(in: dir, videosPerClass: 4, frames: 24)
            let reference = try writeTinyConfig(in: dir, name: "reference.json", artifacts: "reference",
                                                videosPerClass: 4, frames: 24, size: 32)
            #expect(try runExecutable("jam-decode", ["--config", reference.path], in: dir).status == 0)
            #expect(try runExecutable("jam-features", ["--config", reference.path], in: dir).status == 0)

            let process = try launch("jam-features", ["--config", config.path], in: dir)
            let base = dir.appendingPathComponent("artifacts/tiny/features")
            #expect(waitUntil(timeout: 120) {
                guard let walker = FileManager.default.enumerator(atPath: base.path) else { return false }
                return walker.contains { ($0 as? String)?.hasSuffix(".h5") == true }
            })
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            #expect(process.terminationReason == .uncaughtSignal, "jam-features finished before it could be killed")
            let folder = try stageFolder(dir.appendingPathComponent("artifacts"), "features")
            #expect(artifactFiles(under: folder).count < 24)

            #expect(try runExecutable("jam-features", ["--config", config.path], in: dir).status == 0)
            let referenceFolder = try stageFolder(dir.appendingPathComponent("reference"), "features")
            let files = artifactFiles(under: folder)
            #expect(files.count == 24)
            #expect(files == artifactFiles(under: referenceFolder))
            for file in files {
                #expect(try artifactContents(folder.appendingPathComponent(file))
                        == artifactContents(referenceFolder.appendingPathComponent(file)), "\(file)")
            }
        }
    }

    @Test func aKerasWeightsFileIsLoadedIntoTheNetworkAndRecorded() throws {
        try withTemporaryDirectory { dir in
            // The He-initialised network written out in Keras's layout (2016-era dataset names):
            // features from the file must equal features from the network it was made from.
            let weights = VGG16Weights.heInitialized(seed: 11)
            let url = dir.appendingPathComponent("vgg16_notop.h5")
            do {
                let file = try HDF5File.create(at: url)
                try file.setAttribute("layer_names", strings: weights.layers.map(\.layer.name))
                for layer in weights.layers {
                    let name = layer.layer.name
                    let group = try file.createGroup(name)
                    try group.setAttribute("weight_names", strings: ["\(name)_W_1:0", "\(name)_b_1:0"])
                    try group.write("\(name)_W_1:0", layer.kernel, shape: layer.layer.kernelShape)
                    try group.write("\(name)_b_1:0", layer.bias, shape: [layer.layer.outputChannels])
                }
            }
            let config = try writeTinyConfig(in: dir, videosPerClass: 3, frames: 4, size: 32,
                                             weights: "\"vgg16_notop.h5\"")
            #expect(try runExecutable("jam-synth", ["--config", config.path], in: dir).status == 0)
            #expect(try runExecutable("jam-decode", ["--config", config.path], in: dir).status == 0)
            let run = try runExecutable("jam-features", ["--config", config.path], in: dir)
            #expect(run.status == 0, "\(run.stderr)")
            #expect(!run.stderr.contains("WARNING"), "no He-init warning with a weights file: \(run.stderr)")

            let artifacts = dir.appendingPathComponent("artifacts")
            let video = "MoveRight/v_MoveRight_g01_c01.h5"
            let features = try ArtifactReader(url: try stageFolder(artifacts, "features").appendingPathComponent(video),
                                              expecting: .features)
            let digest = try SHA256.hex(ofFile: url)
            #expect(try features.file.stringAttribute("weights") == "keras:sha256:\(digest) vgg16_notop.h5")
            let frames = try ArtifactReader(url: try stageFolder(artifacts, "frames").appendingPathComponent(video),
                                            expecting: .frames)
            let direct = try VGG16FeatureExtractor(weights: weights, threads: 1, frameSize: 32).extract(
                frames: try frames.file.read("frames", as: UInt8.self).data, batch: 4, frameSize: 32)
            expectClose(try features.file.read("conv5_3", as: Float.self).data, direct.conv5_3, rtol: 0, atol: 0, "conv5_3")

            // A weights file missing a layer stops the stage with the layer named.
            let broken = dir.appendingPathComponent("broken.h5")
            do {
                let file = try HDF5File.create(at: broken)
                try file.setAttribute("layer_names", strings: ["block1_conv1"])
            }
            let brokenConfig = try writeTinyConfig(in: dir, name: "broken.json", videosPerClass: 3, frames: 4, size: 32,
                                                   weights: "\"broken.h5\"")
            let refused = try runExecutable("jam-features", ["--config", brokenConfig.path], in: dir)
            #expect(refused.status != 0)
            #expect(refused.stderr.contains("broken.h5"), "\(refused.stderr)")
            #expect(refused.stderr.contains("block1_conv1"), "\(refused.stderr)")
        }
    }
}
