import Foundation
import JAMArtifacts
import JAMConfig
import JAMCore
import JAMModel
import JAMNN
import JAMStages
import JAMTestSupport
import JAMTraining
import Testing

// MARK: - Fixture: cubes made directly, a blob moving across a K×K grid

/// The four motion classes of the fixture, in class-index order.
let lstmFixtureClasses = ["MoveDown", "MoveLeft", "MoveRight", "MoveUp"]

/// A tiny UCF101-layout dataset (split files only: the LSTM stage reads cubes, not videos) and
/// a config whose `lstm` section is `lstm` (a JSON object body), with cubes artifacts written
/// where jam-c3d round 1 would write them.
///
/// Each video's cubes: background uniform in [0, 0.2) everywhere; a blob (value 1 + its
/// channel's pattern) at one cell that moves one cell per step in the class's direction, starting
/// off-grid or inside so that it crosses the whole grid: every class shows the same unordered set
/// of blob positions, only their ORDER tells the class. Both branches (`pool4` with 4 channels,
/// `conv5_3` with 3) see the same motion with different noise.
struct LSTMFixture {
    let dir: URL
    let config: URL
    let grid: Int
    let frames: Int
    let channels = [4, 3]

    init(in dir: URL, lstm: String, trainPerClass: Int = 6, testPerClass: Int = 2, frames: Int = 10,
         grid: Int = 4, seed: UInt64 = 11, splits: String = "[1]") throws {
        self.dir = dir
        self.grid = grid
        self.frames = frames
        let root = dir.appendingPathComponent("ds")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        try lstmFixtureClasses.enumerated().map { "\($0.offset + 1) \($0.element)" }.joined(separator: "\n")
            .write(to: root.appendingPathComponent("classInd.txt"), atomically: true, encoding: .utf8)
        var train: [String] = [], test: [String] = []
        for (c, name) in lstmFixtureClasses.enumerated() {
            for g in 0..<(trainPerClass + testPerClass) {
                let path = "\(name)/v_\(name)_g\(String(format: "%02d", g + 1))_c01.avi"
                if g < trainPerClass { train.append("\(path) \(c + 1)") } else { test.append(path) }
            }
        }
        for n in 1...3 {
            try train.joined(separator: "\n").write(to: root.appendingPathComponent("trainlist0\(n).txt"), atomically: true, encoding: .utf8)
            try test.joined(separator: "\n").write(to: root.appendingPathComponent("testlist0\(n).txt"), atomically: true, encoding: .utf8)
        }
        let text = """
            {
              "artifacts_root": "artifacts",
              "dataset": { "name": "tiny", "format": "ucf101", "root": "ds", "splits": \(splits), "synthetic": false },
              "features": { "weights": null, "init_seed": 3, "storage": "float32" },
              "c3d": { "branches": ["pool4", "conv5_3"] },
              "lstm": \(lstm)
            }
            """
        config = dir.appendingPathComponent("pipeline.json")
        try text.write(to: config, atomically: true, encoding: .utf8)

        var random = SplitMix64(seed: seed)
        func uniform() -> Float { Float(random.next() >> 40) / Float(1 << 24) }
        let pipeline = try PipelineConfig.load(from: config)
        for split in pipeline.dataset.splits {
            let folder = try cubesFolder(split: split)
            // What jam-c3d records before exporting: the epochs of the convnet that made the cubes.
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try #"{"epochs": \#(pipeline.c3d.epochs)}"#.write(to: folder.appendingPathComponent("export.json"), atomically: true, encoding: .utf8)
            for (c, name) in lstmFixtureClasses.enumerated() {
                for g in 0..<(trainPerClass + testPerClass) {
                    let path = "\(name)/v_\(name)_g\(String(format: "%02d", g + 1))_c01.avi"
                    let (dx, dy) = [(0, 1), (-1, 0), (1, 0), (0, -1)][c]
                    // Along the motion: start 0…2 cells before the grid's first cell; across: any row/column.
                    let along = -Int(random.next() % 3)
                    let across = Int(random.next() % UInt64(grid))
                    var cubes: [[Float]] = []
                    for n in channels {
                        var cube = [Float](repeating: 0, count: frames * grid * grid * n)
                        for i in cube.indices { cube[i] = 0.2 * uniform() }
                        for t in 0..<frames {
                            let position = along + t  // along the motion, from its entry side
                            let lead = dx + dy > 0 ? position : grid - 1 - position
                            let (x, y) = dx != 0 ? (lead, across) : (across, lead)
                            guard (0..<grid).contains(x), (0..<grid).contains(y) else { continue }
                            for k in 0..<n { cube[((t * grid + y) * grid + x) * n + k] += 1 + 0.25 * Float(k) }
                        }
                        cubes.append(cube)
                    }
                    try writeCubes(cubes, video: path, label: c, className: name,
                                   to: PipelineConfig.artifactURL(forVideo: path, in: folder))
                }
            }
        }
    }

