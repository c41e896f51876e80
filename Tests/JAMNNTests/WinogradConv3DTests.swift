import JAMCore
import JAMNN
import JAMReferenceSupport
import JAMTensor
import JAMTestSupport
import Testing

/// `|a − b|` at its largest over `max |b|`: the error measure of these tests (Winograd's
/// transforms scale values by up to ~100 before the GEMMs, so errors follow the largest
/// magnitude, not each element's).
private func relativeError(_ actual: [Float], _ expected: [Double]) -> Double {
    maxAbsDifference(actual, expected) / max(1e-30, expected.map(abs).max() ?? 0)
}

@Suite("WinogradConv3D")
struct WinogradConv3DTests {
    /// Odd sizes (7×9, 5 frames), channels not multiples of 8 (5 → 11), batch 2: every
    /// temporal × spatial padding combination, kt = 3 and 1.
    static let geometries: [Conv3DGeometry] = [3, 1].flatMap { kt in
        [ConvPadding.same, .valid].flatMap { temporal in
            [ConvPadding.same, .valid].map { spatial in
                Conv3DGeometry(batch: 2, time: 5, height: 7, width: 9, inputChannels: 5, outputChannels: 11,
                               kernelTime: kt, temporalPadding: temporal, spatialPadding: spatial)
            }
        }
    }

    /// Tolerance on `relativeError`. Measured worst (2026-12-06, printed by the tests): against
    /// the Double reference forward 2.9e-6, dX 3.5e-6, dW 2.6e-6; at the paper's width against
    /// im2col forward 1.1e-5, dX 9.5e-6, dW 2.2e-6 (Winograd's error grows with the channels summed).
    static let tolerance = 2e-5

    static func data(_ g: Conv3DGeometry, seed: UInt64) -> (x: [Float], k: [Float], b: [Float], r: [Float]) {
        (randomArray(g.inputCount, seed: seed), randomArray(g.kernelCount, seed: seed + 1),
         randomArray(g.outputChannels, seed: seed + 2), randomArray(g.outputCount, seed: seed + 3))
    }

    /// One output frame per chunk, so that every chunk edge and temporal border is a chunk's.
    static let oneFramePerChunk: WinogradConv3D.Tuning = {
        var t = WinogradConv3D.Tuning()
        t.chunkFloats = 1
        return t
    }()

    @Test("forward matches the Double reference (paddings, kt, chunkings)", arguments: geometries.indices)
    func forwardMatchesReference(_ which: Int) {
        let g = Self.geometries[which]
        let (x, k, b, _) = Self.data(g, seed: 10 * UInt64(which))
        let expected = referenceConv3D(doubles(x), doubles(k), doubles(b), g)
        var y = [Float](repeating: .nan, count: g.outputCount)
        Conv3D.forward(output: &y, input: x, kernel: k, bias: b, geometry: g, method: .winograd)
        let error = relativeError(y, expected)
        print("WinogradConv3D forward \(g.temporalPadding)/\(g.spatialPadding) kt \(g.kernelTime): max |diff| / max |y| = \(error)")
        #expect(error <= Self.tolerance)
        var chunked = [Float](repeating: .nan, count: g.outputCount)
        WinogradConv3D.forward(output: &chunked, input: x, kernel: k, bias: b, sizes: g.winogradSizes, threads: 2,
                               workspace: ConvolutionWorkspace(), tuning: Self.oneFramePerChunk)
        #expect(relativeError(chunked, expected) <= Self.tolerance)
    }

