// shapes: frames uint8 RGB [B, S, S, 3]; pool4 and conv5_3 [B, S/16, S/16, 512].

import JAMCore
import JAMModel
import JAMTensor
import JAMReferenceSupport
import JAMTestSupport
import Testing

/// An independent VGG16 forward in Double: preprocessing, then per layer the definition of a
/// zero-padded 3×3 cross-correlation + bias + ReLU, and 2×2 max-pools after blocks 1-4.
private func referenceFeatures(frames: [UInt8], batch: Int, size: Int, weights: VGG16Weights)
    -> (pool4: [Double], conv5_3: [Double])
{
    let mean = [103.939, 116.779, 123.68]  // B, G, R
    var pool4: [Double] = [], conv53: [Double] = []
    for b in 0..<batch {
        var side = size
        var channels = 3
        var x = [Double](repeating: 0, count: size * size * 3)
        for p in 0..<(size * size) {
            for c in 0..<3 {
                x[p * 3 + c] = Double(frames[(b * size * size + p) * 3 + (2 - c)]) - mean[c]
            }
        }
        for layer in weights.layers {
            let cout = layer.layer.outputChannels
            var y = [Double](repeating: 0, count: side * side * cout)
            for yy in 0..<side {
                for xx in 0..<side {
                    for o in 0..<cout {
                        var sum = Double(layer.bias[o])
                        for ky in 0..<3 {
                            let sy = yy + ky - 1
                            if sy < 0 || sy >= side { continue }
                            for kx in 0..<3 {
                                let sx = xx + kx - 1
                                if sx < 0 || sx >= side { continue }
                                let input = (sy * side + sx) * channels
                                let kernel = (ky * 3 + kx) * channels * cout + o
                                for i in 0..<channels {
                                    sum += x[input + i] * Double(layer.kernel[kernel + i * cout])
                                }
                            }
                        }
                        y[(yy * side + xx) * cout + o] = max(0, sum)
                    }
                }
            }
            x = y
            channels = cout
            if layer.layer.poolAfter {
                let half = side / 2
                var pooled = [Double](repeating: 0, count: half * half * channels)
                for py in 0..<half {
                    for px in 0..<half {
                        for c in 0..<channels {
                            var m = -Double.infinity
                            for dy in 0..<2 {
                                for dx in 0..<2 {
                                    m = max(m, x[((2 * py + dy) * side + 2 * px + dx) * channels + c])
                                }
                            }
                            pooled[(py * half + px) * channels + c] = m
                        }
                    }
                }
                x = pooled
                side = half
                if layer.layer.name == "block4_conv3" { pool4 += x }
            }
        }
        conv53 += x
    }
    return (pool4, conv53)
}

private func randomFrames(_ count: Int, seed: UInt64) -> [UInt8] {
    var generator = SplitMix64(seed: seed)
    return (0..<count).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
}

/// Largest |actual - expected| relative to the largest |expected|.
private func relativeError(_ actual: [Float], _ expected: [Double]) -> Double {
    maxAbsDifference(actual, expected) / max(expected.map(abs).max() ?? 0, 1e-30)
}

@Suite struct VGG16FeatureExtractorTests {
    @Test func preprocessingOfAHandWorkedPixel() {
        // RGB (10, 200, 255) → BGR (255, 200, 10) − (103.939, 116.779, 123.68).
        let frames: [UInt8] = [10, 200, 255, 0, 0, 0]
        var output = [Float](repeating: .nan, count: 6)
        output.withUnsafeMutableBufferPointer { o in
            frames.withUnsafeBufferPointer { f in
                VGG16FeatureExtractor.preprocess(output: o.baseAddress!, frames: f.baseAddress!, pixelCount: 2)
            }
        }
        #expect(output[0] == Float(255 - 103.939))
        #expect(output[1] == Float(200 - 116.779))
        #expect(output[2] == Float(10 - 123.68))
        #expect(abs(output[0] - 151.061) < 1e-4 && abs(output[1] - 83.221) < 1e-4 && abs(output[2] + 113.68) < 1e-4)
        #expect(output[3] == -103.939 && output[4] == -116.779 && output[5] == -123.68)
    }

