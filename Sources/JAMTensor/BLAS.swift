// shapes: all matrices row-major; A [m, k], B [k, n], C [m, n] (before the optional transposes),
// each with its leading dimension (elements between consecutive rows).

import CBLAS
import Foundation
import Synchronization

/// A thin wrapper over OpenBLAS: single-precision GEMM, the library's thread count, and which
/// core kernels it loaded.
public enum BLAS {
    /// `C = alpha · op(A) · op(B) + beta · C`, row-major (`cblas_sgemm`).
    ///
    /// - Parameters:
    ///   - c: output `[m, n]`, row stride `ldc`.
    ///   - a: `op(A)` is `[m, k]`; A itself is `[m, k]` (row stride `lda`) or, when `transposeA`,
    ///     `[k, m]`.
    ///   - b: `op(B)` is `[k, n]`; B itself is `[k, n]` (row stride `ldb`) or, when `transposeB`,
    ///     `[n, k]`.
    ///
    /// `k == 0` (an empty sum) means `C = beta · C`, with `beta == 0` writing exact zeros.
    @inlinable
    public static func sgemm(
        _ c: UnsafeMutablePointer<Float>, ldc: Int,
        _ a: UnsafePointer<Float>, lda: Int, transposeA: Bool = false,
        _ b: UnsafePointer<Float>, ldb: Int, transposeB: Bool = false,
        m: Int, n: Int, k: Int, alpha: Float = 1, beta: Float = 0
    ) {
        guard m > 0, n > 0 else { return }
        guard k > 0 else {
            // OpenBLAS rejects the zero row strides that k == 0 implies and does not scale C on
            // every path, so the empty sum is done here.
            if beta != 1 {
                for r in 0..<m {
                    for j in 0..<n { c[r &* ldc &+ j] = beta == 0 ? 0 : beta * c[r &* ldc &+ j] }
                }
            }
            return
        }
        precondition(m <= Int(Int32.max) && n <= Int(Int32.max) && k <= Int(Int32.max),
                     "sgemm size \(m)×\(n)×\(k) exceeds OpenBLAS's 32-bit interface")
        if m &* n &* k > openBLASSingleThreadLimit { releaseWorkerCores() }
        cblas_sgemm(
            CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
            blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb), beta, c,
            blasint(ldc))
    }

    /// OpenBLAS runs a product of at most this many multiply-adds (m·n·k) on the calling thread
    /// alone (its `SMP_THRESHOLD_MIN` × `GEMM_MULTITHREAD_THRESHOLD`, 65536 × 4); larger ones
    /// start its threads.
    @usableFromInline static let openBLASSingleThreadLimit = 65536 * 4

    /// Sends `parallelFor`'s polling helper threads to sleep before OpenBLAS starts its own on
    /// the same cores (`WorkerPool.releaseCores`).
    @usableFromInline static func releaseWorkerCores() {
        WorkerPool.shared.releaseCores()
    }

    /// `C = A · B` on arrays: C `[m, n]`, A `[m, k]`, B `[k, n]`, all dense row-major.
    public static func sgemm(_ c: inout [Float], _ a: [Float], _ b: [Float], m: Int, n: Int, k: Int) {
        precondition(a.count == m * k && b.count == k * n, "sgemm: A must be [\(m), \(k)], B [\(k), \(n)]")
        if c.count != m * n { c = [Float](repeating: 0, count: m * n) }
        c.withUnsafeMutableBufferPointer { cp in
            a.withUnsafeBufferPointer { ap in
                b.withUnsafeBufferPointer { bp in
                    sgemm(cp.baseAddress!, ldc: n, ap.baseAddress!, lda: k, bp.baseAddress!, ldb: n,
                          m: m, n: n, k: k)
                }
            }
        }
    }

    /// How many threads OpenBLAS uses for one call. Setting it while a `withSingleThreadedBLAS`
    /// scope is active (another thread's single-threaded workers) takes effect when the last
    /// scope ends, so their GEMMs never change thread count, and so results, midway.
    public static var threads: Int {
        get { Int(openblas_get_num_threads()) }
        set {
            let count = max(1, newValue)
            singleThreadScope.withLock { state in
                if state.depth > 0 {
                    state.saved = count
                } else {
                    openblas_set_num_threads(Int32(count))
                }
            }
        }
    }

    /// Runs `body` with OpenBLAS limited to one thread and restores the previous count after, so
    /// that our own workers can each run single-threaded GEMMs side by side without the two
    /// thread pools competing for the cores. Nested and concurrent scopes are counted: the count
    /// is restored when the last one ends.
    public static func withSingleThreadedBLAS<R>(_ body: () throws -> R) rethrows -> R {
        singleThreadScope.withLock { state in
            if state.depth == 0 {
                state.saved = Int(openblas_get_num_threads())
                if state.saved != 1 { openblas_set_num_threads(1) }
            }
            state.depth += 1
        }
        defer {
            singleThreadScope.withLock { state in
                state.depth -= 1
                if state.depth == 0, state.saved != 1 { openblas_set_num_threads(Int32(state.saved)) }
            }
        }
        return try body()
    }

    /// Measures single-precision GEMM throughput in this process: best of `repetitions` timed
    /// `size`³ products (after one warm-up), on OpenBLAS's current thread count, in GFLOP/s
    /// (2·size³ floating-point operations per product).
    public static func measureSGEMMPeak(size: Int = 2048, repetitions: Int = 3) -> Double {
        let count = size * size
        let a = UnsafeMutablePointer<Float>.allocate(capacity: count)
        let b = UnsafeMutablePointer<Float>.allocate(capacity: count)
        let c = UnsafeMutablePointer<Float>.allocate(capacity: count)
        defer { a.deallocate(); b.deallocate(); c.deallocate() }
        for i in 0..<count {
            a[i] = Float(i % 13) * 0.01 - 0.06
            b[i] = Float(i % 7) * 0.02 - 0.06
        }
        var best = Double.infinity
        for rep in 0...max(1, repetitions) {
            let start = DispatchTime.now().uptimeNanoseconds
            sgemm(c, ldc: size, a, lda: size, b, ldb: size, m: size, n: size, k: size)
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
            if rep > 0 { best = min(best, seconds) }  // rep 0 warms caches and the thread pool
        }
        return 2 * Double(size) * Double(size) * Double(size) / best / 1e9
    }
}

