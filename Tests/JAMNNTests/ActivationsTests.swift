import JAMNN
import JAMReferenceSupport
import JAMTestSupport
import Testing

@Suite("ReLU")
struct ActivationsTests {
    @Test("forward is max(0, x), also in place")
    func forward() {
        let x: [Float] = [-2, -0.5, 0, 0.25, 3]
        var y = [Float](repeating: .nan, count: x.count)
        ReLU.forward(output: &y, input: x, count: x.count)
        #expect(y == [0, 0, 0, 0.25, 3])
        var z = x
        z.withUnsafeMutableBufferPointer { ReLU.forward(output: $0.baseAddress!, input: $0.baseAddress!, count: x.count) }
        #expect(z == y)
    }

    /// Inputs are kept away from the kink (|x| ≥ 0.05) so that central differences are exact.
    @Test("backward matches finite differences and accumulates")
    func backward() {
        let x = randomArray(50, seed: 3).map { $0 >= 0 ? $0 + 0.05 : $0 - 0.05 }
        let r = randomArray(50, seed: 4)
        var y = [Float](repeating: 0, count: 50)
        ReLU.forward(output: &y, input: x, count: 50)
        var dx = [Float](repeating: 1, count: 50)
        ReLU.backward(inputGradient: &dx, outputGradient: r, output: y, count: 50)
        let fd = centralDifferences(doubles(x)) { dot(doubles(r), referenceReLU($0)) }
        expectClose(dx.map { $0 - 1 }, fd, rtol: 1e-6, atol: 1e-6, "ReLU dX")
    }
}