    @Test func multiplyAccumulatesOfVGG16At224() {
        // The well-known ~15.35 GMACs of VGG16's convolutions at 224×224.
        let macs = VGG16FeatureExtractor.multiplyAccumulates(frameSize: 224)
        #expect(macs == 15_346_630_656)
    }

    @Test func rejectsAFrameSizeThatIsNotAMultipleOf16() throws {
        let extractor = VGG16FeatureExtractor(weights: .heInitialized(seed: 1), threads: 1, frameSize: 48)
        #expect(throws: VGG16FeatureError.frameSize(40)) {
            try extractor.extract(frames: [UInt8](repeating: 0, count: 40 * 40 * 3), batch: 1, frameSize: 40)
        }
        #expect(throws: VGG16FeatureError.self) {
            try extractor.extract(frames: [UInt8](repeating: 0, count: 5), batch: 1, frameSize: 16)
        }
    }

    /// The whole network at S = 16 (real widths, He-initialised weights, batch 2) against the
    /// Double reference. Errors relative to each tap's largest magnitude, measured after 13
    /// layers: 7e-7 (im2col everywhere) and 3e-6 (the default at this size, Winograd F(4×4, 3×3);
    /// 8e-6 with F(6×6, 3×3)); tolerances 1e-5 and 3e-5. Thread
    /// counts 1 and 2 give identical bits, and so do repeated calls on one extractor.
    @Test(arguments: [true, false])
    func fullForwardMatchesTheReference(useWinograd: Bool) throws {
        let (batch, size) = (2, 16)
        let weights = VGG16Weights.heInitialized(seed: 5)
        let frames = randomFrames(batch * size * size * 3, seed: 6)
        let reference = referenceFeatures(frames: frames, batch: batch, size: size, weights: weights)
        let tolerance = useWinograd ? 3e-5 : 1e-5
        var results: [(pool4: [Float], conv5_3: [Float])] = []
        for threads in [1, 2] {
            let extractor = VGG16FeatureExtractor(weights: weights, threads: threads, frameSize: size,
                                                  useWinograd: useWinograd)
            let features = try extractor.extract(frames: frames, batch: batch, frameSize: size)
            #expect(features.pool4.count == batch * 512)
            let pool4Error = relativeError(features.pool4, reference.pool4)
            let conv53Error = relativeError(features.conv5_3, reference.conv5_3)
            #expect(pool4Error < tolerance, "threads \(threads): pool4 relative error \(pool4Error)")
            #expect(conv53Error < tolerance, "threads \(threads): conv5_3 relative error \(conv53Error)")
            #expect(reference.conv5_3.contains { $0 > 0 }, "the reference is all zeros: a useless test")
            let again = try extractor.extract(frames: frames, batch: batch, frameSize: size)
            #expect(again.pool4 == features.pool4 && again.conv5_3 == features.conv5_3)
            results.append(features)
        }
        #expect(results[0].pool4 == results[1].pool4)
        #expect(results[0].conv5_3 == results[1].conv5_3)
    }

    /// Winograd trades accuracy for speed; the features must stay within 1e-4 of the Double
    /// reference (max abs error / max abs value of each tap), the bound every algorithm choice
    /// for the network is held to. At S = 48 (tiles of 6 divide the first layers' sides, later
    /// ones have partial tiles), one frame: F(6×6, 3×3) on the twelve Winograd layers (the
    /// default from S = 224) and F(4×4, 3×3) on all twelve (the default below). Measured, pool4
    /// and conv5_3: 3.9e-6 and 1.0e-5 (F(6×6)), 2.4e-6 and 2.9e-6 (F(4×4)).
    @Test(arguments: ["F(6x6,3x3)", "F(4x4,3x3)"])
    func winogradChoicesStayWithin1e4OfTheReference(_ choice: String) throws {
        let size = 48
        let weights = VGG16Weights.heInitialized(seed: 5)
        let frames = randomFrames(size * size * 3, seed: 7)
        let reference = referenceFeatures(frames: frames, batch: 1, size: size, weights: weights)
        let algorithms: [Convolution3x3.Algorithm] =
            [.im2col] + Array(repeating: choice == "F(6x6,3x3)" ? .winogradF6x6 : .winogradF4x4, count: 12)
        let extractor = VGG16FeatureExtractor(weights: weights, threads: 2, algorithms: algorithms)
        let features = try extractor.extract(frames: frames, batch: 1, frameSize: size)
        let pool4Error = relativeError(features.pool4, reference.pool4)
        let conv53Error = relativeError(features.conv5_3, reference.conv5_3)
        #expect(pool4Error <= 1e-4, "\(choice): pool4 relative error \(pool4Error)")
        #expect(conv53Error <= 1e-4, "\(choice): conv5_3 relative error \(conv53Error)")
        #expect(reference.conv5_3.contains { $0 > 0 }, "the reference is all zeros: a useless test")
    }

    /// F(6×6, 3×3) from S = 288 on (where it measured faster), F(4×4, 3×3) below; im2col first.
    @Test func defaultAlgorithmsFollowTheFrameSize() {
        let small = VGG16FeatureExtractor.defaultAlgorithms(frameSize: 96)
        let large = VGG16FeatureExtractor.defaultAlgorithms(frameSize: VGG16FeatureExtractor.largeTileMinimumFrameSize)
        #expect(small == [.im2col] + Array(repeating: .winogradF4x4, count: 12))
        #expect(large == [.im2col] + Array(repeating: .winogradF6x6, count: 12))
        #expect(VGG16FeatureExtractor.defaultAlgorithms(frameSize: 384) == large)
        #expect(VGG16FeatureExtractor.defaultAlgorithms(frameSize: 224) == small)
        #expect(VGG16FeatureExtractor(weights: .heInitialized(seed: 1), threads: 1, frameSize: 288).algorithms == large)
    }

    /// Frames are independent: a frame's features do not depend on its batch neighbours, and a
    /// smaller call after a larger one (reused buffers) gives the same values. (Blocks 4-5 run
    /// the batch through one GEMM, so only float rounding may differ: OpenBLAS blocks the sums
    /// differently for 1 and 3 frames, and a float32 sum of up to K = 9·512 terms differs in
    /// order by about √K·2⁻²⁴ ≈ 4e-6 relative. Measured: 4e-7 with the Zen kernels, 2.7e-6–4.1e-6
    /// with the Prescott kernels OpenBLAS 0.3.21 picks on some Xeons: tolerance 1e-5 relative.)
    @Test func batchedFramesMatchSingleFrames() throws {
        let size = 32
        let extractor = VGG16FeatureExtractor(weights: .heInitialized(seed: 2), threads: 2, frameSize: size)
        let frames = randomFrames(3 * size * size * 3, seed: 9)
        let all = try extractor.extract(frames: frames, batch: 3, frameSize: size)
        let tap = 2 * 2 * 512
        for b in 0..<3 {
            let one = try extractor.extract(
                frames: Array(frames[(b * size * size * 3)..<((b + 1) * size * size * 3)]), batch: 1,
                frameSize: size)
            let pool4 = all.pool4[(b * tap)..<((b + 1) * tap)].map(Double.init)
            let conv53 = all.conv5_3[(b * tap)..<((b + 1) * tap)].map(Double.init)
            #expect(relativeError(one.pool4, pool4) < 1e-5)
            #expect(relativeError(one.conv5_3, conv53) < 1e-5)
            #expect(conv53.contains { $0 > 0 })
        }
    }
}
