// shapes: elementwise on 8 lanes; the array helpers take any count.
// Tests: Tests/JAMNNTests/VectorActivationsTests.swift (against Double exp, σ and tanh on a dense
// grid, the extremes, infinities and NaN)
//
// The LSTM family's transcendental functions, 8 lanes at a time in plain arithmetic: no libm call
// per element. At the paper's sizes the cells evaluate 7 million σ and tanh per training step, which
// took 0.07 s of a 0.55 s step with libm's scalar `expf`/`tanhf` (docs/BENCHMARKS.md). Written
// with Swift's SIMD types only, so they compile for any CPU (SSE2 halves on baseline x86-64).

/// exp, σ and tanh of 8 floats, each within a few float32 ulps of the exact value (the tests
/// bound the error against Double): relative error for exp, σ and tanh of |x| ≥ ¼, and a Taylor
/// polynomial for tanh below, where 1 − e^{−2|x|} would cancel. NaN stays NaN.
public enum LSTMVectorMath {
    public typealias Lanes = SIMD8<Float>

    /// e^x for x ≤ 0; below ln(2⁻¹²⁶) ≈ −87.34 it returns about 2⁻¹²⁶ (the smallest normal float) instead
    /// of a denormal or 0, which no caller can tell from the exact value in a sum with 1.
    @inline(__always)
    public static func expNonPositive(_ x: Lanes) -> Lanes {
        let x = x.replacing(with: -87.33654, where: x .< -87.33654)
        // x = n·ln2 + r with n an integer and |r| ≤ ln2/2: n by adding and subtracting 1.5·2²³,
        // which rounds to the nearest integer, and r in two steps (ln2 = hi + lo, hi exact in a
        // float with n·hi exact too) so that it keeps its low bits.
        let magic: Float = 12_582_912
        let shifted = x * 1.442_695_04 + magic
        let n = shifted - magic
        let r = (x - n * 0.693_359_375) - n * -2.121_944_4e-4
        // e^r by its Taylor series to r⁷ (the next term is below 6e-9 of the value for |r| ≤ ln2/2).
        var p = Lanes(repeating: 1.0 / 5040)
        p = p * r + 1.0 / 720
        p = p * r + 1.0 / 120
        p = p * r + 1.0 / 24
        p = p * r + 1.0 / 6
        p = p * r + 0.5
        p = p * r + 1
        p = p * r + 1
        // 2ⁿ from the low bits of `shifted`, which hold n: the exponent field n + 127.
        let nBits = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- unsafeBitCast(Lanes(repeating: magic), to: SIMD8<Int32>.self)
        let scale = unsafeBitCast((nBits &+ 127) &<< 23, to: Lanes.self)
        return p * scale
    }

    /// σ(x) = 1 / (1 + e^{−x}), through e^{−|x|} so that nothing overflows.
    @inline(__always)
    public static func sigmoid(_ x: Lanes) -> Lanes {
        let e = expNonPositive(-magnitude(x))
        let s = 1 / (1 + e)
        return s.replacing(with: e * s, where: x .< 0)
    }

    /// tanh(x): (1 − e)/(1 + e) with e = e^{−2|x|} for |x| ≥ ¼, its Taylor series to x¹¹ below
    /// (the next term is below 3e-10 of the value there); the sign of x restored.
    @inline(__always)
    public static func tanh(_ x: Lanes) -> Lanes {
        let a = magnitude(x)
        let e = expNonPositive(-2 * a)
        let large = (1 - e) / (1 + e)
        let x2 = x * x
        var p = Lanes(repeating: -1382.0 / 155_925)
        p = p * x2 + 62.0 / 2835
        p = p * x2 + -17.0 / 315
        p = p * x2 + 2.0 / 15
        p = p * x2 + -1.0 / 3
        let small = x + x * x2 * p
        return small.replacing(with: large.replacing(with: -large, where: x .< 0), where: a .>= 0.25)
    }

    /// |x|, by clearing the sign bits.
    @inline(__always)
    public static func magnitude(_ x: Lanes) -> Lanes {
        unsafeBitCast(unsafeBitCast(x, to: SIMD8<UInt32>.self) & 0x7FFF_FFFF, to: Lanes.self)
    }

    /// Applies `function` to `count` floats in place, 8 at a time; a last partial group goes
    /// through the same function padded with zeros, so every element gets the same arithmetic.
    @inline(__always)
    public static func apply(_ values: UnsafeMutablePointer<Float>, count: Int, _ function: (Lanes) -> Lanes) {
        var i = 0
        while i < count {
            let width = min(8, count &- i)
            store(function(load(UnsafePointer(values + i), count: width)), values + i, count: width)
            i &+= 8
        }
    }

    /// The first `count` (1…8) lanes from `p`, the others 0.
    @inline(__always)
    public static func load(_ p: UnsafePointer<Float>, count: Int) -> Lanes {
        if count == 8 { return load(p) }
        var lanes = Lanes()
        for l in 0..<count { lanes[l] = p[l] }
        return lanes
    }

    /// Stores the first `count` (1…8) lanes of `v` at `p`.
    @inline(__always)
    public static func store(_ v: Lanes, _ p: UnsafeMutablePointer<Float>, count: Int) {
        if count == 8 { return store(v, p) }
        for l in 0..<count { p[l] = v[l] }
    }

    @inline(__always)
    public static func load(_ p: UnsafePointer<Float>) -> Lanes {
        UnsafeRawPointer(p).loadUnaligned(as: Lanes.self)
    }

    @inline(__always)
    public static func load(_ p: UnsafeMutablePointer<Float>) -> Lanes { load(UnsafePointer(p)) }

    @inline(__always)
    public static func store(_ v: Lanes, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: Lanes.self)
    }
}
