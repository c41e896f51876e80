// shapes: frames uint8 RGB [B, S, S, 3] → preprocessed float BGR [S, S, 3] per frame →
// block1 [S, S, 64] → block2 [S/2, S/2, 128] → block3 [S/4, S/4, 256] → block4 [S/8, S/8, 512]
// → pool4 [B, S/16, S/16, 512] → block5 → conv5_3 [B, S/16, S/16, 512]; channels last.

import JAMTensor

/// Why a feature extraction was refused.
public enum VGG16FeatureError: Error, CustomStringConvertible, Equatable {
    case frameSize(Int)
    case bufferSize(name: String, expected: Int, found: Int)

    public var description: String {
        switch self {
        case .frameSize(let size):
            return "VGG16 features: frame size \(size) is not a positive multiple of 16 (pool4 and conv5_3 are S/16 × S/16); resize frames to e.g. 224 or 384"
        case .bufferSize(let name, let expected, let found):
            return "VGG16 features: \(name) holds \(found) values, expected \(expected)"
        }
    }
}

/// VGG16's convolutional part as a feature extractor: Caffe-style preprocessing, the 13
/// convolutions with ReLU and the four max-pools, giving the taps `pool4` (after block 4's pool)
/// and `conv5_3` (after `block5_conv3`'s ReLU), both `[S/16, S/16, 512]` per frame.
///
/// Blocks 1-3 run frame by frame (their activations are large: 37 MB per buffer at S = 384),
/// blocks 4-5 on the whole batch at once (small activations, and more tiles per GEMM). Buffers
/// are kept and reused across calls, so working memory is bounded by the largest batch and frame
/// size seen: 2·S²·64 (3· with im2col) + 2·B·(S/8)²·512 floats of activations, plus the
/// prepared weights (105 M floats, 418 MB, with the default F(6×6, 3×3); 59 M floats, 235 MB,
/// with F(4×4, 3×3)) and up to ~70 MB of convolution scratch (blocks of 256 tiles for the
/// 512-channel layers). Measured peak resident memory of `jam-bench vgg` at S = 384, B = 8:
/// about 690 MB (about 500 MB with F(4×4, 3×3)).
///
/// Not safe to call from two threads at once; results are identical from run to run and do not
/// depend on `threads`.
public final class VGG16FeatureExtractor {
    /// Worker threads used by every layer.
    public let threads: Int
    /// Where the weights came from (`VGG16Weights.origin`).
    public let weightsOrigin: String
    /// Whether any layer uses Winograd (the default) rather than im2col everywhere (slower, a few
    /// ulps more accurate).
    public var usesWinograd: Bool { algorithms.contains { $0 != .im2col } }
    /// The algorithm of each of the 13 convolutions.
    public let algorithms: [Convolution3x3.Algorithm]

    /// The frame size from which F(6×6, 3×3) is the default on layers 2–13: at S = 384 it was
    /// faster than F(4×4, 3×3) on every layer, at S = 288 as fast one frame at a time and 15–20%
    /// faster in batches of 8; at S = 224 it was 10–30% slower one frame at a time and no faster
    /// in batches of 8, at S = 96 slower on every layer (docs/BENCHMARKS.md,
    /// `jam-bench vgg --tiles 4|6`).
    public static let largeTileMinimumFrameSize = 288

    /// The default algorithm per layer for S×S frames: im2col for `block1_conv1` (3 input
    /// channels, too few for Winograd's GEMMs), and Winograd for the other twelve, F(6×6, 3×3)
    /// from `largeTileMinimumFrameSize` on, F(4×4, 3×3) below. The features stay within 1.0e-5
    /// (F(6×6)) and 2.9e-6 (F(4×4)) of a Double reference (tested; the bound is 1e-4).
    public static func defaultAlgorithms(frameSize: Int) -> [Convolution3x3.Algorithm] {
        [.im2col] + Array(repeating: frameSize >= largeTileMinimumFrameSize ? .winogradF6x6 : .winogradF4x4, count: 12)
    }

    private let convolutions: [Convolution3x3]
    private let workspace = ConvolutionWorkspace()
    private let frameBuffers = (ScratchBuffer<Float>(), ScratchBuffer<Float>(), ScratchBuffer<Float>())
    private let batchBuffers = (ScratchBuffer<Float>(), ScratchBuffer<Float>())

