// shapes: none (a pointer wrapper). GEMM is JAMTensor's `BLAS.sgemm`.

/// Lets unsafe pointers cross into `DispatchQueue.concurrentPerform` work items; the caller
/// guarantees that the work items write disjoint parts.
struct UnsafeSendablePointer<T>: @unchecked Sendable {
    let pointer: T
    init(_ pointer: T) { self.pointer = pointer }
}
