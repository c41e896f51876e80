import Foundation
import JAMArtifacts
import JAMTestSupport
import Testing

/// The `paper` profile's model, exactly, end to end on a tiny synthetic dataset through
/// `scripts/paper-smoke.sh` (the same executables as every run): the paths the synthetic default
/// does not take — S = 384, spatially valid conv1 and its 11×11 grid, 256-channel cubes, clips
/// of 30 every 15 with a tail, the 3 × 1024 joint LSTM, λ = 1000 in round 2 — all run and give
/// artifacts of the paper's shapes. About 8 minutes on the 2-core machine with OpenBLAS's Prescott kernels.
@Suite struct PaperSmokeTests {
    @Test func thePaperModelRunsEveryStageEndToEnd() throws {
        try withTemporaryDirectory { dir in
            let run = try runProcess(URL(fileURLWithPath: "/bin/bash"),
                                     [repositoryRoot.appendingPathComponent("scripts/paper-smoke.sh").path, "--out", dir.path],
                                     in: dir, environment: ["JAM_BIN": productsDirectory.path])
            try #require(run.status == 0, "paper-smoke.sh failed:\n\(run.stderr.suffix(3000))")
            // One table row per stage and round, with its time and peak memory.
            for stage in ["jam-synth", "jam-decode", "jam-features", "jam-c3d --round 1", "jam-lstm --round 1",
                          "jam-c3d --round 2", "jam-lstm --round 2", "jam-eval"] {
                #expect(run.stdout.contains("| `\(stage)` | "), "no row for \(stage) in:\n\(run.stdout)")
            }
            let root = dir.appendingPathComponent("artifacts/paper-smoke")
            func files(_ stage: String, _ name: String) throws -> [URL] {
                let folder = root.appendingPathComponent(stage)
                let walker = try #require(FileManager.default.enumerator(atPath: folder.path))
                return walker.compactMap { $0 as? String }.filter { $0.hasSuffix(name) }.sorted()
                    .map { folder.appendingPathComponent($0) }
            }
            // Two rounds of cubes: 40 frames, an 11×11 grid (384/16 = 24, valid 3×3 → 22, pool → 11,
            // same 3×3 → 11), 256 channels per branch.
            let cubes = try files("cubes", "v_MoveLeft_g01_c01.h5")
            #expect(cubes.count == 2, "\(cubes)")
            for url in cubes {
                let file = try HDF5File.open(at: url)
                for branch in ["pool4", "conv5_3"] {
                    #expect(try file.openDataset("cube/\(branch)").shape() == [40, 11, 11, 256], "\(url.path)")
                }
            }
            // The joint LSTM: 3 layers of 1024 units (4 gates × 1024 in the upper layers' weights).
            let checkpoints = try files("lstm", "checkpoint.h5")
            #expect(checkpoints.count == 2)
            for url in checkpoints {
                let file = try HDF5File.open(at: url)
                #expect(try file.openDataset("parameters/lstm.layer3.W").shape() == [2048, 4096])
                #expect(!file.contains("parameters/lstm.layer4.W"))
            }
            // Attention over the 121 cells at every step; two clips of 30 (start 0 and the tail at 10).
            for url in try files("attention", "v_MoveLeft_g01_c01.h5") {
                let file = try HDF5File.open(at: url)
                #expect(try file.openDataset("attention").shape() == [40, 121])
                #expect(try file.openDataset("clip_probabilities").shape() == [2, 30, 2])
            }
            #expect(try !files("eval", "metrics.json").isEmpty)
        }
    }
}