    /// The gradients accumulate into buffers that start at 0.5.
    @Test("input, kernel and bias gradients match the Double reference", arguments: geometries.indices)
    func gradientsMatchReference(_ which: Int) {
        let g = Self.geometries[which]
        let (x, k, _, r) = Self.data(g, seed: 100 + 10 * UInt64(which))
        let expected = referenceConv3DGradients(doubles(x), doubles(k), doubles(r), g)
        var dx = [Float](repeating: 0.5, count: g.inputCount)
        var dk = [Float](repeating: 0.5, count: g.kernelCount)
        var db = [Float](repeating: 0.5, count: g.outputChannels)
        Conv3D.backward(inputGradient: &dx, kernelGradient: &dk, biasGradient: &db, outputGradient: r,
                        input: x, kernel: k, geometry: g, method: .winograd)
        let dxError = relativeError(dx.map { $0 - 0.5 }, expected.input)
        let dkError = relativeError(dk.map { $0 - 0.5 }, expected.kernel)
        print("WinogradConv3D \(g.temporalPadding)/\(g.spatialPadding) kt \(g.kernelTime): dX error \(dxError), dW error \(dkError)")
        #expect(dxError <= Self.tolerance)
        #expect(dkError <= Self.tolerance)
        let biasExpected = (0..<g.outputChannels).map { o in
            stride(from: o, to: r.count, by: g.outputChannels).reduce(0.0) { $0 + Double(r[$1]) }
        }
        expectClose(db.map { $0 - 0.5 }, biasExpected, rtol: 1e-5, atol: 1e-5, "db")

        // One frame per chunk: the kernel gradient sums over chunks, the input gradient's
        // chunks meet at other frames.
        var dxChunked = [Float](repeating: 0, count: g.inputCount)
        var dkChunked = [Float](repeating: 0, count: g.kernelCount)
        let workspace = ConvolutionWorkspace()
        WinogradConv3D.inputGradient(&dxChunked, outputGradient: r, kernel: k, sizes: g.winogradSizes, threads: 2,
                                     workspace: workspace, tuning: Self.oneFramePerChunk)
        WinogradConv3D.kernelGradient(&dkChunked, outputGradient: r, input: x, sizes: g.winogradSizes, threads: 2,
                                      workspace: workspace, tuning: Self.oneFramePerChunk)
        #expect(relativeError(dxChunked, expected.input) <= Self.tolerance)
        #expect(relativeError(dkChunked, expected.kernel) <= Self.tolerance)
    }

    /// At the paper's conv2 width (256 → 256, 11×11, the size `.automatic` gives to `.winograd`)
    /// against the existing direct path in Float: GEMM sums of 6912 terms, so both err ~1e-6.
    @Test("paper-width conv2: forward and gradients agree with im2col")
    func paperWidthAgreesWithIm2col() {
        let g = Conv3DGeometry(batch: 1, time: 3, height: 11, width: 11, inputChannels: 256, outputChannels: 256)
        let (x, k, b, r) = Self.data(g, seed: 700)
        var results: [[Float]] = []
        for method in [Conv3D.Method.im2col, .winograd] {
            var y = [Float](repeating: 0, count: g.outputCount), dx = [Float](repeating: 0, count: g.inputCount)
            var dk = [Float](repeating: 0, count: g.kernelCount), db = [Float](repeating: 0, count: g.outputChannels)
            Conv3D.forward(output: &y, input: x, kernel: k, bias: b, geometry: g, method: method)
            Conv3D.backward(inputGradient: &dx, kernelGradient: &dk, biasGradient: &db, outputGradient: r,
                            input: x, kernel: k, geometry: g, method: method)
            results += [y, dx, dk]
        }
        for (i, name) in ["forward", "dX", "dW"].enumerated() {
            let error = relativeError(results[3 + i], doubles(results[i]))
            print("WinogradConv3D paper-width \(name): max |diff| / max |im2col| = \(error)")
            #expect(error <= Self.tolerance, "\(name)")
        }
    }

    @Test("results are the same bits on 1, 2 and 3 threads, and with a reused workspace")
    func threadCountIndependent() {
        let g = Conv3DGeometry(batch: 1, time: 6, height: 13, width: 10, inputChannels: 12, outputChannels: 9,
                               temporalPadding: .same, spatialPadding: .valid)
        let (x, k, b, r) = Self.data(g, seed: 500)
        let workspace = ConvolutionWorkspace()
        func run(_ threads: Int) -> [[Float]] {
            var y = [Float](repeating: 0, count: g.outputCount)
            var dx = [Float](repeating: 0, count: g.inputCount), dk = [Float](repeating: 0, count: g.kernelCount)
            WinogradConv3D.forward(output: &y, input: x, kernel: k, bias: b, sizes: g.winogradSizes, threads: threads,
                                   workspace: workspace)
            WinogradConv3D.inputGradient(&dx, outputGradient: r, kernel: k, sizes: g.winogradSizes, threads: threads,
                                         workspace: workspace)
            WinogradConv3D.kernelGradient(&dk, outputGradient: r, input: x, sizes: g.winogradSizes, threads: threads,
                                          workspace: workspace)
            return [y, dx, dk]
        }
        let one = run(1)
        #expect(relativeError(one[0], referenceConv3D(doubles(x), doubles(k), doubles(b), g)) <= Self.tolerance)
        #expect(run(2) == one)
        #expect(run(3) == one)
    }
}