    /// Prepares the 13 convolutions for S×S frames (for Winograd: transforms every kernel once):
    /// with `defaultAlgorithms(frameSize:)`, or im2col everywhere when `useWinograd` is false.
    /// Any frame size runs; `frameSize` only chooses the algorithms.
    public convenience init(weights: VGG16Weights, threads: Int, frameSize: Int, useWinograd: Bool = true) {
        self.init(weights: weights, threads: threads,
                  algorithms: useWinograd ? Self.defaultAlgorithms(frameSize: frameSize) : Array(repeating: .im2col, count: 13))
    }

    /// Prepares the 13 convolutions with the given algorithm for each (13 entries, in network order).
    public init(weights: VGG16Weights, threads: Int, algorithms: [Convolution3x3.Algorithm]) {
        precondition(algorithms.count == weights.layers.count,
                     "VGG16FeatureExtractor: \(algorithms.count) algorithms for \(weights.layers.count) layers")
        self.threads = max(1, threads)
        self.weightsOrigin = weights.origin
        self.algorithms = algorithms
        convolutions = zip(weights.layers, algorithms).map { layer, algorithm in
            Convolution3x3(kernel: layer.kernel, bias: layer.bias, inputChannels: layer.layer.inputChannels,
                           outputChannels: layer.layer.outputChannels, algorithm: algorithm, relu: true)
        }
    }

    /// Multiply-accumulates of the 13 convolutions for one S×S frame, counted as direct
    /// convolution (`Σ H·W·9·Cin·Cout`); GFLOP/s figures use 2× this.
    public static func multiplyAccumulates(frameSize: Int) -> Int {
        var side = frameSize
        var total = 0
        for layer in VGG16Layer.all {
            total += Convolution3x3.multiplyAccumulates(batch: 1, height: side, width: side,
                                                        inputChannels: layer.inputChannels,
                                                        outputChannels: layer.outputChannels)
            if layer.poolAfter { side /= 2 }
        }
        return total
    }

    /// Caffe/Keras VGG16 preprocessing (docs/DESIGN.md §4): RGB → BGR and subtract the ImageNet mean
    /// `[103.939, 116.779, 123.68]` (BGR order); no scaling.
    ///
    /// - Parameters:
    ///   - output: float BGR `[pixelCount, 3]`.
    ///   - frames: uint8 RGB `[pixelCount, 3]`.
    public static func preprocess(output: UnsafeMutablePointer<Float>, frames: UnsafePointer<UInt8>,
                                  pixelCount: Int) {
        for p in 0..<pixelCount {
            let i = p &* 3
            output[i] = Float(frames[i &+ 2]) - 103.939
            output[i &+ 1] = Float(frames[i &+ 1]) - 116.779
            output[i &+ 2] = Float(frames[i]) - 123.68
        }
    }

