// Tests: Tests/JAMStagesTests/MPITrainingTests.swift (jam-c3d and jam-lstm under mpirun -np 2 vs 1 process)
import Foundation
import JAMCore
import JAMDistributed

/// How a trained stage (jam-c3d, jam-lstm) runs as the R ranks of an MPI job
/// (`ProcessGroup.world`; docs/DESIGN.md, "Data-parallel training"):
///
/// - every rank reads the same inputs, builds the same model from the same seed and trains on
///   its slice of every batch (`DataParallel`); validation is split the same way;
/// - rank 0 alone writes: `--force`'s removals, the normalization artifact, checkpoints,
///   `training-log.json`, `export.json` (and the removal of stale exports), `settings.json` and
///   `stage-report.json`; the others wait at a barrier where they need what rank 0 did;
/// - the exports are sharded: rank r exports `Shard(index: r, count: R)` of the split's videos
///   (`Shard`'s rule, through `RunPolicy.shard`), and rank 0 writes one `stage-report.json`
///   merging every rank's (not one report per shard as array tasks do).
///
/// A plain invocation is rank 0 of 1: every check below is true and every barrier a no-op.
public enum DataParallelStage {
    static var world: any Communicator { ProcessGroup.world }

    /// Whether this process writes the stage's shared files.
    static var writes: Bool { world.isWriter }

    /// Waits until every rank is here (after rank 0 has removed or written what they read next).
    static func synchronize() throws { try world.barrier() }

    /// The policy of rank r of R: export shard r/R (`Shard`'s rule, as for array tasks), and
    /// training allowed (the ranks train together before each exports its shard). A plain run's
    /// policy comes back as it is; `--shard` (or a Slurm array) together with MPI is refused.
    public static func distributedPolicy(_ policy: RunPolicy) throws -> RunPolicy {
        guard world.isDistributed else { return policy }
        guard policy.shard.isWhole else {
            throw JAMError("--shard \(policy.shard) (or a Slurm array task) and an MPI launch with \(world.size) ranks cannot be "
                           + "combined: the ranks already split the exports among themselves. Run the MPI job without --shard, "
                           + "outside a job array")
        }
        var distributed = policy
        distributed.shard = Shard(index: world.rank, count: world.size)
        distributed.trainsHere = true
        return distributed
    }

    /// Every rank's report merged, on every rank: the ranks' units, completed, skipped and
    /// failures add up (a failure two ranks both report is kept once).
    static func mergeReports(_ report: StageReport) throws -> StageReport {
        guard world.isDistributed else { return report }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let all = try world.allGather(Array(try encoder.encode(report))).map {
            try JSONDecoder().decode(StageReport.self, from: Data($0))
        }
        var merged = all[0]
        var seen = Set(merged.failures.map { "\($0.unit)\n\($0.file)" })
        for other in all.dropFirst() {
            merged.totalUnits += other.totalUnits
            merged.completed += other.completed
            merged.skipped += other.skipped
            merged.stoppedEarly = merged.stoppedEarly || other.stoppedEarly
            merged.seconds = max(merged.seconds, other.seconds)
            for failure in other.failures where seen.insert("\(failure.unit)\n\(failure.file)").inserted {
                merged.failures.append(failure)
            }
        }
        return merged
    }
}
