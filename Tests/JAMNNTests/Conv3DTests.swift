import JAMNN
import JAMReferenceSupport
import JAMTestSupport
import Testing

/// Runs `Conv3D.forward` on Float copies.
private func convForward(_ x: [Float], _ k: [Float], _ b: [Float], _ g: Conv3DGeometry, maxColumnFloats: Int = Conv3D.defaultColumnFloats,
                         method: Conv3D.Method = .automatic, workspace: Conv3DWorkspace? = nil) -> [Float] {
    var y = [Float](repeating: .nan, count: g.outputCount)
    y.withUnsafeMutableBufferPointer { yp in
        Conv3D.forward(output: yp.baseAddress!, input: x, kernel: k, bias: b, geometry: g, maxColumnFloats: maxColumnFloats,
                       method: method, workspace: workspace)
    }
    return y
}

@Suite("Conv3D")
struct Conv3DTests {
    static let geometries: [Conv3DGeometry] = [
        // odd sizes, channels not multiples of 8, every padding combination
        Conv3DGeometry(batch: 2, time: 5, height: 6, width: 7, inputChannels: 5, outputChannels: 7,
                       temporalPadding: .same, spatialPadding: .valid),
        Conv3DGeometry(batch: 1, time: 4, height: 5, width: 3, inputChannels: 3, outputChannels: 9,
                       temporalPadding: .valid, spatialPadding: .same),
        Conv3DGeometry(batch: 2, time: 3, height: 5, width: 5, inputChannels: 6, outputChannels: 5,
                       temporalPadding: .same, spatialPadding: .same),
        Conv3DGeometry(batch: 1, time: 6, height: 4, width: 6, inputChannels: 2, outputChannels: 3,
                       temporalPadding: .valid, spatialPadding: .valid),
        // kt = 1: the per-frame 2D variant
        Conv3DGeometry(batch: 2, time: 3, height: 5, width: 4, inputChannels: 5, outputChannels: 3,
                       kernelTime: 1, temporalPadding: .same, spatialPadding: .same),
        // even and unequal kernel sides: asymmetric "same" padding
        Conv3DGeometry(batch: 1, time: 4, height: 5, width: 6, inputChannels: 3, outputChannels: 4,
                       kernelTime: 2, kernelHeight: 3, kernelWidth: 4, temporalPadding: .same, spatialPadding: .same),
    ]

    /// The same padding combinations at sizes small enough for full finite differences.
    static let smallGeometries: [Conv3DGeometry] = [
        Conv3DGeometry(batch: 2, time: 3, height: 4, width: 5, inputChannels: 3, outputChannels: 2,
                       temporalPadding: .same, spatialPadding: .valid),
        Conv3DGeometry(batch: 1, time: 4, height: 3, width: 4, inputChannels: 2, outputChannels: 3,
                       temporalPadding: .valid, spatialPadding: .same),
        Conv3DGeometry(batch: 1, time: 3, height: 4, width: 3, inputChannels: 3, outputChannels: 2,
                       temporalPadding: .same, spatialPadding: .same),
        Conv3DGeometry(batch: 1, time: 4, height: 4, width: 5, inputChannels: 2, outputChannels: 3,
                       temporalPadding: .valid, spatialPadding: .valid),
        Conv3DGeometry(batch: 2, time: 2, height: 4, width: 3, inputChannels: 3, outputChannels: 2,
                       kernelTime: 1, temporalPadding: .same, spatialPadding: .same),
        Conv3DGeometry(batch: 1, time: 3, height: 4, width: 5, inputChannels: 2, outputChannels: 3,
                       kernelTime: 2, kernelHeight: 3, kernelWidth: 4, temporalPadding: .same, spatialPadding: .same),
    ]

    @Test("geometry: 24×24 valid → 22, same keeps the size; kt = 1 keeps T")
    func geometry() {
        let g = Conv3DGeometry(batch: 1, time: 30, height: 24, width: 24, inputChannels: 512, outputChannels: 256,
                               temporalPadding: .same, spatialPadding: .valid)
        #expect([g.outputTime, g.outputHeight, g.outputWidth] == [30, 22, 22])
        #expect(g.kernelShape == [3, 3, 3, 512, 256])
        #expect(g.patchLength == 27 * 512)
        let v = Conv3DGeometry(batch: 1, time: 30, height: 11, width: 11, inputChannels: 256, outputChannels: 256,
                               temporalPadding: .valid, spatialPadding: .same)
        #expect([v.outputTime, v.outputHeight, v.outputWidth] == [28, 11, 11])
    }

