// The cache prefetch hint, which Swift cannot express: a header of static inline functions that
// the compiler inlines into JAMTensorAVX2's loops (no library to link).
#ifndef JAM_PREFETCH_SHIM_H
#define JAM_PREFETCH_SHIM_H

/// Asks the CPU to bring the cache line holding `address` into L2 (and L3) for reading
/// (`prefetcht1`); never faults. L2 keeps more misses in flight than L1, and the kernels reach
/// the line from L2 soon enough.
static inline void jam_prefetch(const void *address) {
    __builtin_prefetch(address, 0, 2);
}

#endif
