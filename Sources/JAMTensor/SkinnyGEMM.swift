// shapes: A [m, k] (row stride lda), B [n, k] (row stride ldb), C [m, n] (row stride ldc), all
// row-major Float; `transpose` turns a [rows, columns] matrix into [columns, rows].
// Tests: Tests/JAMTensorTests/SkinnyGEMMTests.swift (both kernels against a Double loop, odd sizes;
// the transpose against index arithmetic)

import Foundation
import JAMTensorAVX2
import Synchronization

/// Products with few rows against a large matrix: `C = beta·C + A · Bᵀ` with m ≲ 32.
///
/// The LSTM's per-step products are of this kind: 16 rows (the batch) against weights of up to
/// 35 MB, 30 times per sequence forward and again backward. OpenBLAS repacks the whole weight
/// matrix into its panel layout on every such call, which took a third of the paper-size LSTM's
/// time (perf, docs/BENCHMARKS.md). JAM's own kernel (`avx2DotProductGEMM`, AVX2 + FMA) reads the
/// weights in place instead, as dot products of rows, so:
/// - `C = A · Wᵀ` (the backward products, W `[n, k]` as stored) needs no copy at all;
/// - `C = A · W` (the forward products, `multiply`) runs on a `TransposedCopy` of W made once
///   per sequence, not once per step.
///
/// Only products against a matrix of at least `minimumMatrixCount` floats with at most
/// `maximumRows` rows take JAM's kernel; smaller ones stay with OpenBLAS, whose repacking of a
/// cache-sized matrix is cheap. The kernel is chosen once per process: JAM's on x86-64 CPUs
/// with AVX2 and FMA, OpenBLAS's `sgemm` elsewhere or when `JAM_SKINNY_GEMM=openblas` is set
/// (`kernel` says which, and `BLASInfo` prints it; tests pass a kernel explicitly). Each output
/// element's arithmetic depends only on its row of A and row of B, so the result does not
/// depend on the thread count; the two kernels agree to float32 summation error.
public enum SkinnyGEMM {
    public enum Kernel: String, Sendable, CustomStringConvertible {
        /// JAM's dot-product kernel for AVX2 + FMA.
        case avx2
        /// OpenBLAS's `sgemm` with B transposed.
        case openBLAS

        public var description: String {
            switch self {
            case .avx2: "JAM's AVX2+FMA dot-product kernel"
            case .openBLAS: "OpenBLAS sgemm"
            }
        }
    }

    /// Products with more rows than this go to OpenBLAS, whose packing then pays for itself.
    public static let maximumRows = 32

    /// Products with a B of fewer floats than this (4 MiB) go to OpenBLAS: B then stays in the
    /// caches, its repacking is cheap, and OpenBLAS's kernels were faster on the default
    /// profile's small LSTM (docs/BENCHMARKS.md).
    public static let minimumMatrixCount = 1 << 20

    /// The kernel `multiplyTransposed` uses for an m-row product with a `[n, k]` B: `kernel`
    /// for at most `maximumRows` rows and B of at least `minimumMatrixCount` floats, else OpenBLAS.
    public static func kernel(rows m: Int, matrixCount: Int) -> Kernel {
        m <= maximumRows && matrixCount >= minimumMatrixCount ? kernel : .openBLAS
    }

    /// The environment variable that forces OpenBLAS (`JAM_SKINNY_GEMM=openblas`).
    public static let overrideVariable = "JAM_SKINNY_GEMM"

    /// The kernel this process uses, chosen once from the CPU and the environment.
    public static let kernel = choose(environment: ProcessInfo.processInfo.environment, cpuFlags: cpuFlags)

    /// Whether this CPU can run `.avx2` (read once: the products check it on every call).
    public static let cpuHasAVX2AndFMA = BLASKernelChoice.hasAVX2AndFMA(cpuFlags)

    /// `.avx2` when `cpuFlags` has AVX2 and FMA and `JAM_SKINNY_GEMM` is not `openblas`.
    public static func choose(environment: [String: String], cpuFlags: Set<String>) -> Kernel {
        if environment[overrideVariable]?.lowercased() == "openblas" { return .openBLAS }
        return BLASKernelChoice.hasAVX2AndFMA(cpuFlags) ? .avx2 : .openBLAS
    }

