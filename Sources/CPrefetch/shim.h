// The cache prefetch hint, which Swift cannot express: a header of static inline functions that
// the compiler inlines into JAMTensorAVX2's loops (no library to link).
#ifndef JAM_PREFETCH_SHIM_H
#define JAM_PREFETCH_SHIM_H

/// Asks the CPU to bring the cache line holding `address` towards L1 for reading; never faults.
static inline void jam_prefetch(const void *address) {
    __builtin_prefetch(address, 0, 3);
}

#endif
