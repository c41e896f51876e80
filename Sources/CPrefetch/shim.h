// CPU hints that Swift cannot express: a header of static inline functions that the compiler
// inlines into JAMTensor's and JAMTensorAVX2's loops (no library to link).
#ifndef JAM_PREFETCH_SHIM_H
#define JAM_PREFETCH_SHIM_H

/// Asks the CPU to bring the cache line holding `address` into L2 (and L3) for reading
/// (`prefetcht1`); never faults. L2 keeps more misses in flight than L1, and the kernels reach
/// the line from L2 soon enough.
static inline void jam_prefetch(const void *address) {
    __builtin_prefetch(address, 0, 2);
}

/// Tells the CPU that this thread is waiting in a spin loop (`pause` on x86, `yield` on ARM):
/// the loop then uses less power and leaves more of the core to a sibling hyperthread.
static inline void jam_spin_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

#endif
