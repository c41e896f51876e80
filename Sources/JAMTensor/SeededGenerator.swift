// shapes: none (scalar random numbers).

import Foundation

/// A small, fast, seedable random number generator (SplitMix64) whose whole state is one
/// `UInt64`, so it can be saved in a checkpoint and restored exactly.
///
/// The same seed gives the same sequence on every platform; `Float`/`Double` uniforms and normal
/// samples are derived from `next()` by fixed formulas, so they are reproducible too.
public struct SeededGenerator: RandomNumberGenerator, Sendable, Hashable, Codable {
    /// The complete generator state; assign it to resume a saved sequence.
    public var state: UInt64

    public init(seed: UInt64) { state = seed }

    /// SplitMix64 (Steele, Lea, Flood 2014): a Weyl sequence through a bijective mixer.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform sample in `[0, 1)` with 53 random bits.
    public mutating func nextUniform() -> Double {
        Double(next() >> 11) * 0x1p-53
    }

    /// A normal sample by the Box-Muller transform. Each call consumes exactly two `next()`
    /// values (the second Box-Muller sample is dropped), so the state stays a single `UInt64`.
    public mutating func nextNormal(mean: Double = 0, standardDeviation: Double = 1) -> Double {
        let u1 = Double((next() >> 11) &+ 1) * 0x1p-53  // (0, 1]: log stays finite
        let u2 = nextUniform()
        let radius = (-2 * log(u1)).squareRoot()
        return mean + standardDeviation * radius * cos(2 * Double.pi * u2)
    }
}
