import Foundation
import JAMConfig
import JAMStages
import JAMTestSupport
import Testing

/// `jam-config estimate`: the arithmetic against a hand-worked case, the workload read from a
/// real dataset, and the command's output.
@Suite struct CostEstimateTests {
    /// S = 32 (maps 2×2, so the default 3D convnet's cube is 1×1×32 per branch), clips of 4
    /// every 4 for both trained stages, 2 rounds.
    static let training = """
        ,
          "c3d": { "clip_length": 4, "clip_stride": 4, "epochs": 2, "rounds": 2 },
          "lstm": { "clip_length": 4, "clip_stride": 4, "vote_steps": 2, "epochs": 3 }
        """

    @Test func hoursAndDiskAgreeWithAHandWorkedCase() throws {
        try withTemporaryDirectory { dir in
            let config = try PipelineConfig.load(
                from: try writeTinyConfig(in: dir, splits: "[1]", training: Self.training))
            // 10 videos of 8 frames: 6 train, 4 test; 2 clips per video.
            let workload = Workload.given(videos: 10, frames: 8, classCount: 6, splits: [1], trainShare: 0.6)
            #expect(workload.splits == [Workload.Split(split: 1, train: 6, test: 4)])
            #expect(workload.meanClips(length: 4, stride: 4) == 2)
            let costs = UnitCosts(decodePerFrame: 0.01, featuresPerFrame: 0.1, c3dTrainPerClip: 1, c3dForwardPerClip: 0.5,
                                  lstmTrainPerClip: 0.2, lstmForwardPerClip: 0.1)
            let e = CostEstimate(config: config, workload: workload, costs: costs)
            let hours = Dictionary(uniqueKeysWithValues: e.rows.map { ($0.stage, $0.hours * 3600) })
            #expect(abs(hours["jam-decode"]! - 80 * 0.01) < 1e-9)
            #expect(abs(hours["jam-features"]! - 80 * 0.1) < 1e-9)
            // c3d: 2 epochs × 2 branches × (12 train clips × 1 s + 8 test clips × 0.5 s), plus the
            // export of 10 videos × 2 clip-lengths × 2 branches × 0.5 s.
            for round in 1...2 {
                #expect(abs(hours["jam-c3d --round \(round)"]! - (2 * 2 * (12 * 1 + 8 * 0.5) + 10 * 2 * 2 * 0.5)) < 1e-9)
                // lstm: 3 epochs × (12 × 0.2 + 8 × 0.1), plus the export of 20 clips × 0.1 s.
                #expect(abs(hours["jam-lstm --round \(round)"]! - (3 * (12 * 0.2 + 8 * 0.1) + 20 * 0.1)) < 1e-9)
            }
            #expect(abs(e.totalHours * 3600 - (0.8 + 8 + 2 * 84 + 2 * 11.6)) < 1e-9)
            let disk = Dictionary(uniqueKeysWithValues: e.disk.map { ($0.kind, $0.bytes) })
            #expect(disk["frames"] == Double(80 * 32 * 32 * 3))
            #expect(disk["features"] == Double(80 * 2 * (2 * 2 * 512) * 4))  // float32 storage in the tiny config
            #expect(disk["cubes"] == Double(2 * 80 * (1 * 1 * (32 + 32)) * 4))  // 2 rounds × 80 frames
            #expect(e.table.contains("jam-c3d --round 2") && e.table.contains("total"))
        }
    }

    @Test func workloadIsReadFromTheDatasetAndCalibrationMeasuresEveryStage() throws {
        try withTemporaryDirectory { dir in
            let url = try writeTinyConfig(in: dir, training: Self.training)
            let synth = try runExecutable("jam-synth", ["--config", url.path], in: dir)
            try #require(synth.status == 0, "jam-synth failed: \(synth.stderr)")
            let config = try PipelineConfig.load(from: url)
            let workload = try Workload.measured(config, sample: 5)
            // 6 classes × 3 videos of 12 frames; every split holds them all.
            #expect(workload.videos == 18 && workload.classCount == 6)
            #expect(workload.frameCounts == Array(repeating: 12, count: 5))
            #expect(workload.splits.map(\.split) == [1, 2] && workload.splits.allSatisfy { $0.train + $0.test == 18 })
            let costs = try CostCalibration.measure(config, classCount: workload.classCount)
            for (name, value) in [("decode", costs.decodePerFrame), ("features", costs.featuresPerFrame),
                                  ("c3d train", costs.c3dTrainPerClip), ("c3d forward", costs.c3dForwardPerClip),
                                  ("lstm train", costs.lstmTrainPerClip), ("lstm forward", costs.lstmForwardPerClip)] {
                #expect(value > 0 && value.isFinite, "\(name): \(value)")
            }
            let run = try runExecutable("jam-config", ["estimate", "--config", url.path], in: dir)
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.stdout.contains("18 videos") && run.stdout.contains("jam-lstm --round 2"), "\(run.stdout)")
        }
    }

    @Test func withoutADatasetTheCommandSaysWhatToGive() throws {
        try withTemporaryDirectory { dir in
            let url = try writeTinyConfig(in: dir, root: "missing", synthetic: false)
            let run = try runExecutable("jam-config", ["estimate", "--config", url.path], in: dir)
            #expect(run.status != 0)
            #expect(run.stderr.contains("the dataset is not there") && run.stderr.contains("--videos N --frames F"), "\(run.stderr)")
            let given = try runExecutable("jam-config", ["estimate", "--config", url.path, "--videos", "40", "--frames", "16",
                                                         "--classes", "6"], in: dir)
            #expect(given.status == 0, "\(given.stderr)")
            #expect(given.stdout.contains("given: 40 videos × 16 frames"), "\(given.stdout)")
        }
    }
}
