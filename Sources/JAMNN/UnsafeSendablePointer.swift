// shapes: row-major matrices; A is [m, k] (or [k, m] when transposed), B is [k, n] (or [n, k]), C is [m, n].
import CBLAS

/// `C = alpha · op(A) · op(B) + beta · C`, row-major, through OpenBLAS.
///
/// JAMNN calls OpenBLAS directly (not JAMTensor's wrappers) so that the layers do not wait on
/// that target; the leading dimensions are the stored row lengths.
@inline(__always)
func rowMajorSgemm(
    _ c: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
    m: Int, n: Int, k: Int,
    transposeA: Bool = false, transposeB: Bool = false,
    alpha: Float = 1, beta: Float = 0,
    lda: Int? = nil, ldb: Int? = nil, ldc: Int? = nil
) {
    guard m > 0, n > 0 else { return }
    if k == 0 {
        // OpenBLAS does not scale C when k = 0 on every path; keep the contract explicit.
        if beta != 1 {
            let ldC = ldc ?? n
            for i in 0..<m { for j in 0..<n { c[i &* ldC &+ j] *= beta } }
        }
        return
    }
    let ldA = lda ?? (transposeA ? m : k)
    let ldB = ldb ?? (transposeB ? k : n)
    let ldC = ldc ?? n
    precondition(m <= Int(Int32.max) && n <= Int(Int32.max) && k <= Int(Int32.max),
                 "sgemm size \(m)×\(n)×\(k) exceeds the 32-bit BLAS interface")
    cblas_sgemm(
        CblasRowMajor,
        transposeA ? CblasTrans : CblasNoTrans,
        transposeB ? CblasTrans : CblasNoTrans,
        blasint(m), blasint(n), blasint(k),
        alpha, a, blasint(ldA), b, blasint(ldB),
        beta, c, blasint(ldC))
}

/// Lets unsafe pointers cross into `DispatchQueue.concurrentPerform` work items; the caller
/// guarantees that the work items write disjoint parts.
struct UnsafeSendablePointer<T>: @unchecked Sendable {
    let pointer: T
    init(_ pointer: T) { self.pointer = pointer }
}
