// Tests: Tests/JAMTensorTests/HugePagesTests.swift (AnonHugePages of the advised range, from
// /proc/self/smaps; nothing outside the range; empty and unaligned ranges)

import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Backs large buffers with the kernel's 2 MiB transparent huge pages.
///
/// The LSTM streams its weights from memory at every step (183 MB per pass at the paper's sizes,
/// far more than the caches); with 4 KiB pages every 4 KiB of a pass is a TLB miss and a page
/// walk, which delays the prefetched reads. On 2 MiB pages the joint LSTM's training step took
/// 7% less time (docs/BENCHMARKS.md). Where the machine's transparent huge pages are `madvise`
/// (a common default), only advised memory gets them, hence `advise`. It changes no value, only
/// how memory is mapped, and where the kernel refuses it nothing changes.
public enum HugePages {
    /// The huge page size on x86-64 and most aarch64 kernels.
    public static let size = 2 << 20

    /// Asks the kernel to back the whole 2 MiB pages inside `[base, base + byteCount)` with huge
    /// pages: pages touched from now on (`MADV_HUGEPAGE`) and, with `collapse`, those already in
    /// memory (`MADV_COLLAPSE`, Linux 6.1 and later; it copies them once). A range is collapsed
    /// at most once per process, whether the kernel managed or not, so that a machine short of
    /// free huge pages does not pay for a failed attempt at every step. Returns the bytes
    /// advised (0 when the range holds no whole huge page or the kernel refused).
    @discardableResult
    public static func advise(_ base: UnsafeMutableRawPointer, byteCount: Int, collapse: Bool) -> Int {
        #if os(Linux)
        guard let range = wholePages(address: Int(bitPattern: base), byteCount: byteCount),
              let pointer = UnsafeMutableRawPointer(bitPattern: range.lowerBound),
              madvise(pointer, range.count, 14 /* MADV_HUGEPAGE */) == 0 else { return 0 }
        if collapse && firstCollapse(of: range) { _ = madvise(pointer, range.count, 25 /* MADV_COLLAPSE */) }
        return range.count
        #else
        return 0
        #endif
    }

    private static let collapsed = Mutex<Set<Range<Int>>>([])

    /// Whether `range` is asked to collapse for the first time (and remembers it). The memory is
    /// bounded: past 4096 ranges it starts over.
    private static func firstCollapse(of range: Range<Int>) -> Bool {
        collapsed.withLock { ranges in
            if ranges.count >= 4096 { ranges.removeAll() }
            return ranges.insert(range).inserted
        }
    }

    /// `advise` for `count` elements from `pointer`.
    @discardableResult
    public static func advise<Element>(_ pointer: UnsafeMutablePointer<Element>, count: Int, collapse: Bool) -> Int {
        advise(UnsafeMutableRawPointer(pointer), byteCount: count * MemoryLayout<Element>.stride, collapse: collapse)
    }

    /// The addresses of the whole huge pages inside `[address, address + byteCount)`, or nil
    /// when there is none.
    public static func wholePages(address: Int, byteCount: Int) -> Range<Int>? {
        let start = (address + size - 1) & ~(size - 1)
        let end = (address + byteCount) & ~(size - 1)
        return end > start ? start..<end : nil
    }

}
