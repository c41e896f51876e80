// shapes: input [N, H, W, Cin], output [N, H, W, Cout], kernel HWIO [3, 3, Cin, Cout].

import JAMCore
import JAMTensor
import JAMTestSupport
import Testing

/// The definition, in Double: zero-padded 3×3 cross-correlation plus bias, then optional ReLU.
func naiveConvolution3x3(
    _ input: [Float], _ kernel: [Float], _ bias: [Float],
    batch: Int, height: Int, width: Int, inputChannels cin: Int, outputChannels cout: Int, relu: Bool
) -> [Double] {
    var out = [Double](repeating: 0, count: batch * height * width * cout)
    for n in 0..<batch {
        for y in 0..<height {
            for x in 0..<width {
                for o in 0..<cout {
                    var sum = Double(bias[o])
                    for ky in 0..<3 {
                        let yy = y + ky - 1
                        guard yy >= 0 && yy < height else { continue }
                        for kx in 0..<3 {
                            let xx = x + kx - 1
                            guard xx >= 0 && xx < width else { continue }
                            for i in 0..<cin {
                                sum += Double(input[((n * height + yy) * width + xx) * cin + i])
                                    * Double(kernel[((ky * 3 + kx) * cin + i) * cout + o])
                            }
                        }
                    }
                    out[((n * height + y) * width + x) * cout + o] = relu ? max(0, sum) : sum
                }
            }
        }
    }
    return out
}

/// 2×2 stride-2 max-pool (floor), in Double.
func naiveMaxPool(_ input: [Double], batch: Int, height: Int, width: Int, channels: Int) -> [Double] {
    let oh = height / 2, ow = width / 2
    var out = [Double](repeating: 0, count: batch * oh * ow * channels)
    for n in 0..<batch {
        for y in 0..<oh {
            for x in 0..<ow {
                for c in 0..<channels {
                    var m = -Double.infinity
                    for dy in 0..<2 {
                        for dx in 0..<2 {
                            m = max(m, input[((n * height + 2 * y + dy) * width + 2 * x + dx) * channels + c])
                        }
                    }
                    out[((n * oh + y) * ow + x) * channels + c] = m
                }
            }
        }
    }
    return out
}

func uniformValues(_ count: Int, seed: UInt64, scale: Double = 1) -> [Float] {
    var g = SplitMix64(seed: seed)
    return (0..<count).map { _ in Float((g.nextUniform() * 2 - 1) * scale) }
}

struct ConvolutionCase: Sendable, CustomTestStringConvertible {
    var batch, height, width, cin, cout: Int
    var testDescription: String { "[\(batch),\(height),\(width),\(cin)]→\(cout)" }
}

let convolutionCases = [
    ConvolutionCase(batch: 2, height: 7, width: 9, cin: 5, cout: 7),
    ConvolutionCase(batch: 3, height: 13, width: 10, cin: 20, cout: 17),
    ConvolutionCase(batch: 1, height: 1, width: 1, cin: 3, cout: 2),
    ConvolutionCase(batch: 2, height: 16, width: 12, cin: 24, cout: 16),
    // Interior tiles (patches read in place) for both tile sizes, odd sides and channel counts.
    ConvolutionCase(batch: 1, height: 21, width: 19, cin: 9, cout: 11),
]

/// The algorithm and, for Winograd, a work partition forced small so that every path runs
/// with several chunks or blocks even on these small images.
enum Variant: String, CaseIterable, Sendable {
    case im2col, winogradPrivate, winogradShared, winogradF6Private, winogradF6Shared

    static let winograd: [Variant] = [.winogradPrivate, .winogradShared, .winogradF6Private, .winogradF6Shared]

    var algorithm: Convolution3x3.Algorithm {
        switch self {
        case .im2col: return .im2col
        case .winogradPrivate, .winogradShared: return .winogradF4x4
        case .winogradF6Private, .winogradF6Shared: return .winogradF6x6
        }
    }

    func make(kernel: [Float], bias: [Float], cin: Int, cout: Int, relu: Bool = true) -> Convolution3x3 {
        let conv = Convolution3x3(kernel: kernel, bias: bias, inputChannels: cin, outputChannels: cout,
                                  algorithm: algorithm, relu: relu)
        switch self {
        case .im2col: break
        case .winogradPrivate, .winogradF6Private:
            conv.tuning.privateSchemeLimit = .max
            conv.tuning.chunkFloats = 0
        case .winogradShared, .winogradF6Shared:
            conv.tuning.privateSchemeLimit = 0
            conv.tuning.blockFloats = 0
            conv.tuning.minimumBlockTiles = 5
            conv.tuning.boundKernelTraffic = false
        }
        return conv
    }