    /// `C = beta·C + A · Bᵀ`: C `[m, n]`, A `[m, k]`, B `[n, k]`. `beta == 0` never reads C.
    /// With `kernel` nil, `kernel(rows:matrixCount:)` chooses; tests pass one to force it.
    /// Runs on `BLAS.threads` threads (split by columns of C) when the product is large enough.
    public static func multiplyTransposed(
        _ c: UnsafeMutablePointer<Float>, ldc: Int,
        _ a: UnsafePointer<Float>, lda: Int,
        _ b: UnsafePointer<Float>, ldb: Int,
        m: Int, n: Int, k: Int, beta: Float = 0, kernel: Kernel? = nil
    ) {
        guard m > 0, n > 0 else { return }
        let kernel = kernel ?? Self.kernel(rows: m, matrixCount: n * k)
        precondition(kernel == .openBLAS || cpuHasAVX2AndFMA, "SkinnyGEMM: this CPU lacks AVX2 or FMA")
        guard kernel == .avx2, k > 0 else {
            BLAS.sgemm(c, ldc: ldc, a, lda: lda, b, ldb: ldb, transposeB: true, m: m, n: n, k: k, beta: beta)
            return
        }
        // Below about a million multiply-adds a second thread costs more than it saves.
        let workers = m * n * k < 1 << 20 ? 1 : max(1, min(BLAS.threads, n / 3))
        let tiles = (n + 2) / 3
        let box = UncheckedSendable((c, a, b))
        // The threads claim runs of tiles in turn (`TileClaims`), so that a thread that starts
        // late (a helper woken from sleep) or runs slower (its core shared with another process)
        // leaves the rest to the others instead of making them wait at the end.
        let claims = TileClaims(tiles: tiles, workers: workers, tilesPerClaim: Self.tilesPerClaim(k: k))
        parallelFor(chunkCount: workers, threads: workers) { _, worker in
            let (c, a, b) = box.value
            withUnsafeTemporaryAllocation(of: SIMD8<Float>.self, capacity: (m + 3) / 4 * 12) { scratch in
                while let claimed = claims.next(worker: worker) {
                    // Whole tiles of 3 columns, so that only the last tile can be short.
                    let columns = 3 * claimed.lowerBound..<min(n, 3 * claimed.upperBound)
                    avx2DotProductGEMM(c, ldc: ldc, a, lda: lda, b, ldb: ldb, m: m, columns: columns, k: k,
                                       beta: beta, accumulators: scratch.baseAddress!, prefetchEnd: n)
                }
            }
        }
    }

    /// Tiles (of 3 rows of B) per claim: about 256 KiB of B, so that a claim costs little
    /// against its work and a thread left waiting for the last claim waits about 10 µs.
    static func tilesPerClaim(k: Int) -> Int {
        max(1, (256 << 10) / (3 * k * MemoryLayout<Float>.stride))
    }

    /// `C = beta·C + A · W`, W `[k, n]` (row stride `ldw`): with JAM's kernel on `copy`'s Wᵀ
    /// when it holds one, else with OpenBLAS on W itself. The leading k columns of the copy's
    /// rows (the leading k rows of W) take part.
    public static func multiply(
        _ c: UnsafeMutablePointer<Float>, ldc: Int,
        _ a: UnsafePointer<Float>, lda: Int,
        weights w: UnsafePointer<Float>, ldw: Int, copy: TransposedCopy,
        m: Int, n: Int, k: Int, beta: Float = 0
    ) {
        if let transposed = copy.pointer {
            multiplyTransposed(c, ldc: ldc, a, lda: lda, transposed, ldb: copy.stride, m: m, n: n, k: k, beta: beta,
                               kernel: kernel)
        } else {
            BLAS.sgemm(c, ldc: ldc, a, lda: lda, w, ldb: ldw, m: m, n: n, k: k, beta: beta)
        }
    }

    /// `destination[j, i] = source[i, j]`: source `[rows, columns]` (row stride `ldSource`),
    /// destination `[columns, rows]` (dense). On `BLAS.threads` threads, split by columns.
    public static func transpose(
        _ destination: UnsafeMutablePointer<Float>,
        _ source: UnsafePointer<Float>, ldSource: Int, rows: Int, columns: Int, kernel: Kernel = kernel
    ) {
        precondition(kernel == .openBLAS || cpuHasAVX2AndFMA, "SkinnyGEMM: this CPU lacks AVX2 or FMA")
        // Blocks of 64 columns: 8 source rows of one block are 8 × 256 bytes, read as 8×8 tiles.
        let block = 64
        let columnBlocks = (columns + block - 1) / block
        let box = UncheckedSendable((destination, source))
        let workers = rows * columns < 1 << 16 ? 1 : BLAS.threads
        let useAVX2 = kernel == .avx2
        parallelFor(chunkCount: columnBlocks, threads: workers) { chunk, _ in
            let (destination, source) = box.value
            let columnRange = chunk * block..<min(columns, (chunk + 1) * block)
            if useAVX2 {
                avx2Transpose(destination, source, ldSource: ldSource, rows: rows, columns: columnRange)
            } else {
                for i in 0..<rows {
                    for j in columnRange { destination[j * rows + i] = source[i * ldSource + j] }
                }
            }
        }
    }

