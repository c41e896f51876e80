// shapes: A [m, k] (row stride lda), B [n, k] (row stride ldb), C [m, n] (row stride ldc), all
// row-major Float; `transpose` turns a [rows, columns] matrix into [columns, rows].
// Tests: Tests/JAMTensorTests/SkinnyGEMMTests.swift (both kernels against a Double loop, odd sizes;
// the transpose against index arithmetic)

import Foundation
import JAMTensorAVX2

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
        parallelFor(chunkCount: workers, threads: workers) { chunk, _ in
            let (c, a, b) = box.value
            // Whole tiles of 3 columns per worker, so that only the last tile can be short.
            let columns = min(n, 3 * (chunk * tiles / workers))..<min(n, 3 * ((chunk + 1) * tiles / workers))
            guard !columns.isEmpty else { return }
            withUnsafeTemporaryAllocation(of: SIMD8<Float>.self, capacity: (m + 3) / 4 * 12) { scratch in
                avx2DotProductGEMM(c, ldc: ldc, a, lda: lda, b, ldb: ldb, m: m, columns: columns, k: k,
                                   beta: beta, accumulators: scratch.baseAddress!)
            }
        }
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
