// shapes: A [m, k], W [k, n] as the LSTM stores its weights; C [m, n] or [m, k].

import ArgumentParser
import Dispatch
import Foundation
import JAMCore
import JAMTensor

/// `jam-bench skinny`: the LSTM's per-step products (batch rows against a weight matrix) with
/// OpenBLAS and with `SkinnyGEMM`, against the sgemm peak measured in the same run.
struct SkinnyGEMMBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "skinny",
        abstract: "Time the LSTM's per-step products (few rows × large weights) with OpenBLAS and with JAM's kernel.",
        discussion: """
            Each row is one weight shape of the paper's joint LSTM (3×1024, two branches of \
            11×11×256 with the spatial pyramid): forward C = A·W and backward C = A·Wᵀ, with \
            A of --rows rows. "OpenBLAS" is cblas_sgemm as the layers called it before (it \
            repacks W on every call); "JAM" is SkinnyGEMM (AVX2+FMA dot products, forward on \
            Wᵀ copied once per sequence, whose cost is shown per use: the copy over T = 30 steps). \
            Best of --repetitions, cycling the variants so that load on a shared machine \
            hits them alike. Each cell gives GFLOP/s and its ratio to the sgemm peak, then the \
            ratio of GFLOP per CPU-second to the peak's (less disturbed by other processes).
            """)

    @Option(help: "Rows of A (the LSTM's batch).")
    var rows = 16

    @Option(help: "Timed repetitions per product (the best counts), after one warm-up.")
    var repetitions = 20

    @Option(help: "Threads (OpenBLAS's and the kernel's).")
    var threads = 2

    @Option(help: ArgumentHelp(
        "Other weight shapes instead of the paper's, as k×n (or kxn), comma-separated: 1024x1024,512x512 (small ones time the kernel in the caches).",
        valueName: "shapes"))
    var shapes: String?

    func validate() throws {
        guard rows > 0, repetitions > 0, threads > 0 else {
            throw ValidationError("rows, repetitions and threads must be positive")
        }
        _ = try customShapes()
    }

    func run() throws {
        BLAS.threads = threads
        print(BLASInfo.current)
        print("SkinnyGEMM kernel: \(SkinnyGEMM.kernel) (\(SkinnyGEMM.overrideVariable)=openblas chooses OpenBLAS)")
        let cpuStart = processCPUSeconds()
        let wallStart = DispatchTime.now().uptimeNanoseconds
        let peak = BLAS.measureSGEMMPeak()
        // GFLOP per CPU-second of the peak run, from its share of CPU over its wall time.
        let cpuShare = (processCPUSeconds() - cpuStart) / (Double(DispatchTime.now().uptimeNanoseconds - wallStart) * 1e-9)
        let cpuPeak = peak / cpuShare
        print("sgemm 2048³ peak (\(threads) threads): \(String(format: "%.1f", peak)) GFLOP/s, "
              + "\(String(format: "%.1f", cpuPeak)) GFLOP/CPU-s")
        // Each weight read serves 2·rows flops, so memory caps these products at 2·rows/4 flops per byte.
        let bandwidth = measureReadBandwidth()
        print(String(format: "memory read bandwidth (256 MiB, %d threads): %.1f GB/s, so at %d rows the "
                     + "products cannot beat %.0f GFLOP/s once the weights leave the caches",
                     threads, bandwidth, rows, bandwidth * Double(2 * rows) / 4))
        // (name, k, n) of W [k, n].
        let shapes: [(String, Int, Int)] = try customShapes() ?? [
            ("joint W_sub [D+H, 3D]", 1280 + 1024, 3 * 1280),
            ("joint A_k [D, H]", 1280, 1024),
            ("joint W_cell [ΣD+H, H]", 2560 + 1024, 1024),
            ("upper layer W [2H, 4H]", 2048, 4096),
            ("W_h [H, 4H]", 1024, 4096),
        ]
        print("GFLOP/s, % of the peak, % of the peak per CPU-second")
        print("weights                    k×n          OpenBLAS A·W    OpenBLAS A·Wᵀ   JAM A·W +copy/30 JAM A·Wᵀ")
        for (name, k, n) in shapes {
            let m = rows
            let a = randomBuffer(count: m * max(k, n), seed: 1)
            let w = randomBuffer(count: k * n, seed: 2)
            let wt = UnsafeMutablePointer<Float>.allocate(capacity: k * n)
            // On 2 MiB pages from the first touch, as the LSTM's transposed copies are.
            HugePages.advise(wt, count: k * n, collapse: false)
            let c = UnsafeMutablePointer<Float>.allocate(capacity: m * max(k, n))
            defer { a.deallocate(); w.deallocate(); wt.deallocate(); c.deallocate() }
            SkinnyGEMM.transpose(wt, w, ldSource: n, rows: k, columns: n)
            var best = [Double](repeating: .infinity, count: 5)
            var bestCPU = [Double](repeating: .infinity, count: 5)
            for repetition in 0...repetitions {
                var cpu: [Double] = []
                func seconds(_ body: () -> Void) -> Double {
                    // In the model every product's weights come from memory (a step streams 185 MB
                    // of them), while its rows of A were just computed by the calling thread; here
                    // the product before would leave this matrix partly in the L3 cache.
                    evictCaches()
                    warm(a, count: m * max(k, n))
                    let cpuStart = processCPUSeconds()
                    let start = DispatchTime.now().uptimeNanoseconds
                    body()
                    let wall = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
                    cpu.append(processCPUSeconds() - cpuStart)
                    return wall
                }
                let times = [
                    seconds { BLAS.sgemm(c, ldc: n, a, lda: k, w, ldb: n, m: m, n: n, k: k) },
                    seconds { BLAS.sgemm(c, ldc: k, a, lda: n, w, ldb: n, transposeB: true, m: m, n: k, k: n) },
                    seconds { SkinnyGEMM.multiplyTransposed(c, ldc: n, a, lda: k, wt, ldb: k, m: m, n: n, k: k) },
                    seconds { SkinnyGEMM.transpose(wt, w, ldSource: n, rows: k, columns: n) },
                    seconds { SkinnyGEMM.multiplyTransposed(c, ldc: k, a, lda: n, w, ldb: n, m: m, n: k, k: n) },
                ]
                if repetition > 0 {
                    best = zip(best, times).map { min($0, $1) }
                    bestCPU = zip(bestCPU, cpu).map { min($0, $1) }
                }
            }
            let flops = 2 * Double(m * n * k)
            func rate(_ i: Int) -> String {
                // The forward on the copy pays a 30th of the copy (one copy per sequence of 30 steps).
                let (s, cpu) = i == 2 ? (best[2] + best[3] / 30, bestCPU[2] + bestCPU[3] / 30) : (best[i], bestCPU[i])
                return String(format: "%5.1f %3.0f%% %3.0f%%", flops / s / 1e9, 100 * flops / s / 1e9 / peak,
                              100 * flops / cpu / 1e9 / cpuPeak)
            }
            print(String(format: "  JAM: A·W on the copy %.2f ms, the copy %.2f ms, A·Wᵀ %.2f ms", best[2] * 1e3, best[3] * 1e3, best[4] * 1e3))
            print(name.padding(toLength: 26, withPad: " ", startingAt: 0) + " "
                  + "\(k)×\(n)".padding(toLength: 12, withPad: " ", startingAt: 0) + " "
                  + rate(0) + "  " + rate(1) + "  " + rate(2) + "  " + rate(4))
        }
    }

    /// `--shapes` as (name, k, n); nil when not given.
    private func customShapes() throws -> [(String, Int, Int)]? {
        guard let shapes else { return nil }
        return try shapes.split(separator: ",").map { item in
            let sizes = item.replacingOccurrences(of: "×", with: "x")
                .split(separator: "x", omittingEmptySubsequences: false).map { Int($0) ?? 0 }
            guard sizes.count == 2, sizes.allSatisfy({ $0 > 0 }) else {
                throw ValidationError("--shapes: \"\(item)\" is not k×n with two positive sizes (example: 1024x1024,512x512)")
            }
            return ("W [\(sizes[0]), \(sizes[1])]", sizes[0], sizes[1])
        }
    }

    /// Reads `evictionBuffer` on `threads` threads.
    private func evictCaches() {
        precondition(readAll(evictionBuffer.value, count: evictionCount, threads: threads) > 0)  // keeps the reads
    }

    /// Reads `count` floats at `p` on the calling thread, into its caches.
    private func warm(_ p: UnsafePointer<Float>, count: Int) {
        precondition(!readAll(p, count: count, threads: 1).isNaN)  // keeps the reads
    }

    /// Best of 5 reads of a 256 MiB buffer, summed on `threads` threads, in GB/s.
    private func measureReadBandwidth() -> Double {
        let count = 64 << 20
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: count)
        defer { buffer.deallocate() }
        buffer.initialize(repeating: 1, count: count)
        var best = Double.infinity
        for _ in 0..<5 {
            let start = DispatchTime.now().uptimeNanoseconds
            let sum = readAll(buffer, count: count, threads: threads)
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9)
            precondition(sum > 0)  // keeps the reads
        }
        return Double(count * 4) / best / 1e9
    }

    private func randomBuffer(count: Int, seed: UInt64) -> UnsafeMutablePointer<Float> {
        let p = UnsafeMutablePointer<Float>.allocate(capacity: count)
        // On 2 MiB pages, as the LSTM's weights are (HugePages; ParameterStore.zeroGradients).
        HugePages.advise(p, count: count, collapse: false)
        var generator = SplitMix64(seed: seed)
        for i in 0..<count { p[i] = Float(Int(generator.next() >> 40) % 2001 - 1000) * 1e-3 }
        return p
    }
}

