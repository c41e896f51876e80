// shapes: A [m, k] (row stride lda), B [n, k] (row stride ldb), C [m, n] (row stride ldc), all
// row-major Float; this kernel writes the columns `columns` of C.
// Tests: Tests/JAMTensorTests/SkinnyGEMMTests.swift (against a Double loop, odd sizes, every edge)
//
// This module is compiled for Haswell-class CPUs (AVX2 + FMA, see Package.swift): its code must
// run only after `SkinnyGEMM` in JAMTensor has checked that the CPU has both. It holds no global
// state, so loading it never executes an AVX2 instruction.

import CPrefetch

/// `C[:, columns] = beta·C[:, columns] + A · Bᵀ[:, columns]`: each output is the dot product of a
/// row of A with a row of B.
///
/// Built for products with few rows (m ≈ 16) against a large B, the LSTM's per-step products
/// with its weights, where OpenBLAS spends most of its time repacking B on every call. Here B is
/// read in place, each of its rows once from memory: a tile of 3 rows of B meets the rows of A
/// 4 at a time in 12 accumulators of 8 lanes, over k in chunks of `chunkLength` so that the
/// chunk of the 3 B rows stays in L1 while every group of A rows passes over it (512: 256 spent
/// a fifth of the time loading and storing the accumulators between chunks).
///
/// The result of an output element depends only on its row of A, its row of B and k: not on m,
/// on `columns` or on how callers split the columns between threads. Partial sums are kept per
/// lane and chunk order and summed lane-wise at the end, so the rounding differs from a plain
/// loop's by float32 summation error only.
///
/// - Parameters:
///   - beta: 0 overwrites C (its old values are never read), otherwise `C = beta·C + A·Bᵀ`.
///   - accumulators: scratch of at least `((m + 3) / 4) · 12` vectors.
///   - prefetchEnd: the rows of B before this one may be prefetched (at least `columns`' end):
///     a caller that computes the columns in consecutive runs passes the end of the whole run,
///     so that the first tile of the next run is on its way too.
@inline(never)
public func avx2DotProductGEMM(
    _ c: UnsafeMutablePointer<Float>, ldc: Int,
    _ a: UnsafePointer<Float>, lda: Int,
    _ b: UnsafePointer<Float>, ldb: Int,
    m: Int, columns: Range<Int>, k: Int, beta: Float,
    accumulators: UnsafeMutablePointer<SIMD8<Float>>,
    prefetchEnd: Int
) {
    precondition(prefetchEnd >= columns.upperBound, "avx2DotProductGEMM: prefetchEnd \(prefetchEnd) before the columns' end")
    let groups = (m + 3) / 4
    let vectorLength = k & ~7
    let chunkLength = 512
    var j = columns.lowerBound
    while j < columns.upperBound {
        let tileColumns = min(3, columns.upperBound - j)
        // A short tile repeats its last row of B; the repeated sums are computed but not stored.
        let b0 = b + j &* ldb
        let b1 = b + (j + min(1, tileColumns - 1)) &* ldb
        let b2 = b + (j + min(2, tileColumns - 1)) &* ldb
        // The next tile's rows, prefetched while this tile runs, so that they arrive from memory
        // before they are needed (the hardware prefetcher alone left the kernel waiting on memory
        // for weights larger than the L3 cache). Group g of A rows prefetches row g, which spreads
        // the requests over the tile instead of a burst that overflows the miss queues (with
        // fewer than 3 groups, m ≤ 8, the rows past the last group are left to the hardware);
        // into L2 (`jam_prefetch`), which holds more requests in flight than L1.
        let next = j + 3 < prefetchEnd ? j + 3 : j
        let p0 = b + next &* ldb
        let p1 = b + min(next + 1, prefetchEnd - 1) &* ldb
        let p2 = b + min(next + 2, prefetchEnd - 1) &* ldb
        accumulators.update(repeating: SIMD8(), count: groups &* 12)
        var start = 0
        while start < vectorLength {
            let end = min(start + chunkLength, vectorLength)
            for g in 0..<groups {
                let r = g &* 4
                let rows = min(4, m - r)
                let a0 = a + r &* lda
                let a1 = a + (r + min(1, rows - 1)) &* lda
                let a2 = a + (r + min(2, rows - 1)) &* lda
                let a3 = a + (r + min(3, rows - 1)) &* lda
                let t = accumulators + g &* 12
                var c00 = t[0], c01 = t[1], c02 = t[2]
                var c10 = t[3], c11 = t[4], c12 = t[5]
                var c20 = t[6], c21 = t[7], c22 = t[8]
                var c30 = t[9], c31 = t[10], c32 = t[11]
                var i = start
                // The same loop twice, with and without the prefetch: written as one loop with a
                // branch, the compiler neither unswitches it nor keeps the pointers in registers.
                if g < 3 {
                    let q = g == 0 ? p0 : g == 1 ? p1 : p2
                    while i < end {
                        jam_prefetch(q + i)
                        let y0 = lanes(b0 + i), y1 = lanes(b1 + i), y2 = lanes(b2 + i)
                        let x0 = lanes(a0 + i)
                        c00.addProduct(x0, y0); c01.addProduct(x0, y1); c02.addProduct(x0, y2)
                        let x1 = lanes(a1 + i)
                        c10.addProduct(x1, y0); c11.addProduct(x1, y1); c12.addProduct(x1, y2)
                        let x2 = lanes(a2 + i)
                        c20.addProduct(x2, y0); c21.addProduct(x2, y1); c22.addProduct(x2, y2)
                        let x3 = lanes(a3 + i)
                        c30.addProduct(x3, y0); c31.addProduct(x3, y1); c32.addProduct(x3, y2)
                        i &+= 8
                    }
                }
                while i < end {
                    let y0 = lanes(b0 + i), y1 = lanes(b1 + i), y2 = lanes(b2 + i)
                    let x0 = lanes(a0 + i)
                    c00.addProduct(x0, y0); c01.addProduct(x0, y1); c02.addProduct(x0, y2)
                    let x1 = lanes(a1 + i)
                    c10.addProduct(x1, y0); c11.addProduct(x1, y1); c12.addProduct(x1, y2)
                    let x2 = lanes(a2 + i)
                    c20.addProduct(x2, y0); c21.addProduct(x2, y1); c22.addProduct(x2, y2)
                    let x3 = lanes(a3 + i)
                    c30.addProduct(x3, y0); c31.addProduct(x3, y1); c32.addProduct(x3, y2)
                    i &+= 8
                }
                t[0] = c00; t[1] = c01; t[2] = c02
                t[3] = c10; t[4] = c11; t[5] = c12
                t[6] = c20; t[7] = c21; t[8] = c22
                t[9] = c30; t[10] = c31; t[11] = c32
            }
            start = end
        }
        for g in 0..<groups {
            let r = g &* 4
            for row in 0..<min(4, m - r) {
                let aRow = a + (r + row) &* lda
                for column in 0..<tileColumns {
                    var sum = accumulators[g &* 12 &+ row &* 3 &+ column].sum()
                    let bRow = b + (j + column) &* ldb
                    var i = vectorLength
                    while i < k {
                        sum += aRow[i] * bRow[i]
                        i &+= 1
                    }
                    let p = c + ((r + row) &* ldc + j + column)
                    p.pointee = beta == 0 ? sum : beta * p.pointee + sum
                }
            }
        }
        j &+= 3
    }
}

@inline(__always)
func lanes(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
}
