import Foundation
import JAMArtifacts
import JAMConfig
import JAMCore
import JAMDatasets
import JAMModel
import JAMNN
import JAMStages
import JAMTestSupport
import JAMTraining
import Testing

// MARK: - Fixtures: a motion dataset as features artifacts

/// The four motion classes of the fixture: a blob drifting right, left, down or up.
let motionClasses = ["MoveRight", "MoveLeft", "MoveDown", "MoveUp"]

/// Sizes of a synthetic features dataset.
struct MotionFixture {
    var trainPerClass = 8
    var testPerClass = 4
    var frames = 12
    var side = 8
    var channels = 8
    var seed: UInt64 = 5
}

/// A config for the fixture: UCF101 layout under `dir/motion`, artifacts under `dir/<artifacts>`,
/// `c3d` as given (a JSON object body).
func writeC3DConfig(in dir: URL, name: String = "pipeline.json", artifacts: String = "artifacts", c3d: String) throws -> URL {
    let text = """
        {
          "artifacts_root": "\(artifacts)",
          "dataset": { "name": "tiny", "format": "ucf101", "root": "motion", "splits": [1], "synthetic": false },
          "features": { "weights": null, "init_seed": 3, "storage": "float32" },
          "c3d": { \(c3d) }
        }
        """
    let url = dir.appendingPathComponent(name)
    try text.write(to: url, atomically: true, encoding: .utf8)
    return url
}

/// A tiny jam-c3d run to interrupt (the motion fixture, 4 + 1 videos per class of 14 frames, 3
/// epochs, a checkpoint every `checkpointEvery` steps), and the same run finished uninterrupted
/// under `dir/reference` (config `reference.json`) to compare with. Returns the config of the
/// run to interrupt.
func makeInterruptibleC3DRun(in dir: URL, checkpointEvery: Int) throws -> URL {
    let c3d = """
        "clip_length": 8, "clip_stride": 2, "conv1_width": 16, "conv2_width": 16, "hidden_width": 16,
        "epochs": 3, "batch": 4, "learning_rate": 0.003, "checkpoint_every": \(checkpointEvery), "seed": 2
        """
    let fixture = MotionFixture(trainPerClass: 4, testPerClass: 1, frames: 14, side: 8, channels: 32)
    let configURL = try writeC3DConfig(in: dir, c3d: c3d)
    try makeMotionFeatures(in: dir, config: configURL, fixture: fixture)
    let referenceURL = try writeC3DConfig(in: dir, name: "reference.json", artifacts: "reference", c3d: c3d)
    try FileManager.default.copyItem(at: dir.appendingPathComponent("artifacts"), to: dir.appendingPathComponent("reference"))
    let reference = try runExecutable("jam-c3d", ["--config", referenceURL.path, "--threads", "2"], in: dir)
    try #require(reference.status == 0, "the uninterrupted reference run failed: \(reference.stderr)")
    return configURL
}

/// Reruns the interrupted run of `makeInterruptibleC3DRun`, which must resume from its checkpoint,
/// and expects the checkpoint in `split` to equal the reference's bit for bit (weights, Adam's
/// moments, steps). Returns the reference's split folder.
func resumeToTheReference(in dir: URL, config: URL, split: URL) throws -> URL {
    let resumed = try runExecutable("jam-c3d", ["--config", config.path, "--threads", "2"], in: dir)
    #expect(resumed.status == 0, "\(resumed.stderr)")
    #expect(resumed.stderr.contains("resuming from checkpoint.h5"), "\(resumed.stderr)")
    let referenceSplit = try cubesFolder(dir, artifacts: "reference").appendingPathComponent("split1")
    let a = try HDF5File.open(at: split.appendingPathComponent("checkpoint.h5"))
    let b = try HDF5File.open(at: referenceSplit.appendingPathComponent("checkpoint.h5"))
    for name in ["values", "optimizer/first_moment", "optimizer/second_moment"] {
        let x = try a.read(name, as: Float.self).data, y = try b.read(name, as: Float.self).data
        #expect(x == y, "\(name): max |diff| \(maxAbsDifference(x, y))")
    }
    #expect(try a.intAttribute("step") == b.intAttribute("step"))
    return referenceSplit
}

