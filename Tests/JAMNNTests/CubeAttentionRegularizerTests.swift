import JAMNN
import JAMReferenceSupport
import JAMTestSupport
import Testing

@Suite("CubeAttentionRegularizer")
struct CubeAttentionRegularizerTests {
    @Test("loss matches Double; gradient w.r.t. the cube matches finite differences")
    func lossAndGradient() {
        let (s, l, n) = (3, 9, 4)
        let x = randomArray(s * l * n, seed: 71, in: 0...1)
        let att = randomAttentionTargets(steps: s, locations: l, seed: 72)
        let weight: Float = 7
        var shares = [Float](repeating: .nan, count: s * l), totals = [Float](repeating: .nan, count: s)
        let loss = CubeAttentionRegularizer.forward(shares: &shares, totals: &totals, cube: x, target: att,
                                                    weight: weight, steps: s, locations: l, channels: n)
        let f = { (v: [Double]) in
            referenceAttentionTerm(v, doubles(att), weight: Double(weight), steps: s, locations: l, channels: n)
        }
        #expect(abs(loss - f(doubles(x))) < 1e-5 * abs(f(doubles(x))) + 1e-7)
        var dx = [Float](repeating: 0.5, count: x.count)
        CubeAttentionRegularizer.backward(cubeGradient: &dx, shares: shares, totals: totals, target: att,
                                          weight: weight, steps: s, locations: l, channels: n)
        expectClose(dx.map { $0 - 0.5 }, centralDifferences(doubles(x), f), rtol: 1e-4, atol: 1e-5, "attention dX")
    }

    @Test("an all-zero step contributes λ Σ att² and no gradient; other steps are unaffected")
    func allZeroStep() {
        let (s, l, n) = (2, 4, 3)
        var x = randomArray(s * l * n, seed: 73, in: 0...1)
        for i in 0..<(l * n) { x[i] = 0 }  // step 0 is dead
        let att: [Float] = [0.1, 0.2, 0.3, 0.4, 0.25, 0.25, 0.25, 0.25]
        var shares = [Float](repeating: 0, count: s * l), totals = [Float](repeating: 0, count: s)
        let loss = CubeAttentionRegularizer.forward(shares: &shares, totals: &totals, cube: x, target: att,
                                                    weight: 2, steps: s, locations: l, channels: n)
        let live = referenceAttentionTerm(doubles(Array(x[(l * n)...])), doubles(Array(att[l...])), weight: 2,
                                          steps: 1, locations: l, channels: n)
        #expect(abs(loss - (2 * (0.01 + 0.04 + 0.09 + 0.16) + live)) < 1e-6)
        var dx = [Float](repeating: 0, count: x.count)
        CubeAttentionRegularizer.backward(cubeGradient: &dx, shares: shares, totals: totals, target: att,
                                          weight: 2, steps: s, locations: l, channels: n)
        #expect(dx[0..<(l * n)].allSatisfy { $0 == 0 })
        #expect(dx.allSatisfy { $0.isFinite })
        #expect(dx[(l * n)...].contains { $0 != 0 })
    }
}