    /// The CPU's flags on Linux x86-64; empty elsewhere, where `.avx2` is never chosen.
    private static let cpuFlags: Set<String> = {
        #if os(Linux) && arch(x86_64)
        return BLASKernelChoice.machineCPUFlags
        #else
        return []
        #endif
    }()
}

/// A weight matrix's transposed copy for `SkinnyGEMM.multiply`, made at the start of each
/// sequence, and only when JAM's kernel will run the products (a large matrix, few rows); for
/// the others the products read the matrix itself with OpenBLAS, and no time goes into a copy.
public final class TransposedCopy {
    private let buffer = ScratchBuffer<Float>()
    /// Wᵀ `[columns, rows]`, or nil when the products run on W.
    public private(set) var pointer: UnsafePointer<Float>?
    /// The row length of Wᵀ: W's row count.
    public private(set) var stride = 0

    public init() {}

    /// Copies W `[rows, columns]` (row stride `ld`) transposed when products of `batch` rows with
    /// it take JAM's kernel (`SkinnyGEMM.kernel(rows:matrixCount:)`); otherwise forgets any copy.
    public func refresh(from w: UnsafePointer<Float>, ld: Int, rows: Int, columns: Int, batch: Int) {
        guard SkinnyGEMM.kernel(rows: batch, matrixCount: rows * columns) == .avx2 else {
            pointer = nil
            return
        }
        SkinnyGEMM.transpose(buffer.reserve(rows * columns), w, ldSource: ld, rows: rows, columns: columns)
        pointer = UnsafePointer(buffer.pointer)
        stride = rows
    }
}

/// Shares `0..<tiles` between `workers` threads: each starts on its own contiguous share (so that
/// each streams its own part of B, as a fixed split would) and takes runs of `tilesPerClaim`
/// from its front; a thread whose share is done takes runs from the back of another's. Each tile
/// goes to exactly one thread. Which thread computes a tile does not change its bits (each output
/// depends only on its rows of A and B), so results stay the same whatever the timing.
public final class TileClaims: Sendable {
    /// Per worker, its share's remaining tiles: front in the low 32 bits, end in the high 32.
    private final class Share: Sendable {
        let bounds: Atomic<Int>
        init(_ range: Range<Int>) { bounds = Atomic(range.lowerBound | range.upperBound << 32) }
    }

    private let shares: [Share]
    public let tilesPerClaim: Int

    /// `tiles` split into `workers` contiguous shares, worker w's `[w·tiles/workers, (w+1)·tiles/workers)`.
    public init(tiles: Int, workers: Int, tilesPerClaim: Int) {
        precondition(tilesPerClaim > 0 && workers > 0 && tiles < 1 << 31,
                     "TileClaims: \(tiles) tiles, \(workers) workers, claims of \(tilesPerClaim)")
        self.tilesPerClaim = tilesPerClaim
        shares = (0..<workers).map { w in Share(w * tiles / workers..<(w + 1) * tiles / workers) }
    }

    /// The next run of tiles for `worker`, or nil when all are taken.
    public func next(worker: Int) -> Range<Int>? {
        if let own = take(from: shares[worker], front: true) { return own }
        for offset in 1..<shares.count {
            if let stolen = take(from: shares[(worker + offset) % shares.count], front: false) { return stolen }
        }
        return nil
    }

    private func take(from share: Share, front: Bool) -> Range<Int>? {
        var bounds = share.bounds.load(ordering: .relaxed)
        while true {
            let (lower, upper) = (bounds & 0xFFFF_FFFF, bounds >> 32)
            guard lower < upper else { return nil }
            let taken = front ? lower..<min(upper, lower + tilesPerClaim) : max(lower, upper - tilesPerClaim)..<upper
            let left = front ? taken.upperBound | upper << 32 : lower | taken.lowerBound << 32
            let (exchanged, original) = share.bounds.compareExchange(
                expected: bounds, desired: left, ordering: .relaxed)
            if exchanged { return taken }
            bounds = original
        }
    }
}