private let singleThreadScope = Mutex<(depth: Int, saved: Int)>((0, 1))

/// Which OpenBLAS build and core kernels this process loaded.
///
/// OpenBLAS picks its kernels when the library loads: from `OPENBLAS_CORETYPE` when that is set
/// (for example `Haswell`, AVX2) or else by detecting the CPU (for example `Cooperlake` or
/// `SkylakeX` with AVX-512, `Zen` on AMD without it). The same program can therefore run at very
/// different speeds on one machine, so benchmarks and logs print this.
public struct BLASInfo: Sendable, CustomStringConvertible {
    /// `openblas_get_corename()`, e.g. `Haswell`, `Cooperlake`, `Zen`.
    public var coreName: String
    /// `openblas_get_config()`: version and build options.
    public var configuration: String
    /// `openblas_get_num_threads()`.
    public var threads: Int
    /// The value of `OPENBLAS_CORETYPE` in this process's environment, if any.
    public var coreTypeOverride: String?
    /// The core OpenBLAS detected on its own, when JAM replaced it (`BLASKernelChoice`).
    public var replacedCore: String?
    /// What OpenBLAS's idle worker threads do (`OpenBLASIdleThreads`).
    public var idleThreads: OpenBLASIdleThreads.Setting

    /// What the loaded library reports now.
    public static var current: BLASInfo {
        BLASInfo(
            coreName: openblas_get_corename().map { String(cString: $0) } ?? "unknown",
            configuration: openblas_get_config().map { String(cString: $0) } ?? "unknown",
            threads: Int(openblas_get_num_threads()),
            coreTypeOverride: ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"],
            replacedCore: ProcessInfo.processInfo.environment[BLASKernelChoice.detectedVariable],
            idleThreads: OpenBLASIdleThreads.current)
    }

    public var description: String {
        var source = coreTypeOverride.map { "OPENBLAS_CORETYPE=\($0)" } ?? "auto-detected"
        if let replacedCore, coreTypeOverride != nil {
            source = "chosen by JAM: OpenBLAS detected \(replacedCore), its generic fallback, on a CPU that runs "
                + "\(coreName); set OPENBLAS_CORETYPE to choose"
        }
        return "OpenBLAS core \(coreName) (\(source)), \(threads) thread(s); \(configuration); "
            + "\(idleThreads); LSTM step products: \(SkinnyGEMM.kernel); parallel loops' helper threads poll "
            + "\(WorkerPool.shared.spinNanoseconds / 1000) µs before they sleep (\(WorkerPool.spinVariable))"
    }
}