    /// Where jam-c3d round 1 writes the cubes of `split` for this config.
    func cubesFolder(split: Int = 1) throws -> URL {
        ArtifactLayout.splitFolder(try plan().cubesFolder, split: split)
    }

    func plan() throws -> LSTMStage {
        try LSTMStage(config: try PipelineConfig.load(from: config), round: 1)
    }

    /// One video's `cubes` artifact as jam-c3d writes it.
    func writeCubes(_ cubes: [[Float]], video: String, label: Int, className: String, to url: URL) throws {
        let header = ArtifactHeader(kind: .cubes, producer: "test", configDigest: "test", config: "{}", source: video)
        let writer = try ArtifactWriter(url: url, header: header)
        let file = writer.file!
        for (k, branch) in ["pool4", "conv5_3"].enumerated() {
            try file.write("cube/\(branch)", cubes[k], shape: [frames, grid, grid, channels[k]])
        }
        try file.write("frame_index", (0..<frames).map { Int32(2 * $0) }, shape: [frames])
        try file.setAttribute("video", video)
        try file.setAttribute("class_name", className)
        try file.setAttribute("label", label)
        try writer.publish()
    }

    /// The exported attention artifact of `video`.
    func attentionURL(_ video: String, split: Int = 1) throws -> URL {
        PipelineConfig.artifactURL(forVideo: video, in: ArtifactLayout.splitFolder(try plan().attentionFolder, split: split))
    }

    func checkpointURL(split: Int = 1) throws -> URL {
        ArtifactLayout.splitFolder(try plan().folder, split: split).appendingPathComponent(ArtifactLayout.checkpointFileName)
    }

    func run(force: Bool = false, strict: Bool = false, threads: Int = 1) throws -> StageReport {
        let silent = ProgressReporter(label: "test", interactive: false, interval: 0)
        return try LSTMStage.run(config: try PipelineConfig.load(from: config),
                                 policy: RunPolicy(force: force, strict: strict, workers: threads), round: 1, progress: silent)
    }

    /// The fixture's videos: (path, label, is a test video).
    var videos: [(path: String, label: Int)] {
        let root = dir.appendingPathComponent("ds")
        let lines = ((try? String(contentsOf: root.appendingPathComponent("trainlist01.txt"), encoding: .utf8)) ?? "")
            + "\n" + ((try? String(contentsOf: root.appendingPathComponent("testlist01.txt"), encoding: .utf8)) ?? "")
        return lines.split(separator: "\n").map { line in
            let path = String(line.split(separator: " ")[0])
            return (path, lstmFixtureClasses.firstIndex(of: String(path.split(separator: "/")[0]))!)
        }
    }
}

/// A small, fast `lstm` section.
func lstmSection(hidden: Int = 16, layers: Int = 2, attention: String = "joint", clip: Int = 6, stride: Int = 2,
                 epochs: Int = 2, batch: Int = 4, learningRate: Double = 0.01, checkpointEvery: Int = 0,
                 extra: String = "") -> String {
    """
    { "hidden": \(hidden), "layers": \(layers), "attention": "\(attention)", "clip_length": \(clip),
      "clip_stride": \(stride), "vote_steps": \(min(4, clip)), "epochs": \(epochs), "batch": \(batch),
      "learning_rate": \(learningRate), "checkpoint_every": \(checkpointEvery), "seed": 9, "threads": 1\(extra) }
    """
}

// MARK: - Tests

