import JAMNN
import JAMReferenceSupport
import JAMTestSupport
import Testing

@Suite("Pooling")
struct PoolingTests {
    @Test("max-pool forward matches naive windows; odd sides drop the last row/column")
    func maxPoolForward() {
        let (n, h, w, c) = (3, 5, 7, 3)
        let x = randomArray(n * h * w * c, seed: 31)
        var y = [Float](repeating: .nan, count: n * 2 * 3 * c)
        var argmax = [Int32](repeating: -1, count: y.count)
        MaxPool2x2.forward(output: &y, argmax: &argmax, input: x, frames: n, height: h, width: w, channels: c)
        #expect(MaxPool2x2.outputLength(22) == 11 && MaxPool2x2.outputLength(23) == 11)
        expectClose(y, referenceMaxPool(doubles(x), frames: n, height: h, width: w, channels: c), rtol: 0, atol: 0, "maxpool")
        for j in y.indices { #expect(x[Int(argmax[j])] == y[j]) }
    }

    @Test("max-pool backward matches finite differences and accumulates")
    func maxPoolBackward() {
        let (n, h, w, c) = (2, 5, 4, 3)
        let x = randomArray(n * h * w * c, seed: 32)
        let outCount = n * 2 * 2 * c
        let r = randomArray(outCount, seed: 33)
        var y = [Float](repeating: 0, count: outCount)
        var argmax = [Int32](repeating: 0, count: outCount)
        MaxPool2x2.forward(output: &y, argmax: &argmax, input: x, frames: n, height: h, width: w, channels: c)
        var dx = [Float](repeating: 0.25, count: x.count)
        MaxPool2x2.backward(inputGradient: &dx, outputGradient: r, argmax: argmax, outputCount: outCount)
        let fd = centralDifferences(doubles(x), h: 1e-7) {
            dot(doubles(r), referenceMaxPool($0, frames: n, height: h, width: w, channels: c))
        }
        expectClose(dx.map { $0 - 0.25 }, fd, rtol: 1e-6, atol: 1e-6, "maxpool dX")
    }

    @Test("spatial mean forward and backward")
    func spatialMean() {
        let (n, p, c) = (3, 10, 5)
        let x = randomArray(n * p * c, seed: 34)
        var y = [Float](repeating: .nan, count: n * c)
        SpatialMean.forward(output: &y, input: x, frames: n, positions: p, channels: c)
        expectClose(y, referenceSpatialMean(doubles(x), frames: n, positions: p, channels: c), rtol: 1e-6, atol: 1e-6, "mean")
        let r = randomArray(n * c, seed: 35)
        var dx = [Float](repeating: -1, count: x.count)
        SpatialMean.backward(inputGradient: &dx, outputGradient: r, frames: n, positions: p, channels: c)
        let fd = centralDifferences(doubles(x)) { dot(doubles(r), referenceSpatialMean($0, frames: n, positions: p, channels: c)) }
        expectClose(dx.map { $0 + 1 }, fd, rtol: 1e-5, atol: 1e-6, "mean dX")
    }

    @Test("adaptive pool bins: 24 → 11 covers every row; 4 → 2 is plain 2×2 blocks")
    func adaptiveBins() {
        let bins = (0..<11).map { AdaptiveAveragePool.bin($0, inputLength: 24, outputLength: 11) }
        #expect(bins.first == 0..<3 && bins.last == 21..<24)
        #expect(Set(bins.flatMap { Array($0) }) == Set(0..<24))
        #expect((0..<2).map { AdaptiveAveragePool.bin($0, inputLength: 4, outputLength: 2) } == [0..<2, 2..<4])
    }

    @Test("adaptive average pool forward (24×24 → 11×11, 7×5 → 3×2) and backward")
    func adaptivePool() {
        for (h, w, oh, ow) in [(24, 24, 11, 11), (7, 5, 3, 2)] {
            let (n, c) = (2, 3)
            let x = randomArray(n * h * w * c, seed: UInt64(40 + h))
            var y = [Float](repeating: .nan, count: n * oh * ow * c)
            AdaptiveAveragePool.forward(output: &y, input: x, frames: n, height: h, width: w, channels: c,
                                        outputHeight: oh, outputWidth: ow)
            let ref = { (v: [Double]) in
                referenceAdaptivePool(v, frames: n, height: h, width: w, channels: c, outputHeight: oh, outputWidth: ow)
            }
            expectClose(y, ref(doubles(x)), rtol: 1e-5, atol: 1e-6, "adaptive pool \(h)→\(oh)")
            if h > 10 { continue }  // the FD check on the small case suffices
            let r = randomArray(y.count, seed: 45)
            var dx = [Float](repeating: 0, count: x.count)
            AdaptiveAveragePool.backward(inputGradient: &dx, outputGradient: r, frames: n, height: h, width: w,
                                         channels: c, outputHeight: oh, outputWidth: ow)
            expectClose(dx, centralDifferences(doubles(x)) { dot(doubles(r), ref($0)) }, rtol: 1e-5, atol: 1e-6, "adaptive pool dX")
        }
    }
}