/// Writes the split lists and one features artifact per video (`pool4` and `conv5_3`, each
/// `[T, side, side, channels]` float32) where a Gaussian blob moves one way per class over a
/// static distractor blob and noise: only the motion tells the classes apart. Returns the
/// features folder.
@discardableResult
func makeMotionFeatures(in dir: URL, config: URL, fixture f: MotionFixture = MotionFixture()) throws -> URL {
    let root = dir.appendingPathComponent("motion/ucfTrainTestlist")
    try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    let classInd = motionClasses.enumerated().map { "\($0.offset + 1) \($0.element)" }.joined(separator: "\n") + "\n"
    try classInd.write(to: root.appendingPathComponent("classInd.txt"), atomically: true, encoding: .utf8)
    var trainList = "", testList = ""
    let pipeline = try PipelineConfig.load(from: config)
    let folder = try ArtifactLayout(pipeline).featuresFolder
    var random = SplitMix64(seed: f.seed)
    let pattern = (0..<f.channels).map { _ in Float(0.2 + random.nextUniform()) }
    let distractorPattern = (0..<f.channels).map { _ in Float(random.nextUniform()) }
    let speed = 0.45
    for (label, name) in motionClasses.enumerated() {
        for v in 0..<(f.trainPerClass + f.testPerClass) {
            let path = "\(name)/v_\(name)_g\(String(format: "%02d", v + 1))_c01.avi"
            if v < f.trainPerClass { trainList += "\(path) \(label + 1)\n" } else { testList += "\(path)\n" }
            let travel = speed * Double(f.frames - 1)
            let margin = (Double(f.side - 1) - travel) / 2
            let along = margin + random.nextUniform() * 0.5
            let across = 1 + random.nextUniform() * Double(f.side - 3)
            let (dx, dy): (Double, Double) = [(speed, 0), (-speed, 0), (0, speed), (0, -speed)][label]
            let x0 = dx > 0 ? along : dx < 0 ? Double(f.side - 1) - along : across
            let y0 = dy > 0 ? along : dy < 0 ? Double(f.side - 1) - along : across
            let distractor = (random.nextUniform() * Double(f.side - 1), random.nextUniform() * Double(f.side - 1))
            var maps = [Float](repeating: 0, count: f.frames * f.side * f.side * f.channels)
            for t in 0..<f.frames {
                let (cx, cy) = (x0 + dx * Double(t), y0 + dy * Double(t))
                for h in 0..<f.side {
                    for w in 0..<f.side {
                        let blob = Float(exp(-(pow(Double(w) - cx, 2) + pow(Double(h) - cy, 2)) / 2))
                        let still = Float(exp(-(pow(Double(w) - distractor.0, 2) + pow(Double(h) - distractor.1, 2)) / 2))
                        for c in 0..<f.channels {
                            let noise = Float(random.nextUniform()) * 0.1
                            maps[((t * f.side + h) * f.side + w) * f.channels + c] = blob * pattern[c] + still * distractorPattern[c] + noise
                        }
                    }
                }
            }
            let url = PipelineConfig.artifactURL(forVideo: path, in: folder)
            let writer = try ArtifactWriter(url: url, header: ArtifactHeader(
                kind: .features, producer: "test", configDigest: folder.lastPathComponent, config: "{}", source: path))
            let file = writer.file!
            let shape = [f.frames, f.side, f.side, f.channels]
            try file.write("pool4", maps, shape: shape)
            // conv5_3: the same motion, another channel mix (reversed), so both branches learn.
            try file.write("conv5_3", maps.enumerated().map { $0.element * (1 + Float($0.offset % 3) * 0.1) }, shape: shape)
            try file.write("frame_index", (0..<f.frames).map { Int32($0 * 2) }, shape: [f.frames])
            try file.setAttribute("video", path)
            try file.setAttribute("class_name", name)
            try file.setAttribute("label", label)
            try writer.publish()
        }
    }
    try trainList.write(to: root.appendingPathComponent("trainlist01.txt"), atomically: true, encoding: .utf8)
    try testList.write(to: root.appendingPathComponent("testlist01.txt"), atomically: true, encoding: .utf8)
    return folder
}