@Suite struct LSTMStageTests {
    @Test func attentionArtifactsHaveTheDocumentedShapesAndMatchAnIndependentPrediction() throws {
        try withTemporaryDirectory { dir in
            let fixture = try LSTMFixture(in: dir, lstm: lstmSection(attention: "per_branch"), trainPerClass: 2, testPerClass: 1)
            let report = try fixture.run()
            #expect(report.succeeded, "\(report.failures)")
            #expect(report.totalUnits == 12 && report.completed == 12)

            // Rebuild the trained model from the checkpoint and predict one video's clips directly.
            let config = try PipelineConfig.load(from: fixture.config)
            let (checkpoint, _) = try TrainingCheckpoint.read(from: fixture.checkpointURL(), expecting: .lstmCheckpoint)
            let geometry = CubesArtifact.Geometry(branches: ["pool4", "conv5_3"], grid: 4, channels: fixture.channels)
            let model = try LSTMModel(settings: config.lstm, geometry: geometry, classCount: 4)
            checkpoint.restore(into: model.store)

            let video = "MoveLeft/v_MoveLeft_g03_c01.avi"  // a test video
            let file = try HDF5File.open(at: fixture.attentionURL(video))
            #expect(try file.stringAttribute("jam_artifact") == "attention")
            #expect(try file.stringAttribute("subset") == "test")
            #expect(try file.stringArrayAttribute("class_names") == lstmFixtureClasses)
            let (t, l1, s, c, m) = (10, 6, 16, 4, 2)
            // T = 10, L1 = 6, s = 2: starts 0, 2, 4 (4 + 6 = T: no tail clip needed).
            #expect(try file.read("clip_starts", as: Int32.self) == ([0, 2, 4], [3]))
            let (attention, attentionShape) = try file.read("attention", as: Float.self)
            let (perBranch, perBranchShape) = try file.read("attention_per_branch", as: Float.self)
            let (probabilities, probabilityShape) = try file.read("clip_probabilities", as: Float.self)
            #expect(attentionShape == [t, s] && perBranchShape == [t, m, s] && probabilityShape == [3, l1, c])
            #expect(try file.read("frame_index", as: Int32.self).data == (0..<10).map { Int32(2 * $0) })
            for row in 0..<(t * m) {
                let sum = perBranch[(row * s)..<((row + 1) * s)].reduce(0, +)
                #expect(abs(sum - 1) < 1e-5, "map \(row) sums to \(sum)")
            }
            for row in 0..<(3 * l1) {
                let sum = probabilities[(row * c)..<((row + 1) * c)].reduce(0, +)
                #expect(abs(sum - 1) < 1e-5, "probabilities \(row) sum to \(sum)")
            }

            // The independent route: each clip through `predict` alone, averaged per frame by hand.
            // The stage standardizes each branch's channels with the training cubes' mean and σ.
            func cubes(_ path: String) throws -> [[Float]] {
                let reader = try HDF5File.open(at: PipelineConfig.artifactURL(forVideo: path, in: fixture.cubesFolder()))
                return try ["pool4", "conv5_3"].map { try reader.read("cube/\($0)", as: Float.self).data }
            }
            let trainCubes = try lstmFixtureClasses.flatMap { name in
                try (1...2).map { try cubes("\(name)/v_\(name)_g0\($0)_c01.avi") }
            }
            let standardized = try cubes(video).enumerated().map { k, cube in
                let n = fixture.channels[k]
                return cube.enumerated().map { i, x in
                    let values = trainCubes.flatMap { $0[k].enumerated().filter { $0.offset % n == i % n }.map { Double($0.element) } }
                    let mean = values.reduce(0, +) / Double(values.count)
                    let sigma = (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count)).squareRoot()
                    return Float((Double(x) - mean) / sigma)
                }
            }
            // The standardization is recorded once per split beside the checkpoint.
            let recorded = try NormalizationArtifact.read(
                ArtifactLayout.splitFolder(try fixture.plan().folder, split: 1).appendingPathComponent("normalization.h5"),
                branches: ["pool4", "conv5_3"])
            #expect(recorded.inputs == "cubes" && recorded.trainingVideos == 8)
            for k in 0..<2 {
                let n = fixture.channels[k]
                let values = (0..<n).map { c in
                    trainCubes.flatMap { $0[k].enumerated().filter { $0.offset % n == c }.map { Double($0.element) } }
                }
                let mean = values.map { $0.reduce(0, +) / Double($0.count) }
                let sigma = zip(values, mean).map { v, m in (v.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(v.count)).squareRoot() }
                expectClose(recorded.mean[k], mean, rtol: 1e-5, atol: 1e-6, "branch \(k) mean")
                expectClose(recorded.scale[k], sigma.map { 1 / $0 }, rtol: 1e-4, atol: 1e-6, "branch \(k) scale")
            }
            var sums = [Double](repeating: 0, count: t * m * s)
            var counts = [Double](repeating: 0, count: t)
            var expectedProbabilities: [Float] = []
            for start in [0, 2, 4] {
                let clip = standardized.enumerated().map { k, cube in
                    let size = 16 * fixture.channels[k]
                    return Array(cube[(start * size)..<((start + l1) * size)])
                }
                let prediction = try model.classifier.predict(cubes: clip, batchSize: 1)
                expectedProbabilities += prediction.probabilities
                for j in 0..<l1 {
                    counts[start + j] += 1
                    for k in 0..<m {
                        for i in 0..<s { sums[((start + j) * m + k) * s + i] += Double(prediction.attention[k][j * s + i]) }
                    }
                }
            }
            let expectedPerBranch = (0..<(t * m * s)).map { Float(sums[$0] / counts[$0 / (m * s)]) }
            let expectedMean = (0..<(t * s)).map { (expectedPerBranch[($0 / s * m) * s + $0 % s]
                                                   + expectedPerBranch[($0 / s * m + 1) * s + $0 % s]) / 2 }
            expectClose(probabilities, expectedProbabilities, rtol: 1e-5, atol: 1e-6, "clip_probabilities")
            expectClose(perBranch, expectedPerBranch, rtol: 1e-5, atol: 1e-6, "attention_per_branch")
            expectClose(attention, expectedMean, rtol: 1e-5, atol: 1e-6, "attention")
            // The maps are not uniform: the model attends.
            #expect(attention.contains { abs($0 - 1 / Float(s)) > 1e-4 })
        }
    }

    @Test func meanPoolingExportsUniformMapsAndSaysSo() throws {
        try withTemporaryDirectory { dir in
            let fixture = try LSTMFixture(in: dir, lstm: lstmSection(attention: "none", clip: 4, stride: 4, epochs: 1),
                                          trainPerClass: 1, testPerClass: 1)
            #expect(try fixture.run().succeeded)
            let file = try HDF5File.open(at: fixture.attentionURL("MoveUp/v_MoveUp_g01_c01.avi"))
            #expect(try file.stringAttribute("attention_mode") == "none")
            #expect(try file.stringAttribute("attention_note")?.contains("uniform") == true)
            #expect(!file.contains("attention_per_branch"))
            // T = 10, L1 = 4, s = 4: starts 0, 4 and the tail clip 6 so that steps 8 and 9 are covered.
            #expect(try file.read("clip_starts", as: Int32.self).data == [0, 4, 6])
            let (maps, shape) = try file.read("attention", as: Float.self)
            #expect(shape == [10, 16])
            #expect(maps.allSatisfy { abs($0 - 1 / 16) < 1e-7 })
        }
    }

    @Test func badCubesAreReportedWithTheStageToRerunAndTheOthersGoOn() throws {
        try withTemporaryDirectory { dir in
            let fixture = try LSTMFixture(in: dir, lstm: lstmSection(epochs: 1), trainPerClass: 2, testPerClass: 1)
            let folder = try fixture.cubesFolder()
            // Wrong kind: a features artifact where a cube should be.
            let wrongKind = PipelineConfig.artifactURL(forVideo: "MoveDown/v_MoveDown_g01_c01.avi", in: folder)
            try FileManager.default.removeItem(at: wrongKind)
            let header = ArtifactHeader(kind: .features, producer: "test", configDigest: "x", config: "{}", source: "x")
            let writer = try ArtifactWriter(url: wrongKind, header: header)
            try writer.publish()
            // Missing, and not HDF5 at all.
            let missing = PipelineConfig.artifactURL(forVideo: "MoveLeft/v_MoveLeft_g02_c01.avi", in: folder)
            try FileManager.default.removeItem(at: missing)
            let garbage = PipelineConfig.artifactURL(forVideo: "MoveUp/v_MoveUp_g03_c01.avi", in: folder)
            try Data("not hdf5".utf8).write(to: garbage)

            let report = try fixture.run()
            #expect(!report.succeeded)
            #expect(report.totalUnits == 12 && report.completed == 9)
            let reasons = Dictionary(uniqueKeysWithValues: report.failures.map { ($0.file, $0.reason) })
            #expect(reasons.count == 3)
            let kind = try #require(reasons[wrongKind.path])
            #expect(kind.contains("found a 'features' artifact") && kind.contains("expected a 'cubes' artifact")
                    && kind.contains("rerun jam-c3d"), "\(kind)")
            #expect(reasons[missing.path]?.contains("run jam-c3d --round 1") == true, "\(reasons[missing.path] ?? "")")
            #expect(reasons[garbage.path]?.contains("jam-c3d") == true, "\(reasons[garbage.path] ?? "")")
            // The stage report beside the checkpoint folder records them.
            let saved = try Data(contentsOf: fixture.plan().folder.appendingPathComponent("stage-report.json"))
            #expect(String(decoding: saved, as: UTF8.self).contains("v_MoveLeft_g02_c01"))

            // --strict stops at the first bad cube, before training.
            let strict = try fixture.run(force: true, strict: true)
            #expect(strict.stoppedEarly && strict.failures.count == 1)
        }
    }

    @Test func divergingTrainingStopsAndKeepsTheLastGoodCheckpoint() throws {
        try withTemporaryDirectory { dir in
            // Adam moves every weight by about the learning rate: 1e38 overflows the next forward.
            let fixture = try LSTMFixture(in: dir, lstm: lstmSection(epochs: 2, learningRate: 1e38, checkpointEvery: 1),
                                          trainPerClass: 2, testPerClass: 1)
            var caught: TrainingDiverged?
            do {
                _ = try fixture.run()
            } catch let error as TrainingDiverged {
                caught = error
            }
            let error = try #require(caught, "training with learning rate 1e38 did not stop")
            let kept = try #require(error.keptCheckpoint)
            #expect(error.description.contains("diverged") && error.description.contains(kept.url.path))
            let (checkpoint, _) = try TrainingCheckpoint.read(from: fixture.checkpointURL(), expecting: .lstmCheckpoint)
            let (savedStep, keptStep, failedStep) = (checkpoint.state.step, kept.step, error.step)
            #expect(savedStep == keptStep && keptStep == failedStep && keptStep >= 1)
            #expect(checkpoint.values.allSatisfy { $0.isFinite })
            // Nothing was exported from a diverged model.
            let exported = try fixture.plan().attentionFolder.appendingPathComponent("split1/MoveUp")
            #expect(!FileManager.default.fileExists(atPath: exported.path))
        }
    }

    @Test func killedTrainingResumesToBitIdenticalWeightsAndAttention() throws {
        try withTemporaryDirectory { dir in
            let section = lstmSection(hidden: 48, layers: 2, clip: 6, stride: 1, epochs: 12, batch: 4, checkpointEvery: 3)
            let reference = dir.appendingPathComponent("reference", isDirectory: true)
            let killed = dir.appendingPathComponent("killed", isDirectory: true)
            let fixtures = try [reference, killed].map { folder in
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
                return try LSTMFixture(in: folder, lstm: section, trainPerClass: 3, testPerClass: 1)
            }
            let uninterrupted = try runExecutable("jam-lstm", ["--config", fixtures[0].config.path, "--threads", "1"], in: reference)
            #expect(uninterrupted.status == 0, "\(uninterrupted.stderr)")

            // Kill -9 once the first checkpoint exists, mid-training.
            let checkpoint = try fixtures[1].checkpointURL()
            let process = try launch("jam-lstm", ["--config", fixtures[1].config.path, "--threads", "1"], in: killed)
            #expect(waitUntil(timeout: 60) { FileManager.default.fileExists(atPath: checkpoint.path) })
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            #expect(process.terminationReason == .uncaughtSignal, "jam-lstm finished before it could be killed")
            let (partial, _) = try TrainingCheckpoint.read(from: checkpoint, expecting: .lstmCheckpoint)
            #expect(partial.state.epoch < 12, "the kill came after training ended")

            let resumed = try runExecutable("jam-lstm", ["--config", fixtures[1].config.path, "--threads", "1"], in: killed)
            #expect(resumed.status == 0, "\(resumed.stderr)")
            #expect(resumed.stderr.contains("resuming from checkpoint.h5"), "\(resumed.stderr)")

            let (a, _) = try TrainingCheckpoint.read(from: fixtures[0].checkpointURL(), expecting: .lstmCheckpoint)
            let (b, _) = try TrainingCheckpoint.read(from: checkpoint, expecting: .lstmCheckpoint)
            #expect(a.state.step == b.state.step && a.state.epoch == 12)
            #expect(a.values == b.values, "weights differ; max |diff| \(maxAbsDifference(a.values, b.values))")
            #expect(a.optimizer == b.optimizer)
            #expect(a.log.map(\.train) == b.log.map(\.train) && a.log.map(\.validation) == b.log.map(\.validation))
            for (path, _) in fixtures[0].videos {
                // Everything but the source path (the two runs read cubes in different folders).
                let x = try artifactContents(fixtures[0].attentionURL(path)).filter { $0.key != "@jam_source" }
                let y = try artifactContents(fixtures[1].attentionURL(path)).filter { $0.key != "@jam_source" }
                #expect(x == y, "\(path)")
            }

            // Done is done: a third run trains nothing and exports nothing.
            let again = try runExecutable("jam-lstm", ["--config", fixtures[1].config.path, "--threads", "1"], in: killed)
            #expect(again.status == 0 && again.stdout.contains("16 already done"), "\(again.stdout)")
        }
    }
}
