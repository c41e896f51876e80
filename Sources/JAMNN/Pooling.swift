// shapes: frames [N, H, W, C] (N = B·T: pooling is per frame, never across time);
// max-pool output [N, H/2, W/2, C] (floor), argmax [N, H/2, W/2, C] (flat input indices);
// spatial mean output [N, C]; adaptive average output [N, Ho, Wo, C].

/// 2×2 spatial max pooling with stride 2, per frame, channels last.
///
/// Odd heights or widths drop the last row or column (Keras/Caffe "valid" pooling): 22 → 11, 23 → 11.
public enum MaxPool2x2 {
    /// Output side for an input side `n`.
    public static func outputLength(_ n: Int) -> Int { n / 2 }

    /// - Parameters:
    ///   - output: `[N, H/2, W/2, C]`, overwritten.
    ///   - argmax: `[N, H/2, W/2, C]`, the flat input index of each maximum (what backward needs;
    ///     ties go to the first in row-major window order).
    ///   - input: `[N, H, W, C]`.
    public static func forward(
        output: UnsafeMutablePointer<Float>, argmax: UnsafeMutablePointer<Int32>,
        input: UnsafePointer<Float>, frames: Int, height: Int, width: Int, channels: Int
    ) {
        precondition(frames * height * width * channels <= Int(Int32.max),
                     "MaxPool2x2: input of \(frames * height * width * channels) floats exceeds Int32 argmax indices")
        let (ho, wo, c) = (height / 2, width / 2, channels)
        for n in 0..<frames {
            for y in 0..<ho {
                for x in 0..<wo {
                    let out = ((n &* ho &+ y) &* wo &+ x) &* c
                    let i00 = ((n &* height &+ 2 &* y) &* width &+ 2 &* x) &* c
                    let i01 = i00 &+ c
                    let i10 = i00 &+ width &* c
                    let i11 = i10 &+ c
                    for k in 0..<c {
                        var best = i00 &+ k
                        if input[i01 &+ k] > input[best] { best = i01 &+ k }
                        if input[i10 &+ k] > input[best] { best = i10 &+ k }
                        if input[i11 &+ k] > input[best] { best = i11 &+ k }
                        output[out &+ k] = input[best]
                        argmax[out &+ k] = Int32(truncatingIfNeeded: best)
                    }
                }
            }
        }
    }

    /// `inputGradient[argmax[j]] += outputGradient[j]`.
    ///
    /// - Parameters:
    ///   - inputGradient: `[N, H, W, C]`, accumulated.
    ///   - outputGradient, argmax: `[N, H/2, W/2, C]`; `outputCount = N·(H/2)·(W/2)·C`.
    public static func backward(
        inputGradient: UnsafeMutablePointer<Float>,
        outputGradient: UnsafePointer<Float>, argmax: UnsafePointer<Int32>, outputCount: Int
    ) {
        for j in 0..<outputCount { inputGradient[Int(argmax[j])] += outputGradient[j] }
    }
}

/// Mean over the spatial positions of each frame: `[N, H, W, C] → [N, C]`.
public enum SpatialMean {
    /// `output[n, c] = (1/(H·W)) Σ_{h,w} input[n, h, w, c]`.
    public static func forward(
        output: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>,
        frames: Int, positions: Int, channels: Int
    ) {
        let scale = 1 / Float(positions)
        var sum = [Float](repeating: 0, count: channels)
        for n in 0..<frames {
            for k in 0..<channels { sum[k] = 0 }
            for p in 0..<positions {
                let row = input + (n &* positions &+ p) &* channels
                for k in 0..<channels { sum[k] += row[k] }
            }
            for k in 0..<channels { output[n &* channels &+ k] = sum[k] * scale }
        }
    }

