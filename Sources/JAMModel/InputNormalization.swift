// shapes: values channels last, [..., C].
import JAMCore

/// The affine map applied to every input channel before a trained stage sees it:
/// `x' = (x − mean[c]) · scale[c]`.
public struct InputNormalization: Sendable, Hashable {
    public var mean: [Float]
    public var scale: [Float]

    public init(mean: [Float], scale: [Float]) {
        precondition(mean.count == scale.count, "InputNormalization: \(mean.count) means, \(scale.count) scales")
        self.mean = mean
        self.scale = scale
    }

    /// The identity on `channels` channels.
    public static func identity(channels: Int) -> InputNormalization {
        InputNormalization(mean: [Float](repeating: 0, count: channels), scale: [Float](repeating: 1, count: channels))
    }

    /// Standardization over the union of `parts` (all of the same channel count): each channel
    /// gets mean 0 and variance 1 (population variance). A channel that is constant there, to
    /// within rounding, gets scale 0: it carries nothing.
    public static func standardizing(_ parts: [ChannelMoments]) -> InputNormalization {
        let channels = parts.first?.channels ?? 0
        precondition(parts.allSatisfy { $0.channels == channels }, "InputNormalization: parts of different channel counts")
        let count = Double(parts.reduce(0) { $0 + $1.count })
        var mean = [Float](repeating: 0, count: channels)
        var scale = [Float](repeating: 0, count: channels)
        guard count > 0 else { return InputNormalization(mean: mean, scale: scale) }
        for c in 0..<channels {
            let m = parts.reduce(0.0) { $0 + $1.sums[c] } / count
            let meanSquare = parts.reduce(0.0) { $0 + $1.squares[c] } / count
            let variance = meanSquare - m * m
            mean[c] = Float(m)
            scale[c] = variance > 1e-12 * meanSquare ? Float(1 / variance.squareRoot()) : 0
        }
        return InputNormalization(mean: mean, scale: scale)
    }

    /// Applies the map in place to `count` values, channels last.
    public func apply(to x: UnsafeMutablePointer<Float>, count: Int) {
        let channels = mean.count
        precondition(channels > 0 && count % channels == 0,
                     "InputNormalization: \(count) values are not whole \(channels)-channel pixels")
        mean.withUnsafeBufferPointer { m in
            scale.withUnsafeBufferPointer { s in
                var pixel = x
                for _ in 0..<(count / channels) {
                    for c in 0..<channels { pixel[c] = (pixel[c] - m[c]) * s[c] }
                    pixel += channels
                }
            }
        }
    }
}
