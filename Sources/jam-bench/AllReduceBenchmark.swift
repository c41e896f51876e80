// shapes: every rank holds x_r [n] float32, x_r[i] drawn from SplitMix64(seed ^ r); the result
// on every rank is [n], Σ_r x_r[i] added in rank order.
import ArgumentParser
import Foundation
import JAMCore
import JAMDistributed

/// `jam-bench allreduce`: the fixed-order all-reduce of data-parallel training, timed and
/// checked. Run it under a launcher (`mpirun -np R jam-bench allreduce`); alone it is one rank
/// and reports nothing to reduce.
///
/// `--check` verifies, on rank 0, that the reduced buffer equals the left-to-right float32 sum
/// of every rank's data, regenerated from the seeds (bit for bit), that it is within float32
/// summation tolerance of a float64 sum, and that every rank holds the same bytes; the exit
/// status is 1 when any check fails. It checks the Double reduction the same way.
struct AllReduceBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "allreduce",
        abstract: "Time (and with --check verify) the fixed-order gradient all-reduce across MPI ranks.",
        discussion: """
            Start it with a launcher, e.g. 'mpirun --oversubscribe -np 2 jam-bench allreduce --count 1000000'. \
            Prints the best and median time of one all-reduce of --count float32 values (the \
            gradient buffer of a model of that many parameters).
            """)

    @Option(help: "Float32 values per rank (a model's parameter count).")
    var count = 1_000_000

    @Option(help: "Timed repetitions after one warm-up.")
    var repetitions = 10

    @Option(help: "Seed of the ranks' data (rank r draws from seed ^ r).")
    var seed: UInt64 = 7

    @Flag(help: "Verify the result against independent sums (exit 1 on a mismatch).")
    var check = false

    func validate() throws {
        guard count >= 0, repetitions >= 1 else { throw ValidationError("count must be ≥ 0 and repetitions ≥ 1") }
    }

    static func data(rank: Int, seed: UInt64, count: Int) -> [Float] {
        var random = SplitMix64(seed: seed ^ UInt64(rank))
        return (0..<count).map { _ in Float(random.nextUniform() * 2 - 1) }
    }

    func run() throws {
        let world = try ProcessGroup.join()
        let mine = Self.data(rank: world.rank, seed: seed, count: count)
        var times: [Double] = []
        var result = mine
        for i in 0...repetitions {
            result = mine
            try world.barrier()
            let start = Date()
            try world.sumAllReduce(&result)
            if i > 0 { times.append(Date().timeIntervalSince(start)) }
        }
        // Every rank takes the slowest rank's time for each repetition.
        var slowest = try times.map { Double(try world.maxAllReduce(Int($0 * 1e9))) / 1e9 }
        slowest.sort()
        if world.isWriter {
            print(String(format: "all-reduce of %d float32 over %d rank(s), fixed order: best %.3f ms, median %.3f ms (%.2f GB/s of buffer)",
                         count, world.size, 1000 * slowest[0], 1000 * slowest[slowest.count / 2],
                         Double(4 * count) / slowest[slowest.count / 2] / 1e9))
        }
        guard check else { return }
        var failures: [String] = []
        // Every rank holds the same bytes.
        let digest = SHA256.hex(result.withUnsafeBytes { Data($0) })
        let digests = try world.allGather(Array(digest.utf8))
        if Set(digests).count != 1 { failures.append("the ranks hold different results: \(digests.map { String(decoding: $0, as: UTF8.self).prefix(12) })") }
        // Doubles too.
        var doubles = mine.map { Double($0) }
        try world.sumAllReduce(&doubles)
        if world.isWriter {
            let all = (0..<world.size).map { Self.data(rank: $0, seed: seed, count: count) }
            var largest = 0.0, largestDouble = 0.0
            var exactMismatches = 0
            for i in 0..<count {
                var leftToRight: Float = all[0][i]
                var exact = Double(all[0][i])
                for r in 1..<world.size {
                    leftToRight += all[r][i]
                    exact += Double(all[r][i])
                }
                if leftToRight.bitPattern != result[i].bitPattern { exactMismatches += 1 }
                // float32 summation of R terms: |error| ≤ (R − 1)·ε·Σ|x| (ε = 2⁻²⁴).
                let bound = Double(world.size - 1) * 0x1p-24 * all.reduce(0) { $0 + abs(Double($1[i])) }
                largest = max(largest, abs(Double(result[i]) - exact) / max(bound, .leastNormalMagnitude))
                largestDouble = max(largestDouble, abs(doubles[i] - exact))
            }
            print("check: \(count - exactMismatches) of \(count) equal the rank-order float32 sum bit for bit; "
                  + String(format: "largest |error| vs float64 = %.3f of the bound (R−1)·2⁻²⁴·Σ|x|; ", largest)
                  + String(format: "float64 reduction: largest |error| %.3g", largestDouble))
            if exactMismatches > 0 { failures.append("\(exactMismatches) values differ from the rank-order sum") }
            if largest > 1 + 1e-6 { failures.append("an error exceeds float32 summation tolerance") }
            if largestDouble > 1e-12 { failures.append("the float64 reduction is off by \(largestDouble)") }
        }
        if try world.any(!failures.isEmpty) {
            if !failures.isEmpty { print("check FAILED (rank \(world.rank)): " + failures.joined(separator: "; ")) }
            throw ExitCode(1)
        }
        if world.isWriter { print("check passed on \(world.size) rank(s)") }
    }
}