    /// `inputGradient[n, h, w, c] += outputGradient[n, c] / (H·W)`.
    public static func backward(
        inputGradient: UnsafeMutablePointer<Float>, outputGradient: UnsafePointer<Float>,
        frames: Int, positions: Int, channels: Int
    ) {
        let scale = 1 / Float(positions)
        for n in 0..<frames {
            let g = outputGradient + n &* channels
            for p in 0..<positions {
                let row = inputGradient + (n &* positions &+ p) &* channels
                for k in 0..<channels { row[k] += g[k] * scale }
            }
        }
    }
}

/// Adaptive average pooling per frame, `[N, H, W, C] → [N, Ho, Wo, C]`: the "no middle
/// module" route from a VGG map (e.g. 24×24) to the LSTM's K×K grid.
///
/// Bin rule (as PyTorch's `AdaptiveAvgPool2d`): output row `i` averages input rows
/// `floor(i·H/Ho) ..< ceil((i+1)·H/Ho)`, and likewise for columns. Bins cover every input row,
/// may overlap by one when `Ho` does not divide `H`, and are exact `H/Ho` blocks when it does.
public enum AdaptiveAveragePool {
    /// The input range averaged into output index `i` of `outputLength`, for an axis of `inputLength`.
    public static func bin(_ i: Int, inputLength: Int, outputLength: Int) -> Range<Int> {
        let lo = (i * inputLength) / outputLength
        let hi = ((i + 1) * inputLength + outputLength - 1) / outputLength
        return lo..<hi
    }

    /// - Parameters:
    ///   - output: `[N, Ho, Wo, C]`, overwritten.
    ///   - input: `[N, H, W, C]`.
    public static func forward(
        output: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>,
        frames: Int, height: Int, width: Int, channels: Int, outputHeight: Int, outputWidth: Int
    ) {
        precondition(outputHeight > 0 && outputWidth > 0 && height > 0 && width > 0,
                     "AdaptiveAveragePool: cannot pool \(height)×\(width) to \(outputHeight)×\(outputWidth)")
        let c = channels
        // Sums in Double: a 24×24 bin of VGG activations loses bits in Float.
        var sums = [Double](repeating: 0, count: c)
        for n in 0..<frames {
            for i in 0..<outputHeight {
                let rows = bin(i, inputLength: height, outputLength: outputHeight)
                for j in 0..<outputWidth {
                    let cols = bin(j, inputLength: width, outputLength: outputWidth)
                    for k in 0..<c { sums[k] = 0 }
                    for y in rows {
                        for x in cols {
                            let src = input + ((n &* height &+ y) &* width &+ x) &* c
                            for k in 0..<c { sums[k] += Double(src[k]) }
                        }
                    }
                    let scale = 1 / Double(rows.count * cols.count)
                    let out = output + ((n &* outputHeight &+ i) &* outputWidth &+ j) &* c
                    for k in 0..<c { out[k] = Float(sums[k] * scale) }
                }
            }
        }
    }

    /// Spreads each output gradient evenly over its bin; `inputGradient` `[N, H, W, C]` is accumulated.
    public static func backward(
        inputGradient: UnsafeMutablePointer<Float>, outputGradient: UnsafePointer<Float>,
        frames: Int, height: Int, width: Int, channels: Int, outputHeight: Int, outputWidth: Int
    ) {
        let c = channels
        for n in 0..<frames {
            for i in 0..<outputHeight {
                let rows = bin(i, inputLength: height, outputLength: outputHeight)
                for j in 0..<outputWidth {
                    let cols = bin(j, inputLength: width, outputLength: outputWidth)
                    let g = outputGradient + ((n &* outputHeight &+ i) &* outputWidth &+ j) &* c
                    let scale = 1 / Float(rows.count * cols.count)
                    for y in rows {
                        for x in cols {
                            let dst = inputGradient + ((n &* height &+ y) &* width &+ x) &* c
                            for k in 0..<c { dst[k] += g[k] * scale }
                        }
                    }
                }
            }
        }
    }
}
