import ArgumentParser
import Foundation
import JAMCommandLine
import JAMCore
import Testing

/// `--shard i/N` and the Slurm array variables, as the stage commands parse them.
@Suite struct ShardOptionTests {
    @Test func theOptionTheSlurmVariablesOrTheWhole() throws {
        let slurm = ["SLURM_ARRAY_TASK_ID": "5", "SLURM_ARRAY_TASK_MIN": "3", "SLURM_ARRAY_TASK_COUNT": "4"]
        #expect(try ShardOption.parse(["--shard", "1/4"]).resolve(environment: [:]) == Shard(index: 1, count: 4))
        #expect(try ShardOption.parse([]).resolve(environment: slurm) == Shard(index: 2, count: 4))
        // --shard wins over the array's variables; neither: every unit.
        #expect(try ShardOption.parse(["--shard", "0/2"]).resolve(environment: slurm) == Shard(index: 0, count: 2))
        #expect(try ShardOption.parse([]).resolve(environment: [:]) == .whole)
        // The policy carries it; only a whole run trains by default.
        let options = try StageOptions.parse(["--config", "/dev/null"])
        let policy = options.policy(defaultWorkers: 2, shard: Shard(index: 1, count: 3))
        #expect(policy.shard == Shard(index: 1, count: 3) && !policy.trainsHere && policy.workers == 2)
    }

    @Test func badValuesAreValidationErrorsWithTheReason() throws {
        for (value, reason) in [("4/4", "the index must be 0 to 3"), ("1-4", "expected i/N"), ("0/0", "the count at least 1")] {
            #expect { try ShardOption.parse(["--shard", value]) } throws: { error in
                let message = ShardOption.message(for: error)
                return message.contains("--shard \(value): ") && message.contains(reason)
            }
        }
        // A bad array is refused the same way (the variables are read when the command is validated).
        #expect { try ShardOption.parse([]).resolve(environment: ["SLURM_ARRAY_TASK_ID": "1"]) } throws: { error in
            error is ValidationError && "\(error)".contains("SLURM_ARRAY_TASK_COUNT is not")
        }
    }
}