    @Test("forward matches a naive 8-deep loop (several paddings, chunk sizes)", arguments: geometries.indices)
    func forwardMatchesNaive(_ which: Int) {
        let g = Self.geometries[which]
        let x = randomArray(g.inputCount, seed: 1 + UInt64(which))
        let k = randomArray(g.kernelCount, seed: 100 + UInt64(which))
        let b = randomArray(g.outputChannels, seed: 200 + UInt64(which))
        let expected = referenceConv3D(doubles(x), doubles(k), doubles(b), g)
        // One chunk, and chunks of 3 rows (never dividing the position count evenly here).
        expectClose(convForward(x, k, b, g), expected, rtol: 1e-5, atol: 1e-5, "conv3d one chunk")
        expectClose(convForward(x, k, b, g, maxColumnFloats: 3 * g.patchLength), expected,
                    rtol: 1e-5, atol: 1e-5, "conv3d 3-row chunks")
        expectClose(convForward(x, k, b, g, method: .im2col), expected, rtol: 1e-5, atol: 1e-5, "conv3d im2col")
        expectClose(convForward(x, k, b, g, method: .outputTaps), expected, rtol: 1e-5, atol: 1e-5, "conv3d output taps")
        if g.kernelHeight == 3 && g.kernelWidth == 3 {
            // Winograd's error follows the largest magnitude (WinogradConv3DTests).
            let scale = expected.map(abs).max()!
            expectClose(convForward(x, k, b, g, method: .winograd), expected, rtol: 0, atol: 2e-5 * scale, "conv3d winograd")
        }
    }

