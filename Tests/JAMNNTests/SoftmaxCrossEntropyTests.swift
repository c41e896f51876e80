import Foundation
import JAMNN
import JAMReferenceSupport
import JAMTestSupport
import Testing

@Suite("SoftmaxCrossEntropy")
struct SoftmaxCrossEntropyTests {
    @Test("loss and probabilities match Double; backward matches finite differences")
    func lossAndGradient() {
        let (m, c) = (6, 5)
        let z = randomArray(m * c, seed: 61, in: -3...3)
        let labels = [0, 4, 2, 2, 1, 3]
        let labels32 = labels.map(Int32.init)
        var p = [Float](repeating: .nan, count: m * c)
        let loss = SoftmaxCrossEntropy.forward(probabilities: &p, logits: z, labels: labels32, rows: m, classes: c)
        let zd = doubles(z)
        #expect(abs(loss - referenceCrossEntropy(zd, labels: labels, classes: c)) < 1e-5)
        for r in 0..<m {
            let row = zd[(r * c)..<((r + 1) * c)]
            let sum = row.reduce(0) { $0 + exp($1) }
            expectClose(p[(r * c)..<((r + 1) * c)], row.map { exp($0) / sum }, rtol: 1e-6, atol: 1e-7, "softmax row \(r)")
        }
        #expect(SoftmaxCrossEntropy.argmaxRows(p, rows: m, classes: c)
            == (0..<m).map { r in (0..<c).max { zd[r * c + $0] < zd[r * c + $1] }! })

        var dz = [Float](repeating: 0.5, count: m * c)
        SoftmaxCrossEntropy.backward(logitsGradient: &dz, probabilities: p, labels: labels32, scale: 0.5, rows: m, classes: c)
        let fd = centralDifferences(zd) { 0.5 * referenceCrossEntropy($0, labels: labels, classes: c) }
        expectClose(dz.map { $0 - 0.5 }, fd, rtol: 1e-5, atol: 1e-6, "CE dZ")
    }

    @Test("huge logits stay finite (the max is subtracted)")
    func stability() {
        let z: [Float] = [1000, 0, -1000, 500, 500, 500]
        var p = [Float](repeating: .nan, count: 6)
        let loss = SoftmaxCrossEntropy.forward(probabilities: &p, logits: z, labels: [2, 0], rows: 2, classes: 3)
        // Row 0: −log p[2] = 2000 exactly (p underflows to 0, the loss does not); row 1: log 3.
        #expect(abs(loss - (2000 + log(3.0))) < 1e-3)
        #expect(p.allSatisfy { $0.isFinite })
        expectClose(p, [1, 0, 0, 1.0 / 3, 1.0 / 3, 1.0 / 3], rtol: 1e-6, atol: 1e-7, "stable softmax")
    }
}
