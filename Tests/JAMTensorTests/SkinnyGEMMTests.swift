// shapes: A [m, k] (row stride lda), B [n, k] (row stride ldb), C [m, n] (row stride ldc).

import Dispatch
import JAMTensor
import JAMTestSupport
import Testing

@Suite struct SkinnyGEMMTests {
    /// The kernels this machine can run: both on an AVX2+FMA CPU, OpenBLAS alone elsewhere
    /// (where `.avx2` is never chosen; the test says so rather than pass quietly).
    static var kernels: [SkinnyGEMM.Kernel] {
        if SkinnyGEMM.cpuHasAVX2AndFMA { return [.avx2, .openBLAS] }
        print("SkinnyGEMMTests: this CPU lacks AVX2 or FMA, so only the OpenBLAS path is tested")
        return [.openBLAS]
    }

    /// `C = beta·C + A·Bᵀ` against a Double loop, on sizes that leave every kind of edge: rows
    /// not a multiple of the 4-row groups, columns not a multiple of the 3-column tiles, k not a
    /// multiple of the 8 lanes and longer than one 256-element chunk, strides wider than the rows;
    /// 16 × 301 × 700 is large enough for two threads and several runs of tiles each (`TileClaims`).
    /// With beta = 0 C starts as NaN, which must never be read.
    @Test(arguments: [(1, 1, 1), (3, 2, 7), (4, 3, 8), (5, 7, 9), (16, 50, 300), (17, 13, 517), (32, 4, 1030), (16, 301, 700)])
    func productMatchesDoubleLoop(m: Int, n: Int, k: Int) {
        let (lda, ldb, ldc) = (k + 3, k + 5, n + 2)
        let a = uniformValues(m * lda, seed: 31), b = uniformValues(n * ldb, seed: 32)
        let c0 = uniformValues(m * ldc, seed: 33)
        for kernel in Self.kernels {
            for beta: Float in [0, 1, 0.5] {
                var c = beta == 0 ? [Float](repeating: .nan, count: m * ldc) : c0
                c.withUnsafeMutableBufferPointer { cp in
                    SkinnyGEMM.multiplyTransposed(cp.baseAddress!, ldc: ldc, a, lda: lda, b, ldb: ldb,
                                                  m: m, n: n, k: k, beta: beta, kernel: kernel)
                }
                var worst = 0.0
                for i in 0..<m {
                    for j in 0..<n {
                        var sum = 0.0, magnitude = 0.0
                        for p in 0..<k {
                            sum += Double(a[i * lda + p]) * Double(b[j * ldb + p])
                            magnitude += abs(Double(a[i * lda + p]) * Double(b[j * ldb + p]))
                        }
                        let old = beta == 0 ? 0 : Double(beta) * Double(c0[i * ldc + j])
                        let error = abs(Double(c[i * ldc + j]) - (sum + old)) / (magnitude + abs(old) + 1e-30)
                        worst = max(worst, error.isNaN ? .infinity : error)
                    }
                }
                // Float32 summation: a few units of 2⁻²⁴ relative to Σ|a·b|.
                #expect(worst < 2e-6, "\(kernel), m \(m) n \(n) k \(k), beta \(beta): worst error \(worst) of Σ|a·b|")
                // The padding between rows of C is left alone.
                for i in 0..<m {
                    for j in n..<ldc {
                        let expected = beta == 0 ? Float.nan : c0[i * ldc + j]
                        #expect(c[i * ldc + j].bitPattern == expected.bitPattern, "\(kernel): C[\(i), \(j)] changed")
                    }
                }
            }
        }
    }

    /// Each output depends only on its rows of A and B, so one or two threads, and any m, give
    /// the same bits (the stage's bit-identical resume relies on this at a fixed thread count).
    @Test func threadsAndRowCountDoNotChangeTheBits() {
        let (m, n, k) = (16, 301, 700)  // large enough for two workers
        let a = uniformValues(m * k, seed: 41), b = uniformValues(n * k, seed: 42)
        for kernel in Self.kernels where kernel == .avx2 {
            func product(rows: Int) -> [Float] {
                var c = [Float](repeating: 0, count: rows * n)
                c.withUnsafeMutableBufferPointer { cp in
                    SkinnyGEMM.multiplyTransposed(cp.baseAddress!, ldc: n, a, lda: k, b, ldb: k,
                                                  m: rows, n: n, k: k, kernel: kernel)
                }
                return c
            }
            // All threads (BLAS.threads, 2 on the CI machines), then one.
            let all = product(rows: m)
            let one = BLAS.withSingleThreadedBLAS { product(rows: m) }
            #expect(one.map(\.bitPattern) == all.map(\.bitPattern))
            let firstFive = product(rows: 5)
            #expect(firstFive.map(\.bitPattern) == Array(one.prefix(5 * n)).map(\.bitPattern))
        }
    }