    @Test(".automatic: output taps for the default conv1 (Cout < Cin, same padding), im2col for its conv2, winograd for the paper's")
    func automaticMethod() {
        let defaultConv1 = Conv3DGeometry(batch: 8, time: 16, height: 6, width: 6, inputChannels: 512, outputChannels: 32)
        let defaultConv2 = Conv3DGeometry(batch: 8, time: 16, height: 3, width: 3, inputChannels: 32, outputChannels: 64)
        let paperConv1 = Conv3DGeometry(batch: 1, time: 30, height: 24, width: 24, inputChannels: 512, outputChannels: 256,
                                        temporalPadding: .same, spatialPadding: .valid)
        #expect(Conv3D.resolvedMethod(.automatic, defaultConv1) == .outputTaps)
        #expect(Conv3D.resolvedMethod(.automatic, defaultConv2) == .im2col)
        let paperConv2 = Conv3DGeometry(batch: 1, time: 30, height: 11, width: 11, inputChannels: 256, outputChannels: 256)
        #expect(Conv3D.resolvedMethod(.automatic, paperConv1) == .winograd)
        #expect(Conv3D.resolvedMethod(.automatic, paperConv2) == .winograd)
        #expect(Conv3D.resolvedMethod(.direct, paperConv1) == .im2col)
        #expect(Conv3D.resolvedMethod(.direct, defaultConv1) == .outputTaps)
        // Not 3×3 in space, or narrower than 256, or smaller than 11×11: the direct path.
        var wideKernel = paperConv2
        wideKernel.kernelWidth = 5
        #expect(Conv3D.resolvedMethod(.automatic, wideKernel) == .im2col)
        #expect(Conv3D.resolvedMethod(.automatic, Conv3DGeometry(batch: 1, time: 30, height: 11, width: 11,
                                                                 inputChannels: 128, outputChannels: 256)) == .im2col)
        #expect(Conv3D.resolvedMethod(.automatic, Conv3DGeometry(batch: 1, time: 30, height: 10, width: 24,
                                                                 inputChannels: 256, outputChannels: 256)) == .im2col)
        #expect(Conv3D.resolvedMethod(.outputTaps, paperConv1) == .outputTaps)
    }

    @Test("output taps: a large input (two-thread gather and scatter) and a reused workspace give the same bits")
    func outputTapsLargeAndReused() {
        let g = Conv3DGeometry(batch: 2, time: 5, height: 7, width: 6, inputChannels: 19, outputChannels: 6)
        let x = randomArray(g.inputCount, seed: 31)
        let k = randomArray(g.kernelCount, seed: 32)
        let b = randomArray(g.outputChannels, seed: 33)
        let workspace = Conv3DWorkspace()
        let small = Conv3DGeometry(batch: 1, time: 2, height: 3, width: 3, inputChannels: 4, outputChannels: 2)
        _ = convForward(randomArray(small.inputCount, seed: 34), randomArray(small.kernelCount, seed: 35),
                        [0, 0], small, method: .outputTaps, workspace: workspace)
        let first = convForward(x, k, b, g, method: .outputTaps, workspace: workspace)
        expectClose(first, referenceConv3D(doubles(x), doubles(k), doubles(b), g), rtol: 1e-5, atol: 2e-5, "output taps")
        #expect(convForward(x, k, b, g, method: .outputTaps, workspace: workspace) == first)
    }

    @Test("forward on a chunk large enough for the two-thread im2col")
    func forwardParallelIm2col() {
        let g = Conv3DGeometry(batch: 1, time: 6, height: 15, width: 13, inputChannels: 17, outputChannels: 11,
                               temporalPadding: .same, spatialPadding: .same)
        #expect(g.outputPositions * g.patchLength >= 1 << 18)
        let x = randomArray(g.inputCount, seed: 7)
        let k = randomArray(g.kernelCount, seed: 8)
        let b = randomArray(g.outputChannels, seed: 9)
        expectClose(convForward(x, k, b, g), referenceConv3D(doubles(x), doubles(k), doubles(b), g),
                    rtol: 1e-5, atol: 2e-5, "conv3d parallel im2col")
    }

    /// Float backward against central differences of the Double reference of `Σ r·conv(x)`,
    /// for the input, kernel and bias gradients; the buffers start at 0.5 to check accumulation.
    /// Tolerance: atol 1e-4, rtol 1e-4 (Float sums of ≤ 200 terms of size ≤ 1, FD error ~1e-10).
    @Test("backward matches finite differences of the Double forward",
          arguments: smallGeometries.indices, [Conv3D.Method.im2col, .outputTaps, .winograd])
    func backwardMatchesFiniteDifferences(_ which: Int, _ method: Conv3D.Method) {
        let g = Self.smallGeometries[which]
        if method == .winograd && (g.kernelHeight != 3 || g.kernelWidth != 3) { return }  // 3×3 kernels only
        let x = randomArray(g.inputCount, seed: 11 + UInt64(which))
        let k = randomArray(g.kernelCount, seed: 111 + UInt64(which))
        let b = randomArray(g.outputChannels, seed: 211 + UInt64(which))
        let r = randomArray(g.outputCount, seed: 311 + UInt64(which))
        var dx = [Float](repeating: 0.5, count: g.inputCount)
        var dk = [Float](repeating: 0.5, count: g.kernelCount)
        var db = [Float](repeating: 0.5, count: g.outputChannels)
        dx.withUnsafeMutableBufferPointer { dxp in
            dk.withUnsafeMutableBufferPointer { dkp in
                db.withUnsafeMutableBufferPointer { dbp in
                    Conv3D.backward(inputGradient: dxp.baseAddress!, kernelGradient: dkp.baseAddress!,
                                    biasGradient: dbp.baseAddress!, outputGradient: r, input: x, kernel: k,
                                    geometry: g, maxColumnFloats: 4 * g.patchLength, method: method)
                }
            }
        }
        let (xd, kd, bd, rd) = (doubles(x), doubles(k), doubles(b), doubles(r))
        let fdX = centralDifferences(xd) { dot(rd, referenceConv3D($0, kd, bd, g)) }
        let fdK = centralDifferences(kd) { dot(rd, referenceConv3D(xd, $0, bd, g)) }
        let fdB = centralDifferences(bd) { dot(rd, referenceConv3D(xd, kd, $0, g)) }
        expectClose(dx.map { $0 - 0.5 }, fdX, rtol: 1e-4, atol: 1e-4, "dX")
        expectClose(dk.map { $0 - 0.5 }, fdK, rtol: 1e-4, atol: 1e-4, "dW")
        expectClose(db.map { $0 - 0.5 }, fdB, rtol: 1e-4, atol: 1e-4, "db")
    }

    @Test("backward without an input gradient gives the same kernel gradient", arguments: [Conv3D.Method.im2col, .outputTaps, .winograd])
    func backwardWithoutInputGradient(_ method: Conv3D.Method) {
        let g = Self.geometries[0]
        let x = randomArray(g.inputCount, seed: 21)
        let k = randomArray(g.kernelCount, seed: 22)
        let r = randomArray(g.outputCount, seed: 23)
        var dk1 = [Float](repeating: 0, count: g.kernelCount), dk2 = dk1
        var db1 = [Float](repeating: 0, count: g.outputChannels), db2 = db1
        var dx = [Float](repeating: 0, count: g.inputCount)
        Conv3D.backward(inputGradient: &dx, kernelGradient: &dk1, biasGradient: &db1, outputGradient: r,
                        input: x, kernel: k, geometry: g, method: method)
        Conv3D.backward(inputGradient: nil, kernelGradient: &dk2, biasGradient: &db2, outputGradient: r,
                        input: x, kernel: k, geometry: g, method: method)
        #expect(dk1 == dk2)
        #expect(db1 == db2)
    }
}
