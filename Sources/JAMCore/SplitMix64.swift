// shapes: none (scalar random numbers).

/// SplitMix64 (Steele, Lea, Flood 2014): a Weyl sequence through a bijective mixer. The one
/// seeded generator of JAM; its whole state is one `UInt64`, so a checkpoint can store it and a
/// run can be replayed bit for bit, and the same seed gives the same sequence on every platform.
///
/// How floats are drawn differs between uses (a change would move every stream that depends on
/// it), so each derivation is a separately named method next to its users:
/// `nextUniform()` here; `nextNormal(mean:standardDeviation:)` in JAMTensor; `nextGaussian()`
/// and `nextUniform(bound:)` in JAMNN; `uniform(_:_:)` and `integer(_:)` in JAMVideo.
public struct SplitMix64: RandomNumberGenerator, Sendable, Hashable, Codable {
    /// The complete generator state; assign it to resume a saved sequence.
    public var state: UInt64

    public init(seed: UInt64) { state = seed }

    @inlinable
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return SplitMix64.mix(state)
    }

    /// The SplitMix64 output function, a bijective 64-bit mixer (Stafford's variant 13); also used
    /// on its own to derive well-separated seeds.
    @inlinable
    public static func mix(_ x: UInt64) -> UInt64 {
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform sample in `[0, 1)` from the top 53 bits of one `next()`.
    @inlinable
    public mutating func nextUniform() -> Double {
        Double(next() >> 11) * 0x1p-53
    }
}

/// `SplitMix64.mix(x)`, the SplitMix64 output function, under the name seed derivations use.
@inlinable
public func mix64(_ x: UInt64) -> UInt64 { SplitMix64.mix(x) }
