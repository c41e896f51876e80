// shapes: attention [R, K·K], features [R, K·K, N], pyramid rows [R, 5N] = [full, q1, q2, q3, q4].

import JAMNN
import JAMReferenceSupport
import JAMTestSupport
import Testing

/// The pyramid in Double, from the formulas of docs/DESIGN.md §4: quadrants listed by row and column.
private func referencePyramid(attention a: [Double], features x: [Double], grid k: Int, channels n: Int) -> [Double] {
    let s = k * k
    let rows = a.count / s
    let middle = k / 2
    let top = Array(0..<(k % 2 == 1 ? middle + 1 : middle)), bottom = Array(middle..<k)
    var output: [Double] = []
    for r in 0..<rows {
        var full = [Double](repeating: 0, count: n)
        for i in 0..<s { for c in 0..<n { full[c] += a[r * s + i] * x[(r * s + i) * n + c] } }
        output += full
        for (rowSet, columnSet) in [(top, top), (top, bottom), (bottom, top), (bottom, bottom)] {
            var sum = [Double](repeating: 0, count: n), mass = 0.0
            for row in rowSet {
                for column in columnSet {
                    let i = row * k + column
                    mass += a[r * s + i]
                    for c in 0..<n { sum[c] += a[r * s + i] * x[(r * s + i) * n + c] }
                }
            }
            output += sum.map { $0 / mass }
        }
    }
    return output
}

@Suite("Spatial pyramid")
struct SpatialPyramidTests {
    @Test("hand-worked quadrant means, K = 3 (shared middle) and K = 4")
    func handWorked() {
        // Uniform attention, feature = location index (N = 1).
        let three = SpatialPyramid.forward(
            attention: [Float](repeating: 1.0 / 9, count: 9), features: (0..<9).map(Float.init), gridSize: 3, channels: 1)
        // full = 36/9; q1 = {0,1,3,4}, q2 = {1,2,4,5}, q3 = {3,4,6,7}, q4 = {4,5,7,8}.
        expectClose(three, [4, 2, 3, 5, 6], rtol: 1e-6, atol: 1e-6, "K=3")
        let four = SpatialPyramid.forward(
            attention: [Float](repeating: 1.0 / 16, count: 16), features: (0..<16).map(Float.init), gridSize: 4, channels: 1)
        // full = 120/16; q1 = {0,1,4,5}, q2 = {2,3,6,7}, q3 = {8,9,12,13}, q4 = {10,11,14,15}.
        expectClose(four, [7.5, 2.5, 4.5, 10.5, 12.5], rtol: 1e-6, atol: 1e-6, "K=4")
        #expect(SpatialPyramid.quadrants(gridSize: 11)[3].rows == 5..<11)
        #expect(SpatialPyramid.quadrants(gridSize: 11)[0].columns == 0..<6)
    }

    @Test("forward and backward against central differences of a Double pyramid", arguments: [1, 3, 4, 5])
    func gradients(grid k: Int) {
        let (rows, n, s) = (2, 3, k * k)
        var random = LSTMTestRandom(seed: UInt64(100 + k))
        // A positive, unnormalised map: the pyramid must not rely on Σ att = 1.
        let attention = random.floats(rows * s, 0.05, 1)
        let features = random.floats(rows * s * n, 0, 1)
        let upstream = random.floats(rows * 5 * n, -1, 1)
        let output = SpatialPyramid.forward(attention: attention, features: features, gridSize: k, channels: n)
        let reference = referencePyramid(attention: attention.map(Double.init), features: features.map(Double.init), grid: k, channels: n)
        expectClose(output, reference, rtol: 1e-5, atol: 1e-6, "forward K=\(k)")

        let (dAttention, dFeatures) = SpatialPyramid.backward(
            outputGradient: upstream, attention: attention, features: features, gridSize: k, channels: n)
        func loss(_ a: [Double], _ x: [Double]) -> Double {
            zip(referencePyramid(attention: a, features: x, grid: k, channels: n), upstream).reduce(0) { $0 + $1.0 * Double($1.1) }
        }
        let epsilon = 1e-6
        var a = attention.map(Double.init), x = features.map(Double.init)
        var numericAttention: [Double] = [], numericFeatures: [Double] = []
        for i in a.indices {
            let saved = a[i]
            a[i] = saved + epsilon; let plus = loss(a, x)
            a[i] = saved - epsilon; let minus = loss(a, x)
            a[i] = saved
            numericAttention.append((plus - minus) / (2 * epsilon))
        }
        for i in x.indices {
            let saved = x[i]
            x[i] = saved + epsilon; let plus = loss(a, x)
            x[i] = saved - epsilon; let minus = loss(a, x)
            x[i] = saved
            numericFeatures.append((plus - minus) / (2 * epsilon))
        }
        print("[pyramid K=\(k)] max |d att − numeric| \(maxAbsDifference(dAttention, numericAttention)), max |dX − numeric| \(maxAbsDifference(dFeatures, numericFeatures))")
        expectClose(dAttention, numericAttention, rtol: 1e-4, atol: 1e-5, "d attention K=\(k)")
        expectClose(dFeatures, numericFeatures, rtol: 1e-4, atol: 1e-5, "d features K=\(k)")
    }
}