/// A buffer larger than the caches (64 MiB of ones), read before each timed product of
/// `jam-bench skinny` to evict the data of the one before.
private let evictionCount = 16 << 20
private let evictionBuffer: UncheckedSendable<UnsafeMutablePointer<Float>> = {
    let buffer = UnsafeMutablePointer<Float>.allocate(capacity: evictionCount)
    buffer.initialize(repeating: 1, count: evictionCount)
    return UncheckedSendable(buffer)
}()

/// The sum of the `count` floats at `p`, read 8 at a time on `threads` threads (each its own
/// contiguous part); callers check the sum so that the reads are not optimised away.
private func readAll(_ p: UnsafePointer<Float>, count: Int, threads: Int) -> Float {
    let sums = UnsafeMutablePointer<Float>.allocate(capacity: threads)
    defer { sums.deallocate() }
    let box = UncheckedSendable((p, sums))
    parallelFor(chunkCount: threads, threads: threads) { chunk, _ in
        let (p, sums) = box.value
        let end = (chunk + 1) * count / threads
        var i = chunk * count / threads
        var lanes = SIMD8<Float>()
        while i + 8 <= end {
            lanes += UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<Float>.self)
            i += 8
        }
        var total = lanes.sum()
        while i < end {
            total += p[i]
            i += 1
        }
        sums[chunk] = total
    }
    return (0..<threads).reduce(0) { $0 + sums[$1] }
}
