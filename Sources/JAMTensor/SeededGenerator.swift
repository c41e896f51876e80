// shapes: none (scalar random numbers).

import Foundation
import JAMCore

extension SplitMix64 {
    /// A normal sample by the Box-Muller transform, with `u1 = (k + 1)·2⁻⁵³` from the top 53
    /// bits `k` of one `next()` (in `(0, 1]`, so the log stays finite) and `u2 = nextUniform()`.
    ///
    /// Each call consumes exactly two `next()` values (the second Box-Muller sample is dropped),
    /// so the state stays a single `UInt64`. The VGG16 random weights and the tests' data depend
    /// on this exact derivation; JAMNN's `nextGaussian()` forms `u1` differently.
    public mutating func nextNormal(mean: Double = 0, standardDeviation: Double = 1) -> Double {
        let u1 = Double((next() >> 11) &+ 1) * 0x1p-53
        let u2 = nextUniform()
        let radius = (-2 * log(u1)).squareRoot()
        return mean + standardDeviation * radius * cos(2 * Double.pi * u2)
    }
}