    /// Tolerance relative to the output's largest magnitude (see `Convolution3x3Tests`).
    var tolerance: Double { Self.tolerance(algorithm) }

    static func tolerance(_ algorithm: Convolution3x3.Algorithm) -> Double {
        switch algorithm {
        case .im2col: return 2e-6
        case .winogradF4x4: return 2e-5
        case .winogradF6x6: return 5e-5
        }
    }
}

/// Largest |actual - expected| relative to the largest |expected|.
func relativeError(_ actual: [Float], _ expected: [Double]) -> Double {
    let scale = expected.map(abs).max() ?? 0
    return maxAbsDifference(actual, expected) / max(scale, 1e-30)
}

@Suite struct Convolution3x3Tests {
    // Inputs and weights in [-1, 1]: outputs of magnitude ~1-10. Errors relative to the
    // output's largest magnitude, measured: im2col ≤ 4e-7 (float rounding of a 9·Cin-term sum;
    // tolerance 2e-6), Winograd F(4,3) ≤ 4e-6 (its transforms lose about one more decimal
    // digit; tolerance 2e-5), F(6,3) ≤ 7e-6 here and 1.1e-5 with Cin = 130
    // (`defaultPartitionOfAWideLayer`; larger constants, errors growing with Cin; tolerance 5e-5).
    @Test(arguments: convolutionCases, Variant.allCases)
    func matchesNaiveLoops(_ c: ConvolutionCase, _ variant: Variant) {
        let input = uniformValues(c.batch * c.height * c.width * c.cin, seed: 1)
        let kernel = uniformValues(9 * c.cin * c.cout, seed: 2)
        let bias = uniformValues(c.cout, seed: 3)
        for relu in [false, true] {
            let conv = variant.make(kernel: kernel, bias: bias, cin: c.cin, cout: c.cout, relu: relu)
            let output = conv.forward(input, batch: c.batch, height: c.height, width: c.width)
            let expected = naiveConvolution3x3(input, kernel, bias, batch: c.batch, height: c.height,
                                               width: c.width, inputChannels: c.cin, outputChannels: c.cout,
                                               relu: relu)
            let error = relativeError(output, expected)
            #expect(error < variant.tolerance, "\(c) \(variant) relu \(relu): relative error \(error)")
        }
    }

    @Test(arguments: convolutionCases, Variant.winograd)
    func fusedMaxPoolMatchesConvolutionThenPool(_ c: ConvolutionCase, _ variant: Variant) {
        let input = uniformValues(c.batch * c.height * c.width * c.cin, seed: 4)
        let kernel = uniformValues(9 * c.cin * c.cout, seed: 5)
        let bias = uniformValues(c.cout, seed: 6)
        let conv = variant.make(kernel: kernel, bias: bias, cin: c.cin, cout: c.cout)
        let output = conv.forward(input, batch: c.batch, height: c.height, width: c.width,
                     fusedMaxPool: true)
        let full = naiveConvolution3x3(input, kernel, bias, batch: c.batch, height: c.height, width: c.width,
                                       inputChannels: c.cin, outputChannels: c.cout, relu: true)
        let expected = naiveMaxPool(full, batch: c.batch, height: c.height, width: c.width, channels: c.cout)
        #expect(output.count == expected.count)
        if output.count == expected.count, !expected.isEmpty {
            let error = relativeError(output, expected)
            #expect(error < variant.tolerance, "\(c): relative error \(error)")
        }
    }

    /// Chunks have a size that does not depend on the thread count, so 1 and 2 workers give the
    /// same bits (and both match the reference, checked above with the default of 1).
    @Test(arguments: Variant.allCases)
    func threadCountDoesNotChangeResults(_ variant: Variant) {
        let (n, h, w, cin, cout) = (2, 23, 21, 16, 24)
        let input = uniformValues(n * h * w * cin, seed: 7)
        let kernel = uniformValues(9 * cin * cout, seed: 8)
        let bias = uniformValues(cout, seed: 9)
        let conv = variant.make(kernel: kernel, bias: bias, cin: cin, cout: cout)
        let one = conv.forward(input, batch: n, height: h, width: w, threads: 1)
        let two = conv.forward(input, batch: n, height: h, width: w, threads: 2)
        let again = conv.forward(input, batch: n, height: h, width: w, threads: 2)
        #expect(one == two)
        #expect(two == again)
        let expected = naiveConvolution3x3(input, kernel, bias, batch: n, height: h, width: w,
                                           inputChannels: cin, outputChannels: cout, relu: true)
        #expect(relativeError(two, expected) < variant.tolerance)
    }

