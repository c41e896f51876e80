import JAMNN
import JAMReferenceSupport
import JAMTestSupport
import Testing

@Suite("FullyConnected")
struct FullyConnectedTests {
    @Test("forward matches naive loops; backward matches finite differences and accumulates")
    func forwardAndBackward() {
        let (m, i, o) = (5, 7, 3)
        let x = randomArray(m * i, seed: 51), w = randomArray(i * o, seed: 52), b = randomArray(o, seed: 53)
        var y = [Float](repeating: .nan, count: m * o)
        FullyConnected.forward(output: &y, input: x, weight: w, bias: b, rows: m, inputs: i, outputs: o)
        let (xd, wd, bd) = (doubles(x), doubles(w), doubles(b))
        expectClose(y, referenceFullyConnected(xd, wd, bd, rows: m, inputs: i, outputs: o), rtol: 1e-5, atol: 1e-6, "fc")

        let r = randomArray(m * o, seed: 54)
        let rd = doubles(r)
        var dx = [Float](repeating: 0.5, count: x.count), dw = [Float](repeating: 0.5, count: w.count)
        var db = [Float](repeating: 0.5, count: o)
        FullyConnected.backward(inputGradient: &dx, weightGradient: &dw, biasGradient: &db, outputGradient: r,
                                input: x, weight: w, rows: m, inputs: i, outputs: o)
        let f = { (x: [Double], w: [Double], b: [Double]) in
            dot(rd, referenceFullyConnected(x, w, b, rows: m, inputs: i, outputs: o))
        }
        expectClose(dx.map { $0 - 0.5 }, centralDifferences(xd) { f($0, wd, bd) }, rtol: 1e-5, atol: 1e-5, "fc dX")
        expectClose(dw.map { $0 - 0.5 }, centralDifferences(wd) { f(xd, $0, bd) }, rtol: 1e-5, atol: 1e-5, "fc dW")
        expectClose(db.map { $0 - 0.5 }, centralDifferences(bd) { f(xd, wd, $0) }, rtol: 1e-5, atol: 1e-5, "fc db")
    }
}