    /// A worker takes its own share from the front, then the others' from the back.
    @Test func tileClaimsTakeTheOwnShareFirstThenTheOthersFromTheBack() {
        let claims = TileClaims(tiles: 10, workers: 2, tilesPerClaim: 3)
        var taken: [Range<Int>] = []
        while let run = claims.next(worker: 0) { taken.append(run) }
        #expect(taken == [0..<3, 3..<5, 7..<10, 5..<7])
        #expect(claims.next(worker: 1) == nil)
        let other = TileClaims(tiles: 10, workers: 2, tilesPerClaim: 3)
        #expect(other.next(worker: 1) == 5..<8)
        #expect(other.next(worker: 0) == 0..<3)
    }

    /// Threads claiming at once (more claims than tiles per share, shares of unequal length)
    /// get every tile exactly once.
    @Test(arguments: [(2, 1000, 7), (3, 1001, 5), (4, 97, 1)])
    func tileClaimsHandOutEveryTileOnceUnderContention(workers: Int, tiles: Int, perClaim: Int) {
        let claims = TileClaims(tiles: tiles, workers: workers, tilesPerClaim: perClaim)
        let counts = UnsafeMutablePointer<Int>.allocate(capacity: tiles * workers)
        counts.initialize(repeating: 0, count: tiles * workers)
        defer { counts.deallocate() }
        let box = UncheckedSendable(counts)
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            // Each worker counts in its own row, so the rows can be written at once.
            while let run = claims.next(worker: worker) {
                for tile in run { box.value[worker * tiles + tile] += 1 }
            }
        }
        for tile in 0..<tiles {
            let total = (0..<workers).reduce(0) { $0 + counts[$1 * tiles + tile] }
            #expect(total == 1, "tile \(tile) taken \(total) times")
        }
    }

    /// The automatic choice: JAM's kernel only for few rows against a large matrix.
    @Test func smallProductsAndManyRowsGoToOpenBLAS() {
        let large = SkinnyGEMM.minimumMatrixCount
        #expect(SkinnyGEMM.kernel(rows: 16, matrixCount: large) == SkinnyGEMM.kernel)
        #expect(SkinnyGEMM.kernel(rows: SkinnyGEMM.maximumRows, matrixCount: 4 * large) == SkinnyGEMM.kernel)
        #expect(SkinnyGEMM.kernel(rows: SkinnyGEMM.maximumRows + 1, matrixCount: large) == .openBLAS)
        #expect(SkinnyGEMM.kernel(rows: 16, matrixCount: large - 1) == .openBLAS)
    }

    /// Rows beyond `maximumRows` go to OpenBLAS and still give the product.
    @Test func manyRowsFallBackToOpenBLAS() {
        let (m, n, k) = (SkinnyGEMM.maximumRows + 3, 9, 20)
        let a = uniformValues(m * k, seed: 51), b = uniformValues(n * k, seed: 52)
        var expected = [Float](repeating: 0, count: m * n)
        expected.withUnsafeMutableBufferPointer { e in
            BLAS.sgemm(e.baseAddress!, ldc: n, a, lda: k, b, ldb: k, transposeB: true, m: m, n: n, k: k)
        }
        var c = [Float](repeating: 0, count: m * n)
        c.withUnsafeMutableBufferPointer { cp in
            SkinnyGEMM.multiplyTransposed(cp.baseAddress!, ldc: n, a, lda: k, b, ldb: k, m: m, n: n, k: k)
        }
        #expect(c == expected)
    }

    /// The transpose against index arithmetic, with both kernels, on sizes around the 8×8 tiles
    /// and the 64-column blocks the threads share.
    @Test(arguments: [(1, 1), (7, 13), (8, 8), (9, 64), (70, 65), (16, 130), (33, 1)])
    func transposeMovesEveryElement(rows: Int, columns: Int) {
        let ld = columns + 3
        let source = (0..<(rows * ld)).map { Float($0) }
        for kernel in Self.kernels {
            var destination = [Float](repeating: -1, count: rows * columns)
            destination.withUnsafeMutableBufferPointer { d in
                SkinnyGEMM.transpose(d.baseAddress!, source, ldSource: ld, rows: rows, columns: columns, kernel: kernel)
            }
            let expected = (0..<(rows * columns)).map { e in source[(e % rows) * ld + e / rows] }
            #expect(destination == expected, "\(kernel), \(rows)×\(columns)")
        }
    }

    @Test func kernelChoiceFollowsTheCPUAndTheOverride() {
        let capable: Set<String> = ["sse2", "avx", "avx2", "fma"]
        #expect(SkinnyGEMM.choose(environment: [:], cpuFlags: capable) == .avx2)
        #expect(SkinnyGEMM.choose(environment: [:], cpuFlags: ["sse2", "avx", "avx2"]) == .openBLAS)
        #expect(SkinnyGEMM.choose(environment: [:], cpuFlags: []) == .openBLAS)
        #expect(SkinnyGEMM.choose(environment: ["JAM_SKINNY_GEMM": "openblas"], cpuFlags: capable) == .openBLAS)
        #expect(SkinnyGEMM.choose(environment: ["JAM_SKINNY_GEMM": "OpenBLAS"], cpuFlags: capable) == .openBLAS)
        #expect(BLASInfo.current.description.contains(SkinnyGEMM.kernel.description))
    }
}

