// shapes: none; a flat block of `capacity` elements whose layout its owner defines.

/// A growable block of scratch memory owned by one layer or network (activations kept for
/// backward, per-step caches, batch staging). Growing discards the contents; it never shrinks,
/// so a run that repeats the same shapes allocates only on its first step.
public final class ScratchBuffer<Element> {
    public private(set) var pointer: UnsafeMutablePointer<Element>
    /// Elements currently allocated.
    public private(set) var capacity = 1

    public init() { pointer = .allocate(capacity: 1) }

    deinit { pointer.deallocate() }

    /// Makes room for `count` elements and returns the base address; earlier contents are kept
    /// only when no growth was needed.
    @discardableResult
    public func reserve(_ count: Int) -> UnsafeMutablePointer<Element> {
        if count > capacity {
            pointer.deallocate()
            pointer = .allocate(capacity: count)
            capacity = count
            // Large buffers (the LSTM's transposed weights and step caches, the convolutions'
            // workspaces) on 2 MiB pages from their first touch on.
            if count * MemoryLayout<Element>.stride >= 2 * HugePages.size {
                HugePages.advise(pointer, count: count, collapse: false)
            }
        }
        return pointer
    }
}

extension ScratchBuffer where Element == Float {
    /// Sets the first `count` floats to 0.
    public func zero(_ count: Int) { pointer.update(repeating: 0, count: count) }

    /// Makes room for `count` floats, zero-filled.
    @discardableResult
    public func reserveZeroed(_ count: Int) -> UnsafeMutablePointer<Float> {
        reserve(count)
        zero(count)
        return pointer
    }
}
