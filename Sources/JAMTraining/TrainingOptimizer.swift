// shapes: optimizer state buffers are `[ParameterStore.totalCount]`, in the store's layout.
// Tests: Tests/JAMTrainingTests/TrainingCheckpointTests.swift (Adam and SGD state round trip), Tests/JAMTrainingTests/TrainingLoopTests.swift (Adam and SGD resume bit-identically)
import JAMNN
import JAMTensor

/// The optimizer of a training run, with its state: Adam (moments and step) or SGD with
/// momentum (velocity and step). Both states are plain buffers in the store's layout, so a
/// checkpoint saves them next to the values.
public enum TrainingOptimizer: Sendable, Equatable {
    case adam(AdamOptimizer)
    case sgd(SGDMomentumOptimizer)

    /// A fresh Adam (β1 0.9, β2 0.999, ε 1e-8) for `parameterCount` parameters.
    public static func adam(parameterCount: Int) -> TrainingOptimizer {
        .adam(AdamOptimizer(parameterCount: parameterCount))
    }

    /// A fresh SGD with heavy-ball momentum μ.
    public static func sgd(parameterCount: Int, momentum: Float) -> TrainingOptimizer {
        .sgd(SGDMomentumOptimizer(parameterCount: parameterCount, momentum: momentum))
    }

    /// `"adam"` or `"sgd"`, as in configs and checkpoints.
    public var name: String {
        switch self {
        case .adam: return "adam"
        case .sgd: return "sgd"
        }
    }

    /// Updates taken so far.
    public var step: Int {
        switch self {
        case .adam(let a): return a.step
        case .sgd(let s): return s.step
        }
    }

    /// Applies one update from `store.gradients` to `store.values`.
    public mutating func update(_ store: ParameterStore, learningRate: Float) {
        switch self {
        case .adam(var a):
            a.update(store, learningRate: learningRate)
            self = .adam(a)
        case .sgd(var s):
            s.update(store, learningRate: learningRate)
            self = .sgd(s)
        }
    }

    /// Whether this state fits a store of `parameterCount` parameters.
    public func holds(parameterCount: Int) -> Bool {
        switch self {
        case .adam(let a): return a.firstMoment.count == parameterCount && a.secondMoment.count == parameterCount
        case .sgd(let s): return s.velocity.count == parameterCount
        }
    }
}

/// The thread count of the BLAS calls that dominate training. Training is bit-reproducible at
/// a fixed thread count (OpenBLAS splits a GEMM's rows and columns among threads, never its
/// inner sum, but its kernels' blocking may follow the thread count), so stages set it from
/// their `threads` setting before the first step.
public enum ComputeThreads {
    public static func set(_ threads: Int) {
        BLAS.threads = threads
    }

    public static var current: Int { BLAS.threads }
}
