import Foundation
import JAMArtifacts
import JAMConfig
import JAMCore
import JAMStages
import JAMTestSupport
import JAMTraining
import Testing

/// Raising `epochs` continues a finished training run from its checkpoint and re-exports
/// (docs/ARTIFACTS.md, `export.json`): the result equals a run planned that long from the
/// start, bit for bit at the same thread count; lowering it is refused; and whatever reads the
/// exports checks that they are of the epochs its own settings name.
@Suite(.serialized) struct EpochsTests {
    /// The `lstm` section with `epochs` as given, logging every step.
    func section(epochs: Int) -> String {
        lstmSection(hidden: 16, layers: 1, clip: 6, stride: 2, epochs: epochs, batch: 4, checkpointEvery: 2,
                    extra: #", "log_every_steps": 1"#)
    }

    func setEpochs(_ epochs: Int, in fixture: LSTMFixture) throws {
        let text = try String(contentsOf: fixture.config, encoding: .utf8)
        let changed = text.replacing(#/"epochs": \d+/#, with: "\"epochs\": \(epochs)", maxReplacements: 1)
        try changed.write(to: fixture.config, atomically: true, encoding: .utf8)
    }

    @Test func jamLSTMFromTwoToThreeEpochsTrainsOneMoreAndReexports() throws {
        try withTemporaryDirectory { dir in
            let straightDir = dir.appendingPathComponent("straight", isDirectory: true)
            let continuedDir = dir.appendingPathComponent("continued", isDirectory: true)
            for folder in [straightDir, continuedDir] {
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            }
            let straight = try LSTMFixture(in: straightDir, lstm: section(epochs: 3), trainPerClass: 3, testPerClass: 1)
            let continued = try LSTMFixture(in: continuedDir, lstm: section(epochs: 2), trainPerClass: 3, testPerClass: 1)
            #expect(try straight.plan().folder.lastPathComponent == continued.plan().folder.lastPathComponent,
                    "epochs are not in the folder's digest")

            let reference = try runExecutable("jam-lstm", ["--config", straight.config.path, "--threads", "1"], in: straightDir)
            #expect(reference.status == 0, "\(reference.stderr)")
            let two = try runExecutable("jam-lstm", ["--config", continued.config.path, "--threads", "1"], in: continuedDir)
            #expect(two.status == 0, "\(two.stderr)")
            let attentionSplit = ArtifactLayout.splitFolder(try continued.plan().attentionFolder, split: 1)
            let (twoEpochs, _) = try TrainingCheckpoint.read(from: continued.checkpointURL(), expecting: .lstmCheckpoint)
            #expect(twoEpochs.state.epoch == 2)
            let video = continued.videos[0].path
            let twoEpochStep = try HDF5File.open(at: continued.attentionURL(video)).intAttribute("checkpoint_step")
            #expect(twoEpochStep == twoEpochs.state.step)
            #expect(try JSONValue.read(contentsOf: attentionSplit.appendingPathComponent("export.json"))["epochs"]?.intValue == 2)

            // Training logs every step (log_every_steps 1), with the ETA, in a log that is not a terminal.
            let stepsPerEpoch = twoEpochs.state.step / 2
            let stepLines = two.stderr.split(separator: "\n").filter { $0.contains("steps/s, ETA ") }
            #expect(stepLines.count == 2 * stepsPerEpoch, "\(two.stderr)")
            #expect(stepLines.first?.contains("split 1: epoch 1/2, step 1/\(2 * stepsPerEpoch): loss ") == true, "\(two.stderr)")

            try setEpochs(3, in: continued)
            let three = try runExecutable("jam-lstm", ["--config", continued.config.path, "--threads", "1"], in: continuedDir)
            #expect(three.status == 0, "\(three.stderr)")
            #expect(three.stderr.contains("continuing the finished run in checkpoint.h5 (2 epochs"), "\(three.stderr)")
            // Exactly one more epoch ran in this process: its steps are those of epoch 3 only.
            let continuedSteps = three.stderr.split(separator: "\n").compactMap { line in
                line.firstMatch(of: #/epoch (\d+)/3, step (\d+)/(\d+):/#).map { (Int($0.1)!, Int($0.2)!) }
            }
            #expect(continuedSteps.map(\.0) == Array(repeating: 3, count: stepsPerEpoch), "\(three.stderr)")
            #expect(continuedSteps.map(\.1) == Array((2 * stepsPerEpoch + 1)...(3 * stepsPerEpoch)))
            #expect(three.stderr.contains("removed 16 exports of the 2-epoch model"), "\(three.stderr)")

            let (a, _) = try TrainingCheckpoint.read(from: straight.checkpointURL(), expecting: .lstmCheckpoint)
            let (b, _) = try TrainingCheckpoint.read(from: continued.checkpointURL(), expecting: .lstmCheckpoint)
            #expect(a.state.epoch == 3 && b.state.epoch == 3 && a.state.step == b.state.step)
            #expect(a.values == b.values, "weights differ; max |diff| \(maxAbsDifference(a.values, b.values))")
            #expect(a.optimizer == b.optimizer)
            #expect(a.log.map(\.train) == b.log.map(\.train) && a.log.map(\.validation) == b.log.map(\.validation))
            // Every export is the 3-epoch model's, equal to the straight run's.
            #expect(try JSONValue.read(contentsOf: attentionSplit.appendingPathComponent("export.json"))["epochs"]?.intValue == 3)
            for (path, _) in straight.videos {
                let x = try artifactContents(straight.attentionURL(path)).filter { $0.key != "@jam_source" }
                let y = try artifactContents(continued.attentionURL(path)).filter { $0.key != "@jam_source" }
                #expect(x == y, "\(path)")
                #expect(try HDF5File.open(at: continued.attentionURL(path)).intAttribute("checkpoint_step") == b.state.step)
            }

            // Back to 2: refused (only the 3-epoch state is kept), and nothing is removed.
            try setEpochs(2, in: continued)
            let back = try runExecutable("jam-lstm", ["--config", continued.config.path, "--threads", "1"], in: continuedDir)
            #expect(back.status != 0)
            #expect(back.stderr.contains("trained 3 epochs") && back.stderr.contains("Set epochs to 3 or more"), "\(back.stderr)")
            #expect(FileManager.default.fileExists(atPath: try continued.attentionURL(video).path))
        }
    }

    /// jam-lstm reads only cubes of the convnet epochs its own digest names; jam-c3d's
    /// `export.json` says which.
    @Test func cubesOfOtherConvnetEpochsAreRefused() throws {
        try withTemporaryDirectory { dir in
            let fixture = try LSTMFixture(in: dir, lstm: section(epochs: 1), trainPerClass: 1, testPerClass: 1)
            let record = try fixture.cubesFolder().appendingPathComponent("export.json")
            // The fixture's convnet has the default epochs; its cubes claim one more.
            let epochs = C3DSettings().epochs
            try #"{"epochs": \#(epochs + 1)}"#.write(to: record, atomically: true, encoding: .utf8)
            #expect { _ = try fixture.run() } throws: { error in
                let text = "\(error)"
                return text.contains(record.path) && text.contains("trained \(epochs + 1) epochs")
                    && text.contains("c3d.epochs is \(epochs)")
                    && text.contains("jam-c3d --round 1")
            }
            try FileManager.default.removeItem(at: record)
            #expect { _ = try fixture.run() } throws: { "\($0)".contains("not (or not yet) exported") }
        }
    }

    /// The same for jam-c3d: 2 epochs, then 3, gives the weights and cubes of a 3-epoch run.
    @Test func jamC3DFromTwoToThreeEpochsEqualsAStraightRun() throws {
        try withTemporaryDirectory { dir in
            let c3d = { (epochs: Int) in """
                "clip_length": 8, "clip_stride": 3, "conv1_width": 8, "conv2_width": 8, "hidden_width": 8,
                "epochs": \(epochs), "batch": 4, "learning_rate": 0.003, "checkpoint_every": 0, "seed": 2
                """ }
            let fixture = MotionFixture(trainPerClass: 3, testPerClass: 1, frames: 12, side: 8, channels: 8)
            let straightURL = try writeC3DConfig(in: dir, name: "straight.json", artifacts: "straight", c3d: c3d(3))
            try makeMotionFeatures(in: dir, config: straightURL, fixture: fixture)
            try FileManager.default.copyItem(at: dir.appendingPathComponent("straight"), to: dir.appendingPathComponent("artifacts"))
            let policy = RunPolicy(workers: 1)
            #expect(try C3DStage.run(config: PipelineConfig.load(from: straightURL), policy: policy, progress: quietProgress).succeeded)

            let configURL = try writeC3DConfig(in: dir, c3d: c3d(2))
            #expect(try C3DStage.run(config: PipelineConfig.load(from: configURL), policy: policy, progress: quietProgress).succeeded)
            _ = try writeC3DConfig(in: dir, c3d: c3d(3))
            let report = try C3DStage.run(config: PipelineConfig.load(from: configURL), policy: policy, progress: quietProgress)
            #expect(report.succeeded && report.completed == 16, "every cube is redone: \(report.completed)")

            let split = try cubesFolder(dir).appendingPathComponent("split1")
            let referenceSplit = try cubesFolder(dir, artifacts: "straight").appendingPathComponent("split1")
            #expect(split.deletingLastPathComponent().lastPathComponent == referenceSplit.deletingLastPathComponent().lastPathComponent)
            let (a, _) = try TrainingCheckpoint.read(from: referenceSplit.appendingPathComponent("checkpoint.h5"), expecting: .c3dCheckpoint)
            let (b, _) = try TrainingCheckpoint.read(from: split.appendingPathComponent("checkpoint.h5"), expecting: .c3dCheckpoint)
            #expect(b.state.epoch == 3 && b.log.count == 3)
            #expect(a.values == b.values, "max |diff| \(maxAbsDifference(a.values, b.values))")
            let record = try JSONValue.read(contentsOf: split.appendingPathComponent("export.json"))
            #expect(record["epochs"]?.intValue == 3 && record["step"]?.intValue == b.state.step)
            for name in artifactFiles(under: split) where name != "checkpoint.h5" && name != "normalization.h5" {
                let x = try HDF5File.open(at: split.appendingPathComponent(name))
                let y = try HDF5File.open(at: referenceSplit.appendingPathComponent(name))
                #expect(try x.read("cube/pool4", as: Float.self).data == y.read("cube/pool4", as: Float.self).data, "\(name)")
                #expect(try x.read("cube/conv5_3", as: Float.self).data == y.read("cube/conv5_3", as: Float.self).data, "\(name)")
            }
        }
    }
}