/// The stage's one digest folder (`<root>/tiny/cubes/<digest>`).
func cubesFolder(_ dir: URL, artifacts: String = "artifacts") throws -> URL {
    try stageFolder(dir.appendingPathComponent(artifacts), "cubes")
}

let quietProgress = ProgressReporter(label: "test", interactive: false, interval: 0)

/// A small, fast training configuration.
let smallC3D = """
    "clip_length": 8, "clip_stride": 2, "conv1_width": 8, "conv2_width": 8, "hidden_width": 16,
    "epochs": 12, "batch": 8, "learning_rate": 0.01, "checkpoint_every": 5, "seed": 1
    """

// MARK: - Tests

@Suite(.serialized) struct C3DStageTests {
    @Test func learnsMotionWellAboveChanceAndExportsCubes() throws {
        try withTemporaryDirectory { dir in
            let configURL = try writeC3DConfig(in: dir, c3d: smallC3D)
            try makeMotionFeatures(in: dir, config: configURL)
            let config = try PipelineConfig.load(from: configURL)
            let report = try C3DStage.run(config: config, policy: RunPolicy(workers: 1), progress: quietProgress)
            #expect(report.succeeded, "\(report.failures)")
            #expect(report.completed == 48 && report.totalUnits == 48)

            let folder = try cubesFolder(dir)
            let split = folder.appendingPathComponent("split1")
            let log = try #require(try JSONValue.read(contentsOf: split.appendingPathComponent("training-log.json")).arrayValue)
            #expect(log.count == 12)
            // Deep supervision on the test split (16 videos × 3 clips); chance is 1/4.
            let accuracy = try #require(log.last?["validation"]?["clip_accuracy"]?.doubleValue)
            let stepAccuracy = try #require(log.last?["validation"]?["accuracy"]?.doubleValue)
            #expect(accuracy >= 0.75, "test clip accuracy \(accuracy), chance 0.25")
            #expect(stepAccuracy >= 0.5, "test per-step accuracy \(stepAccuracy), chance 0.25")
            let firstLoss = try #require(log.first?["train"]?["loss"]?.doubleValue)
            let lastLoss = try #require(log.last?["train"]?["loss"]?.doubleValue)
            #expect(lastLoss < firstLoss * 0.7, "train loss \(firstLoss) → \(lastLoss)")

            // A cube: [T, K, K, N] per branch, K = 8 → same → pool 4 → 4, N = conv2_width.
            let reader = try ArtifactReader(url: split.appendingPathComponent("MoveUp/v_MoveUp_g10_c01.h5"), expecting: .cubes)
            let file = reader.file
            for tap in ["pool4", "conv5_3"] {
                let (cube, shape) = try file.read("cube/\(tap)", as: Float.self)
                #expect(shape == [12, 4, 4, 8])
                #expect(cube.allSatisfy { $0 >= 0 } && cube.contains { $0 > 0 })
            }
            #expect(try file.read("frame_index", as: Int32.self).data == (0..<12).map { Int32($0 * 2) })
            #expect(try file.stringAttribute("subset") == "test")
            #expect(try file.intAttribute("label") == 3)
            #expect(try file.stringAttribute("class_name") == "MoveUp")
            #expect(try file.intAttribute("grid") == 4)
            #expect(try file.stringAttribute("middle") == "3d")
            #expect(reader.header.configDigest == folder.lastPathComponent)

            // The exported cube is the trained model's: recompute it from the checkpoint.
            let (checkpoint, _) = try TrainingCheckpoint.read(from: split.appendingPathComponent("checkpoint.h5"), expecting: .c3dCheckpoint)
            #expect(checkpoint.state.epoch == 12 && checkpoint.log.count == 12)
            let shape = FeaturesArtifact.MapShape(height: 8, width: 8, channels: 8)
            // The input standardization is recorded once per split, not in each cube (cubes schema 2).
            #expect(!file.hasAttribute("input_mean_pool4") && !file.hasAttribute("input_scale_conv5_3"))
            let splitFiles = try FileManager.default.contentsOfDirectory(atPath: split.path)
            #expect(splitFiles.filter { $0.hasPrefix("normalization") } == ["normalization.h5"], "\(splitFiles)")
            let recorded = try NormalizationArtifact.read(split.appendingPathComponent("normalization.h5"),
                                                          branches: ["pool4", "conv5_3"])
            #expect(recorded.inputs == "features" && recorded.split == 1 && recorded.trainingVideos > 0)
            let normalization = (0..<2).map { InputNormalization(mean: recorded.mean[$0], scale: recorded.scale[$0]) }
            #expect(normalization.allSatisfy { $0.mean.count == 8 && $0.scale.allSatisfy { $0 > 0 } }, "\(normalization)")
            let model = C3DModel(settings: config.c3d, mapShape: shape, classCount: 4, round: 1, inputNormalization: normalization)
            checkpoint.restore(into: model.store)
            let featuresURL = URL(fileURLWithPath: reader.header.source)
            #expect(config.c3d.centering == .video)
            #expect(try file.stringAttribute("centering") == "video")
            let (video, _) = try C3DVideo.scan(
                featuresURL, entry: VideoEntry(relativePath: "MoveUp/v_MoveUp_g10_c01.avi", label: 3, className: "MoveUp"),
                settings: config.c3d, expected: nil)
            // The mean map centring subtracts is the per-element mean over the video's frames.
            let (maps, mapsShape) = try HDF5File.open(at: featuresURL).read("pool4", as: Float.self)
            let perFrame = mapsShape[1] * mapsShape[2] * mapsShape[3]
            let naiveMean = (0..<perFrame).map { i in
                (0..<mapsShape[0]).reduce(0.0) { $0 + Double(maps[$1 * perFrame + i]) } / Double(mapsShape[0])
            }
            expectClose(video.meanMaps[0], naiveMean, rtol: 1e-6, atol: 1e-6, "pool4 mean map")
            let cubes = try model.cubes(for: video)
            #expect(cubes[0] == (try file.read("cube/pool4", as: Float.self).data))

            // Rerun: nothing to do.
            let again = try C3DStage.run(config: config, policy: RunPolicy(workers: 1), progress: quietProgress)
            #expect(again.completed == 0 && again.skipped == 48)
        }
    }

