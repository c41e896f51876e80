// shapes: A [m, k], B [k, n], C [m, n], row-major (transposed operands stored as [k, m], [n, k]).

import JAMTensor
import JAMTestSupport
import Testing

@Suite struct BLASTests {
    @Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
    func sgemmMatchesNaiveProduct(transposeA: Bool, transposeB: Bool) {
        let (m, n, k) = (5, 7, 3)
        let a = uniformValues(m * k, seed: 20), b = uniformValues(k * n, seed: 21)
        let c0 = uniformValues(m * n, seed: 22)
        // op(A)[i, p] and op(B)[p, j] read from the stored (possibly transposed) layouts.
        func opA(_ i: Int, _ p: Int) -> Double { Double(transposeA ? a[p * m + i] : a[i * k + p]) }
        func opB(_ p: Int, _ j: Int) -> Double { Double(transposeB ? b[j * k + p] : b[p * n + j]) }
        var expected = [Double](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var sum = 0.0
                for p in 0..<k { sum += opA(i, p) * opB(p, j) }
                expected[i * n + j] = 2 * sum + 0.5 * Double(c0[i * n + j])
            }
        }
        var c = c0
        c.withUnsafeMutableBufferPointer { cp in
            a.withUnsafeBufferPointer { ap in
                b.withUnsafeBufferPointer { bp in
                    BLAS.sgemm(cp.baseAddress!, ldc: n, ap.baseAddress!, lda: transposeA ? m : k,
                               transposeA: transposeA, bp.baseAddress!, ldb: transposeB ? k : n,
                               transposeB: transposeB, m: m, n: n, k: k, alpha: 2, beta: 0.5)
                }
            }
        }
        expectClose(c, expected, rtol: 1e-6, atol: 1e-6, "sgemm")
    }

    @Test func arraySgemmMatchesHandWorkedProduct() {
        var c: [Float] = []
        // [1 2; 3 4] · [5; 6] = [17; 39]
        BLAS.sgemm(&c, [1, 2, 3, 4], [5, 6], m: 2, n: 1, k: 2)
        #expect(c == [17, 39])
    }

    @Test func infoNamesTheLoadedCore() {
        let info = BLASInfo.current
        #expect(!info.coreName.isEmpty && info.coreName != "unknown")
        #expect(info.configuration.contains("OpenBLAS"))
        #expect(info.threads >= 1)
        #expect(info.description.contains(info.coreName))
    }

    @Test func singleThreadedScopeRestoresTheThreadCount() {
        let before = BLAS.threads
        BLAS.withSingleThreadedBLAS {
            #expect(BLAS.threads == 1)
            BLAS.withSingleThreadedBLAS { #expect(BLAS.threads == 1) }
            #expect(BLAS.threads == 1)
        }
        // Other tests may hold a scope concurrently; outside all scopes the count comes back.
        #expect(BLAS.threads == before || BLAS.threads == 1)
    }

    @Test func peakMeasurementIsPositive() {
        let gflops = BLAS.measureSGEMMPeak(size: 128, repetitions: 1)
        #expect(gflops > 0.1 && gflops.isFinite)
    }
}