    /// The default partition on a layer big enough for the shared scheme (Cin·Cout > 128²).
    @Test func defaultPartitionOfAWideLayer() {
        let (n, h, w, cin, cout) = (2, 9, 10, 130, 131)
        let input = uniformValues(n * h * w * cin, seed: 10)
        let kernel = uniformValues(9 * cin * cout, seed: 11)
        let bias = uniformValues(cout, seed: 12)
        let expected = naiveConvolution3x3(input, kernel, bias, batch: n, height: h, width: w,
                                           inputChannels: cin, outputChannels: cout, relu: true)
        for algorithm in Convolution3x3.Algorithm.allCases {
            let conv = Convolution3x3(kernel: kernel, bias: bias, inputChannels: cin, outputChannels: cout,
                                      algorithm: algorithm)
            let output = conv.forward(input, batch: n, height: h, width: w, threads: 2)
            let error = relativeError(output, expected)
            #expect(error < Variant.tolerance(algorithm), "\(algorithm): relative error \(error)")
        }
    }

    /// A workspace carrying a profile changes nothing in the results, and every phase of every
    /// algorithm and scheme gets time recorded.
    @Test(arguments: Variant.allCases)
    func profiledForwardGivesTheSameBits(_ variant: Variant) {
        let (n, h, w, cin, cout) = (2, 23, 21, 16, 24)
        let input = uniformValues(n * h * w * cin, seed: 13)
        let kernel = uniformValues(9 * cin * cout, seed: 14)
        let bias = uniformValues(cout, seed: 15)
        let conv = variant.make(kernel: kernel, bias: bias, cin: cin, cout: cout)
        let plain = conv.forward(input, batch: n, height: h, width: w, threads: 2)
        var profiled = [Float](repeating: 0, count: plain.count)
        let workspace = ConvolutionWorkspace()
        let profile = ConvolutionProfile()
        workspace.profile = profile
        profiled.withUnsafeMutableBufferPointer { o in
            input.withUnsafeBufferPointer { i in
                conv.forward(output: o.baseAddress!, input: i.baseAddress!, batch: n, height: h, width: w,
                             threads: 2, workspace: workspace)
            }
        }
        #expect(profiled == plain)
        for phase in ConvolutionProfile.Phase.allCases {
            #expect(profile.seconds(phase) > 0, "\(variant): no time recorded for \(phase)")
        }
        profile.reset()
        #expect(ConvolutionProfile.Phase.allCases.allSatisfy { profile.seconds($0) == 0 })
    }

    /// The GEMMs' work: F(4×4, 3×3) does 36 of the direct 144 multiplies per 4×4 tile, F(6×6,
    /// 3×3) 64 of 324 per 6×6 tile (whole tiles: an image of 12×12 has no partial ones).
    @Test func gemmMultiplyAccumulatesOfEachAlgorithm() {
        let direct = Convolution3x3.multiplyAccumulates(batch: 2, height: 12, width: 12, inputChannels: 3,
                                                        outputChannels: 5)
        func gemm(_ algorithm: Convolution3x3.Algorithm) -> Int {
            Convolution3x3(kernel: [Float](repeating: 0, count: 9 * 15), bias: [Float](repeating: 0, count: 5),
                           inputChannels: 3, outputChannels: 5, algorithm: algorithm)
                .gemmMultiplyAccumulates(batch: 2, height: 12, width: 12)
        }
        #expect(gemm(.im2col) == direct)
        #expect(gemm(.winogradF4x4) * 4 == direct)
        #expect(gemm(.winogradF6x6) * 324 == direct * 64)
    }

    @Test func multiplyAccumulatesCountsTheDirectConvolution() {
        #expect(Convolution3x3.multiplyAccumulates(batch: 2, height: 3, width: 5, inputChannels: 7,
                                                   outputChannels: 11) == 2 * 3 * 5 * 9 * 7 * 11)
    }
}