    @Test func killedTrainingResumesToBitIdenticalWeightsAndCubes() throws {
        try withTemporaryDirectory { dir in
            let configURL = try makeInterruptibleC3DRun(in: dir, checkpointEvery: 2)

            let process = try launch("jam-c3d", ["--config", configURL.path, "--threads", "2"], in: dir)
            let base = dir.appendingPathComponent("artifacts/tiny/cubes")
            let started = waitUntil(timeout: 120) {
                guard let walker = FileManager.default.enumerator(atPath: base.path) else { return false }
                return walker.contains { ($0 as? String)?.hasSuffix("checkpoint.h5") == true }
            }
            #expect(started)
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            #expect(process.terminationReason == .uncaughtSignal, "jam-c3d finished before it could be killed")
            let split = try cubesFolder(dir).appendingPathComponent("split1")
            let (interrupted, _) = try TrainingCheckpoint.read(from: split.appendingPathComponent("checkpoint.h5"), expecting: .c3dCheckpoint)
            #expect(interrupted.state.epoch < 3, "the kill came after training finished")

            let referenceSplit = try resumeToTheReference(in: dir, config: configURL, split: split)
            let cubes = artifactFiles(under: split)
            #expect(cubes.count == 20 + 2)  // 20 videos, the checkpoint and the split's normalization
            let branches = ["pool4", "conv5_3"]
            #expect(try NormalizationArtifact.read(split.appendingPathComponent("normalization.h5"), branches: branches)
                    == NormalizationArtifact.read(referenceSplit.appendingPathComponent("normalization.h5"), branches: branches))
            for name in cubes where name != "checkpoint.h5" && name != "normalization.h5" {
                let x = try HDF5File.open(at: split.appendingPathComponent(name))
                let y = try HDF5File.open(at: referenceSplit.appendingPathComponent(name))
                #expect(try x.read("cube/pool4", as: Float.self).data == y.read("cube/pool4", as: Float.self).data, "\(name)")
                #expect(try x.read("cube/conv5_3", as: Float.self).data == y.read("cube/conv5_3", as: Float.self).data, "\(name)")
            }
        }
    }

    @Test func divergingTrainingStopsAndKeepsTheLastGoodCheckpoint() throws {
        try withTemporaryDirectory { dir in
            // A learning rate of 1e30 moves every weight by about 1e30 in Adam's first step;
            // the next forward pass overflows.
            let configURL = try writeC3DConfig(in: dir, c3d: smallC3D.replacingOccurrences(of: "\"learning_rate\": 0.01", with: "\"learning_rate\": 1e30")
                .replacingOccurrences(of: "\"checkpoint_every\": 5", with: "\"checkpoint_every\": 1"))
            try makeMotionFeatures(in: dir, config: configURL, fixture: MotionFixture(trainPerClass: 3, testPerClass: 1))
            let config = try PipelineConfig.load(from: configURL)
            var caught: TrainingDiverged?
            do {
                _ = try C3DStage.run(config: config, policy: RunPolicy(workers: 1), progress: quietProgress)
            } catch let error as TrainingDiverged {
                caught = error
            }
            let error = try #require(caught, "training with lr 1e30 did not stop")
            #expect(error.description.contains("training diverged at epoch 1, step \(error.step + 1)"), "\(error)")
            #expect(error.description.contains("non-finite") || error.description.contains("loss is"), "\(error)")
            let split = try cubesFolder(dir).appendingPathComponent("split1")
            let url = split.appendingPathComponent("checkpoint.h5")
            let kept = try #require(error.keptCheckpoint)
            #expect(kept.step == error.step)
            #expect(error.description.contains(url.path))
            let (checkpoint, _) = try TrainingCheckpoint.read(from: url, expecting: .c3dCheckpoint)
            #expect(checkpoint.state.step == error.step)
            #expect(checkpoint.values.allSatisfy { $0.isFinite })
            // No cube was exported from a diverged model (the normalization is written before training).
            #expect(artifactFiles(under: split) == ["checkpoint.h5", "normalization.h5"])
        }
    }

    @Test func badFeaturesAreReportedAndTheOthersGoOn() throws {
        try withTemporaryDirectory { dir in
            // middle = none: no training; the features are pooled to K×K (K = 4 here).
            let configURL = try writeC3DConfig(in: dir, c3d: "\"middle\": \"none\"")
            let features = try makeMotionFeatures(in: dir, config: configURL, fixture: MotionFixture(trainPerClass: 3, testPerClass: 1))
            let fm = FileManager.default
            // Missing, truncated, wrong kind, NaN.
            try fm.removeItem(at: features.appendingPathComponent("MoveRight/v_MoveRight_g01_c01.h5"))
            let truncated = features.appendingPathComponent("MoveRight/v_MoveRight_g02_c01.h5")
            let bytes = try Data(contentsOf: truncated)
            try bytes.prefix(bytes.count / 3).write(to: truncated)
            let wrongKind = features.appendingPathComponent("MoveLeft/v_MoveLeft_g01_c01.h5")
            try fm.removeItem(at: wrongKind)
            let frames = try ArtifactWriter(url: wrongKind, header: ArtifactHeader(kind: .frames, producer: "jam-decode 0", configDigest: "x", config: "{}", source: "v"))
            try frames.file!.write("frames", [UInt8](repeating: 0, count: 12), shape: [1, 2, 2, 3])
            try frames.publish()
            let withNaN = features.appendingPathComponent("MoveLeft/v_MoveLeft_g02_c01.h5")
            do {
                let file = try HDF5File.open(at: withNaN, writable: true)
                try [Float.nan].withUnsafeBufferPointer {
                    try file.openDataset("conv5_3").write(buffer: $0, at: [5, 1, 2, 3], shape: [1, 1, 1, 1])
                }
                try file.flush()
            }

            let config = try PipelineConfig.load(from: configURL)
            let report = try C3DStage.run(config: config, policy: RunPolicy(workers: 2), progress: quietProgress)
            #expect(!report.succeeded)
            #expect(report.completed == 12)
            let reasons = Dictionary(uniqueKeysWithValues: report.failures.map { (URL(fileURLWithPath: $0.file).lastPathComponent, $0.reason) })
            #expect(reasons.count == 4)
            #expect(reasons["v_MoveRight_g01_c01.h5"]?.contains("run jam-features") == true, "\(reasons)")
            #expect(reasons["v_MoveRight_g02_c01.h5"]?.contains("truncated or corrupt") == true, "\(reasons)")
            #expect(reasons["v_MoveLeft_g01_c01.h5"]?.contains("found a 'frames' artifact") == true, "\(reasons)")
            #expect(reasons["v_MoveLeft_g02_c01.h5"]?.contains("nan at frame 5") == true, "\(reasons)")
            let folder = try cubesFolder(dir)
            let saved = try JSONValue.read(contentsOf: folder.appendingPathComponent("stage-report.json"))
            #expect(saved["failures"]?.arrayValue?.count == 4)

            // The pooled cube against a naive 2×2 block mean of the features, each centred on the
            // video's mean over its 12 frames (c3d.centering = video, the default).
            let video = "MoveDown/v_MoveDown_g04_c01"
            let cube = try ArtifactReader(url: folder.appendingPathComponent("split1/\(video).h5"), expecting: .cubes)
            let (pooled, shape) = try cube.file.read("cube/pool4", as: Float.self)
            #expect(shape == [12, 4, 4, 8])
            #expect(try cube.file.stringAttribute("subset") == "test")
            let (maps, _) = try HDF5File.open(at: features.appendingPathComponent("\(video).h5")).read("pool4", as: Float.self)
            let perFrame = 8 * 8 * 8
            let mean = (0..<perFrame).map { i in (0..<12).reduce(Float(0)) { $0 + maps[$1 * perFrame + i] } / 12 }
            var expected = [Float](repeating: 0, count: pooled.count)
            for t in 0..<12 { for i in 0..<4 { for j in 0..<4 { for c in 0..<8 {
                var sum: Float = 0
                for h in (2 * i)..<(2 * i + 2) { for w in (2 * j)..<(2 * j + 2) {
                    let e = (h * 8 + w) * 8 + c
                    sum += maps[t * perFrame + e] - mean[e]
                } }
                expected[((t * 4 + i) * 4 + j) * 8 + c] = sum / 4
            } } } }
            expectClose(pooled, expected, rtol: 1e-5, atol: 1e-5, "pooled cube")
            #expect(try cube.file.stringAttribute("centering") == "video")

            // The command exits non-zero.
            let run = try runExecutable("jam-c3d", ["--config", configURL.path], in: dir)
            #expect(run.status == 1)
            #expect(run.stderr.contains("4 unit(s) failed"), "\(run.stderr)")
        }
    }

    @Test func laterRoundsNeedTheLSTMsAttention() throws {
        try withTemporaryDirectory { dir in
            let configURL = try writeC3DConfig(in: dir, c3d: smallC3D.replacingOccurrences(of: "\"epochs\": 12", with: "\"epochs\": 1"))
            try makeMotionFeatures(in: dir, config: configURL, fixture: MotionFixture(trainPerClass: 2, testPerClass: 1))
            let config = try PipelineConfig.load(from: configURL)
            #expect { _ = try C3DStage.run(config: config, policy: RunPolicy(), round: 2, progress: quietProgress) }
                throws: { "\($0)".contains("jam-lstm") && "\($0)".contains("--attention") }

            // Attention of the wrong size (K·K = 9, the cubes have 16 locations).
            let attention = dir.appendingPathComponent("artifacts/tiny/attention/0123456789abcdef")
            func writeAttention(locations: Int, epochs: Int = config.lstm.epochs) throws {
                // What jam-lstm records before exporting: the epochs of the model that made the maps.
                try FileManager.default.createDirectory(at: attention.appendingPathComponent("split1"), withIntermediateDirectories: true)
                try #"{"epochs": \#(epochs)}"#.write(to: attention.appendingPathComponent("split1/export.json"), atomically: true, encoding: .utf8)
                for (label, name) in motionClasses.enumerated() {
                    for v in 0..<2 {
                        let path = "\(name)/v_\(name)_g0\(v + 1)_c01.avi"
                        let url = PipelineConfig.artifactURL(forVideo: path, in: attention.appendingPathComponent("split1"))
                        let writer = try ArtifactWriter(url: url, header: ArtifactHeader(kind: .attention, producer: "jam-lstm 0", configDigest: "0123456789abcdef", config: "{}", source: path))
                        // Attention on one column per class, a target the cubes can meet.
                        var maps = [Float](repeating: 0, count: 12 * locations)
                        for t in 0..<12 { maps[t * locations + (label % locations)] = 1 }
                        try writer.file!.write("attention", maps, shape: [12, locations])
                        try writer.publish()
                    }
                }
            }
            try writeAttention(locations: 9)
            #expect { _ = try C3DStage.run(config: config, policy: RunPolicy(), round: 2, attentionFolder: attention, progress: quietProgress) }
                throws: { "\($0)".contains("[12, 16]") && "\($0)".contains("rerun jam-lstm") }

            // Maps of an LSTM trained for other epochs than this config's lstm.epochs are refused.
            try writeAttention(locations: 16, epochs: config.lstm.epochs - 1)
            #expect { _ = try C3DStage.run(config: config, policy: RunPolicy(), round: 2, attentionFolder: attention, progress: quietProgress) }
                throws: { "\($0)".contains("trained \(config.lstm.epochs - 1) epochs") && "\($0)".contains("lstm.epochs") }

            try writeAttention(locations: 16)
            let report = try C3DStage.run(config: config, policy: RunPolicy(), round: 2, attentionFolder: attention, progress: quietProgress)
            #expect(report.succeeded, "\(report.failures)")
            let round1 = try C3DStage(config: config, round: 1)
            let round2 = try C3DStage(config: config, round: 2, attentionFolder: attention)
            #expect(round1.folder != round2.folder)
            #expect(round2.settings.canonicalJSON.contains("\"attention\":\"0123456789abcdef\""))
            let log = try JSONValue.read(contentsOf: round2.folder.appendingPathComponent("split1/training-log.json"))
            #expect(log.arrayValue?.first?["train"]?["attention_pool4"]?.doubleValue != nil)
            let cube = try ArtifactReader(url: round2.folder.appendingPathComponent("split1/MoveUp/v_MoveUp_g01_c01.h5"), expecting: .cubes)
            #expect(try cube.file.doubleAttribute("attention_weight") == 10, "the default λ")
            #expect(try cube.file.intAttribute("round") == 2)
        }
    }

    @Test func twoDMiddleAndTemporallyValidKernelsShapeTheCube() throws {
        let fewEpochs = smallC3D.replacingOccurrences(of: "\"epochs\": 12", with: "\"epochs\": 1")
        try withTemporaryDirectory { dir in
            // middle = 2d: kt = 1, so conv kernels are [1, 3, 3, Cin, W].
            let configURL = try writeC3DConfig(in: dir, c3d: fewEpochs + ", \"middle\": \"2d\"")
            try makeMotionFeatures(in: dir, config: configURL, fixture: MotionFixture(trainPerClass: 2, testPerClass: 1))
            let report = try C3DStage.run(config: try PipelineConfig.load(from: configURL), policy: RunPolicy(), progress: quietProgress)
            #expect(report.succeeded)
            let split = try cubesFolder(dir).appendingPathComponent("split1")
            let (checkpoint, _) = try TrainingCheckpoint.read(from: split.appendingPathComponent("checkpoint.h5"), expecting: .c3dCheckpoint)
            #expect(checkpoint.manifest.first { $0.name == "pool4.conv1.kernel" }?.shape == [1, 3, 3, 8, 8])
            #expect(checkpoint.manifest.first { $0.name == "conv5_3.conv2.kernel" }?.shape == [1, 3, 3, 8, 8])
        }
        try withTemporaryDirectory { dir in
            // A temporally valid conv1 (kt = 3) drops one step at each end: T2 = 12 − 2, and
            // cube step j is features frame j + 1.
            let configURL = try writeC3DConfig(in: dir, c3d: fewEpochs + ", \"conv1_temporal_padding\": \"valid\"")
            try makeMotionFeatures(in: dir, config: configURL, fixture: MotionFixture(trainPerClass: 2, testPerClass: 1))
            let report = try C3DStage.run(config: try PipelineConfig.load(from: configURL), policy: RunPolicy(), progress: quietProgress)
            #expect(report.succeeded)
            let cube = try ArtifactReader(url: try cubesFolder(dir).appendingPathComponent("split1/MoveLeft/v_MoveLeft_g03_c01.h5"), expecting: .cubes)
            #expect(try cube.file.read("cube/conv5_3", as: Float.self).shape == [10, 4, 4, 8])
            #expect(try cube.file.read("frame_index", as: Int32.self).data == (1...10).map { Int32($0 * 2) })
            #expect(try cube.file.intAttribute("time_offset") == 1)
        }
    }

    @Test func digestHoldsWhatChangesTheCubes() throws {
        func config(_ c3d: String) throws -> PipelineConfig {
            try PipelineConfig(document: try JSONValue.parse("{\"c3d\": {\(c3d)}}", file: "test.json"), file: "test.json", baseDirectory: URL(fileURLWithPath: "/tmp"))
        }
        let base = try config("")
        let digest = try base.c3dDigest(featuresDigest: "f")
        #expect(try config("\"threads\": 7, \"checkpoint_every\": 3, \"rounds\": 4").c3dDigest(featuresDigest: "f") == digest)
        // More epochs continue the same model in the same folder (docs/ARTIFACTS.md, export.json).
        #expect(try config("\"epochs\": 99, \"log_every_steps\": 1").c3dDigest(featuresDigest: "f") == digest)
        #expect(try config("\"attention_weight\": 5").c3dDigest(featuresDigest: "f") == digest, "round 1 trains with λ = 0")
        #expect(try config("\"batch\": 3").c3dDigest(featuresDigest: "f") != digest)
        #expect(try config("\"conv1_width\": 3").c3dDigest(featuresDigest: "f") != digest)
        #expect(try base.c3dDigest(featuresDigest: "g") != digest)
        #expect(throws: JAMError.self) { try base.c3dDigest(featuresDigest: "f", round: 2) }
        #expect(try base.c3dDigest(featuresDigest: "f", round: 2, attentionDigest: "a") != base.c3dDigest(featuresDigest: "f", round: 2, attentionDigest: "b"))
        // Bad values name the JSON path.
        #expect { _ = try config("\"branches\": [\"pool4\", \"pool5\"]") } throws: { "\($0)".contains("$.c3d.branches[1]") }
        #expect { _ = try config("\"middle\": \"4d\"") } throws: { "\($0)".contains("$.c3d.middle") }
        #expect { _ = try config("\"clip_lenght\": 3") } throws: { "\($0)".contains("unknown key") }
    }
}
