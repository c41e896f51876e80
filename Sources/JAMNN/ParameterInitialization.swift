// shapes: initialisers fill one `ParameterView` of a `ParameterStore` in place.
import Foundation

/// SplitMix64 (Steele, Lea, Flood 2014): a tiny seeded generator whose whole state is one
/// `UInt64`, so a checkpoint can store it and a run can be replayed bit for bit.
public struct ParameterRandom: RandomNumberGenerator, Sendable, Hashable, Codable {
    public var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 53 random bits.
    public mutating func nextUniform() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// Standard normal by Box–Muller (one draw per call; the twin is discarded so that the
    /// sequence depends only on the number of calls).
    public mutating func nextGaussian() -> Double {
        let u1 = 1 - nextUniform()  // (0, 1]: log stays finite
        let u2 = nextUniform()
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }
}

extension ParameterStore {
    /// Fills a parameter with He-normal values `N(0, 2/fanIn)` (He et al. 2015), the usual
    /// choice in front of a ReLU.
    public func fillHeNormal(_ view: ParameterView, fanIn: Int, using random: inout ParameterRandom) {
        let std = (2 / Double(fanIn)).squareRoot()
        for i in view.offset..<(view.offset + view.count) {
            values[i] = Float(random.nextGaussian() * std)
        }
    }

    /// Sets every value of a parameter to `value` (biases: 0).
    public func fill(_ view: ParameterView, with value: Float) {
        for i in view.offset..<(view.offset + view.count) { values[i] = value }
    }

    /// Weight decay `ζ Σ θ²` restricted to `views` (those with `decays` set): adds `2ζθ` to
    /// their gradients and returns the penalty. Lets one model among several in a store pay
    /// its own decay without counting the others'.
    public func applyWeightDecay(coefficient: Float, to views: [ParameterView]) -> Float {
        guard coefficient != 0 else { return 0 }
        var penalty = 0.0
        values.withUnsafeBufferPointer { v in
            gradients.withUnsafeMutableBufferPointer { g in
                for view in views where view.decays {
                    for i in view.offset..<(view.offset + view.count) {
                        let w = v[i]
                        penalty += Double(w) * Double(w)
                        g[i] += 2 * coefficient * w
                    }
                }
            }
        }
        return Float(penalty) * coefficient
    }
}