    /// Runs a batch of frames through the network and writes both taps.
    ///
    /// - Parameters:
    ///   - pool4: `[batch, S/16, S/16, 512]`, written.
    ///   - conv5_3: `[batch, S/16, S/16, 512]`, written.
    ///   - frames: uint8 RGB `[batch, S, S, 3]`.
    ///   - frameSize: S, a positive multiple of 16.
    /// - Throws: `VGG16FeatureError.frameSize` when S is not a positive multiple of 16.
    public func extract(pool4: UnsafeMutablePointer<Float>, conv5_3: UnsafeMutablePointer<Float>,
                        frames: UnsafePointer<UInt8>, batch: Int, frameSize: Int) throws {
        let s = frameSize
        guard s > 0, s % 16 == 0 else { throw VGG16FeatureError.frameSize(s) }
        guard batch > 0 else { return }
        let s8 = s / 8
        let (p, q, spare) = frameBuffers
        p.reserve(s * s * 64)
        q.reserve(s * s * 64)
        if !usesWinograd { spare.reserve(s * s * 64) }
        let (x, y) = batchBuffers
        x.reserve(batch * s8 * s8 * 512)
        y.reserve(batch * s8 * s8 * 512)

        // Blocks 1-3, one frame at a time, ending in frame b's slice of the batch buffer x.
        for b in 0..<batch {
            Self.preprocess(output: p.pointer, frames: frames + b * s * s * 3, pixelCount: s * s)
            layer(0, output: q.pointer, input: p.pointer, spare: spare, batch: 1, side: s)
            layer(1, output: p.pointer, input: q.pointer, spare: spare, batch: 1, side: s)
            layer(2, output: q.pointer, input: p.pointer, spare: spare, batch: 1, side: s / 2)
            layer(3, output: p.pointer, input: q.pointer, spare: spare, batch: 1, side: s / 2)
            layer(4, output: q.pointer, input: p.pointer, spare: spare, batch: 1, side: s / 4)
            layer(5, output: p.pointer, input: q.pointer, spare: spare, batch: 1, side: s / 4)
            layer(6, output: x.pointer + b * s8 * s8 * 256, input: p.pointer, spare: spare, batch: 1,
                  side: s / 4)
        }
        // Blocks 4-5 on the whole batch.
        layer(7, output: y.pointer, input: x.pointer, spare: spare, batch: batch, side: s8)
        layer(8, output: x.pointer, input: y.pointer, spare: spare, batch: batch, side: s8)
        layer(9, output: pool4, input: x.pointer, spare: y, batch: batch, side: s8)
        layer(10, output: x.pointer, input: pool4, spare: spare, batch: batch, side: s / 16)
        layer(11, output: y.pointer, input: x.pointer, spare: spare, batch: batch, side: s / 16)
        layer(12, output: conv5_3, input: y.pointer, spare: spare, batch: batch, side: s / 16)
    }

    /// `extract` on arrays: returns pool4 and conv5_3, each `[batch, S/16, S/16, 512]`.
    public func extract(frames: [UInt8], batch: Int, frameSize: Int) throws
        -> (pool4: [Float], conv5_3: [Float])
    {
        let expected = batch * frameSize * frameSize * 3
        guard frames.count == expected else {
            throw VGG16FeatureError.bufferSize(name: "frames", expected: expected, found: frames.count)
        }
        guard frameSize > 0, frameSize % 16 == 0 else { throw VGG16FeatureError.frameSize(frameSize) }
        let count = batch * (frameSize / 16) * (frameSize / 16) * 512
        var pool4 = [Float](repeating: 0, count: count)
        var conv5_3 = [Float](repeating: 0, count: count)
        try pool4.withUnsafeMutableBufferPointer { p in
            try conv5_3.withUnsafeMutableBufferPointer { c in
                try frames.withUnsafeBufferPointer { f in
                    try extract(pool4: p.baseAddress!, conv5_3: c.baseAddress!, frames: f.baseAddress!,
                                batch: batch, frameSize: frameSize)
                }
            }
        }
        return (pool4, conv5_3)
    }

    /// Bytes held by the reusable activation buffers and the per-thread scratch (not counting
    /// the prepared weights).
    public var workingBytes: Int {
        [frameBuffers.0, frameBuffers.1, frameBuffers.2, batchBuffers.0, batchBuffers.1]
            .reduce(workspace.bytesAllocated) { $0 + $1.capacity * MemoryLayout<Float>.stride }
    }

    /// Convolution `index` (+ ReLU, + its max-pool when the layer has one) on `[batch, side,
    /// side, Cin]`. Winograd pools in its output transform; im2col convolves into `spare` first.
    private func layer(_ index: Int, output: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>,
                       spare: ScratchBuffer<Float>, batch: Int, side: Int) {
        let conv = convolutions[index]
        let pool = VGG16Layer.all[index].poolAfter
        if pool && conv.algorithm == .im2col {
            spare.reserve(batch * side * side * conv.outputChannels)
            conv.forward(output: spare.pointer, input: input, batch: batch, height: side, width: side,
                         threads: threads, workspace: workspace)
            maxPool2x2(output: output, input: spare.pointer, batch: batch, height: side, width: side,
                       channels: conv.outputChannels, threads: threads)
        } else {
            conv.forward(output: output, input: input, batch: batch, height: side, width: side,
                         fusedMaxPool: pool, threads: threads, workspace: workspace)
        }
    }
}
