import Foundation
import JAMCore
import Testing

@Suite struct ShardTests {
    let names = (0..<23).map { "Class\($0 % 4)/v_\(String(format: "%03d", ($0 * 7) % 23)).avi" }

    @Test func everyUnitBelongsToExactlyOneShardAndSizesDifferByAtMostOne() {
        for n in 1...6 {
            let parts = (0..<n).map { Shard(index: $0, count: n).select(names) { $0 } }
            #expect(parts.flatMap { $0 }.sorted() == names.sorted())
            #expect(Set(parts.flatMap { $0 }).count == names.count)
            let sizes = parts.map(\.count)
            #expect(sizes.max()! - sizes.min()! <= 1)
        }
    }

    @Test func theAssignmentDependsOnlyOnTheNames() {
        let shard = Shard(index: 1, count: 3)
        #expect(shard.select(names) { $0 } == shard.select(names.reversed()) { $0 })
        #expect(shard.select(names.shuffled()) { $0 } == shard.select(names) { $0 })
        // The rule by hand: sorted position k goes to shard k mod 3.
        let sorted = names.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        #expect(shard.select(names) { $0 } == stride(from: 1, to: sorted.count, by: 3).map { sorted[$0] })
    }

    @Test func parsesTheOption() throws {
        #expect(try Shard(parsing: "2/5") == Shard(index: 2, count: 5))
        #expect(try Shard(parsing: "0/1").isWhole)
        for bad in ["5/5", "-1/3", "1", "a/b", "1/0", "1/2/3", ""] {
            #expect(throws: JAMError.self) { try Shard(parsing: bad) }
        }
    }

    @Test func theSlurmVariablesGiveTheSameShardAsTheOption() throws {
        let array0 = ["SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_COUNT": "3"]
        let array1 = ["SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_COUNT": "3"]
        let stepped = ["SLURM_ARRAY_TASK_ID": "4", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_COUNT": "3",
                       "SLURM_ARRAY_TASK_STEP": "2"]
        for environment in [array0, array1, stepped] {
            #expect(try Shard.resolve(option: nil, environment: environment) == Shard(parsing: "2/3"))
        }
        #expect(try Shard.resolve(option: nil, environment: [:]) == .whole)
        #expect(try Shard.resolve(option: "0/2", environment: array0) == Shard(index: 0, count: 2))
        #expect(throws: JAMError.self) { try Shard.fromSlurm(["SLURM_ARRAY_TASK_ID": "1"]) }
        #expect(throws: JAMError.self) {
            try Shard.fromSlurm(["SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_COUNT": "3",
                                 "SLURM_ARRAY_TASK_STEP": "2"])
        }
    }

    @Test func reportNames() {
        #expect(Shard.whole.reportFileName == "stage-report.json")
        #expect(Shard(index: 1, count: 4).reportFileName == "stage-report.shard-1-of-4.json")
    }
}
