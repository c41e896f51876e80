// shapes: every optimizer state buffer is `[ParameterStore.totalCount]`, in the store's layout,
// so a checkpoint saves it as one plain array next to the values.
import Foundation
import JAMTensor


/// Adam (Kingma & Ba 2015) with bias correction, one loop over the store's contiguous buffers.
///
/// Per element, at step t (counted from 1):
///
///     m = β1·m + (1−β1)·g,   v = β2·v + (1−β2)·g²
///     θ −= lr · (m / (1−β1ᵗ)) / (√(v / (1−β2ᵗ)) + ε)
///
/// Weight decay is not applied here: it is part of the loss (`applyWeightDecay` adds `2ζθ` to the
/// gradients), as in the paper's loss.
public struct AdamOptimizer: Sendable, Equatable {
    public var beta1: Float
    public var beta2: Float
    public var epsilon: Float
    /// Updates taken so far; the next update is step `step + 1`.
    public var step: Int
    /// First-moment estimate m, `[totalCount]`.
    public var firstMoment: [Float]
    /// Second-moment estimate v, `[totalCount]`.
    public var secondMoment: [Float]

    public init(parameterCount: Int, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        step = 0
        firstMoment = [Float](repeating: 0, count: parameterCount)
        secondMoment = [Float](repeating: 0, count: parameterCount)
    }

    /// Applies one update from `store.gradients` to `store.values` (gradients are left as they are).
    public mutating func update(_ store: ParameterStore, learningRate: Float) {
        precondition(store.totalCount == firstMoment.count,
                     "Adam state holds \(firstMoment.count) parameters, the store \(store.totalCount)")
        step += 1
        let (b1, b2, eps) = (beta1, beta2, epsilon)
        // Bias corrections in Double: β2ᵗ is 1 − O(t·1e-3) and would lose digits in Float.
        let c1 = Float(1 - pow(Double(b1), Double(step)))
        let c2 = Float(1 - pow(Double(b2), Double(step)))
        let n = store.totalCount
        // Elementwise, so splitting the range over threads gives the same bits at any count.
        let chunks = min(n, 64)
        firstMoment.withUnsafeMutableBufferPointer { m in
            secondMoment.withUnsafeMutableBufferPointer { v in
                // The moments are streamed like the store (`ParameterStore.zeroGradients`).
                HugePages.advise(m.baseAddress!, count: n, collapse: true)
                HugePages.advise(v.baseAddress!, count: n, collapse: true)
                store.gradients.withUnsafeBufferPointer { g in
                    store.values.withUnsafeMutableBufferPointer { theta in
                        parallelFor(chunkCount: chunks, threads: BLAS.threads) { chunk, _ in
                            for i in (n * chunk / chunks)..<(n * (chunk + 1) / chunks) {
                                let gi = g[i]
                                m[i] = b1 * m[i] + (1 - b1) * gi
                                v[i] = b2 * v[i] + (1 - b2) * gi * gi
                                let mHat = m[i] / c1
                                let vHat = v[i] / c2
                                theta[i] -= learningRate * mHat / (vHat.squareRoot() + eps)
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Stochastic gradient descent with (heavy-ball) momentum, PyTorch's form:
///
///     u = μ·u + g,   θ −= lr·u
///
/// (With μ = 0 this is plain SGD.) The velocity u is the only state.
public struct SGDMomentumOptimizer: Sendable, Equatable {
    public var momentum: Float
    /// Updates taken so far.
    public var step: Int
    /// Velocity u, `[totalCount]`.
    public var velocity: [Float]

    public init(parameterCount: Int, momentum: Float = 0.9) {
        self.momentum = momentum
        step = 0
        velocity = [Float](repeating: 0, count: parameterCount)
    }

    public mutating func update(_ store: ParameterStore, learningRate: Float) {
        precondition(store.totalCount == velocity.count,
                     "SGD state holds \(velocity.count) parameters, the store \(store.totalCount)")
        step += 1
        let mu = momentum
        let n = store.totalCount
        velocity.withUnsafeMutableBufferPointer { u in
            store.gradients.withUnsafeBufferPointer { g in
                store.values.withUnsafeMutableBufferPointer { theta in
                    for i in 0..<n {
                        u[i] = mu * u[i] + g[i]
                        theta[i] -= learningRate * u[i]
                    }
                }
            }
        }
    }
}

/// Learning rate by epoch: constant, or multiplied by `decayFactor` every `decayEveryEpochs`
/// epochs (step decay). `decayEveryEpochs = 0` means constant.
public struct LearningRateSchedule: Sendable, Hashable, Codable {
    public var initial: Float
    public var decayFactor: Float
    public var decayEveryEpochs: Int

    public init(initial: Float, decayFactor: Float = 1, decayEveryEpochs: Int = 0) {
        precondition(decayEveryEpochs >= 0, "decayEveryEpochs must be >= 0, got \(decayEveryEpochs)")
        self.initial = initial
        self.decayFactor = decayFactor
        self.decayEveryEpochs = decayEveryEpochs
    }

    public static func constant(_ rate: Float) -> Self { Self(initial: rate) }

    public static func stepDecay(initial: Float, factor: Float, everyEpochs: Int) -> Self {
        Self(initial: initial, decayFactor: factor, decayEveryEpochs: everyEpochs)
    }

    /// The rate during `epoch` (0-based): `initial · factor^⌊epoch / N⌋`.
    public func rate(epoch: Int) -> Float {
        guard decayEveryEpochs > 0 else { return initial }
        return initial * Float(pow(Double(decayFactor), Double(epoch / decayEveryEpochs)))
    }
}

/// A NaN or infinity found in a parameter store, named so that the trainer's message can say
/// where training blew up.
public struct NonFiniteParameter: Error, Sendable, Hashable, CustomStringConvertible {
    /// The parameter's name, e.g. `branch0.conv1.kernel`.
    public var name: String
    /// Element index within that parameter (row-major in its shape).
    public var index: Int
    public var value: Float
    /// True when the bad number is in the gradients, false when in the values.
    public var inGradient: Bool

    public init(name: String, index: Int, value: Float, inGradient: Bool) {
        (self.name, self.index, self.value, self.inGradient) = (name, index, value, inGradient)
    }

    public var description: String {
        "non-finite \(inGradient ? "gradient" : "value") \(value) in parameter \(name) at element \(index)"
    }
}

/// The index of the first NaN or ±infinity in `buffer`, or nil when all are finite.
public func firstNonFiniteIndex(_ buffer: UnsafeBufferPointer<Float>) -> Int? {
    for i in buffer.indices where !buffer[i].isFinite { return i }
    return nil
}

extension ParameterStore {
    /// The first NaN/infinity in the values, then in the gradients, named by parameter; nil when all are finite.
    public func firstNonFinite() -> NonFiniteParameter? {
        for (buffer, inGradient) in [(values, false), (gradients, true)] {
            if let flat = buffer.withUnsafeBufferPointer(firstNonFiniteIndex) {
                let view = views.last { $0.offset <= flat }!
                return NonFiniteParameter(name: view.name, index: flat - view.offset,
                                          value: buffer[flat], inGradient: inGradient)
            }
        }
        return nil
    }

    /// `‖g‖₂` over all gradients (accumulated in Double).
    public func gradientNorm() -> Float {
        var sum = 0.0
        gradients.withUnsafeBufferPointer { g in
            for x in g { sum += Double(x) * Double(x) }
        }
        return Float(sum.squareRoot())
    }
}
