// shapes: initialisers fill one `ParameterView` of a `ParameterStore` in place.
import Foundation
import JAMCore

extension SplitMix64 {
    /// A standard normal sample by Box–Muller, with `u1 = 1 − nextUniform()` (in `(0, 1]`, so
    /// the log stays finite) and `u2 = nextUniform()`.
    ///
    /// One sample per call (the twin is discarded) so that the sequence depends only on the
    /// number of calls. Every He-normal initialisation depends on this exact derivation;
    /// JAMTensor's `nextNormal` forms `u1` differently.
    public mutating func nextGaussian() -> Double {
        let u1 = 1 - nextUniform()
        let u2 = nextUniform()
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }
}

extension ParameterStore {
    /// Fills a parameter with He-normal values `N(0, 2/fanIn)` (He et al. 2015), the usual
    /// choice in front of a ReLU.
    public func fillHeNormal(_ view: ParameterView, fanIn: Int, using random: inout SplitMix64) {
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
