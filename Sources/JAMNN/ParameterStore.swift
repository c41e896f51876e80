// shapes: every parameter is a named, row-major view into one contiguous Float buffer.
// Tests: Tests/JAMNNTests/OptimizersTests.swift (views, weight decay, updates), Tests/JAMNNTests/ParameterInitializationTests.swift, Tests/JAMModelTests/ConvNet3DBranchTests.swift (names and shapes)
import CBLAS
import JAMTensor

/// Where one named parameter lives inside a `ParameterStore`.
public struct ParameterView: Sendable, Hashable, Codable {
    /// A stable, human-readable name, for example `c3d.branch0.conv1.kernel`.
    public var name: String
    /// Row-major shape, for example `[kt, kh, kw, cin, cout]` for a 3D kernel.
    public var shape: [Int]
    /// First element of this parameter in the store's buffers.
    public var offset: Int
    /// `shape.reduce(1, *)`.
    public var count: Int { shape.reduce(1, *) }
    /// Whether weight decay applies (kernels and matrices yes, biases by our convention yes as
    /// well: docs/DESIGN.md §4 says "weight decay ζ on all weights"; set false to exempt a parameter).
    public var decays: Bool
}

/// All trainable parameters of a model in one contiguous buffer, with gradients in the same
/// layout, so that optimizers, checkpoints and weight decay are single loops (llm.c style).
///
/// Build it by `add`ing parameters, then read and write them through their views.
public final class ParameterStore: @unchecked Sendable {
    public private(set) var views: [ParameterView] = []
    private var indexByName: [String: Int] = [:]
    /// The values, `totalCount` floats.
    public var values: [Float] = []
    /// dLoss/dValues, same layout as `values`; layers accumulate into it, `zeroGradients` clears it.
    public var gradients: [Float] = []

    public init() {}

    public var totalCount: Int { values.count }

    /// Appends a parameter of `shape`, zero-filled, and returns its view.
    @discardableResult
    public func add(_ name: String, shape: [Int], decays: Bool = true) -> ParameterView {
        precondition(indexByName[name] == nil, "duplicate parameter name \(name)")
        precondition(shape.allSatisfy { $0 > 0 }, "parameter \(name) has an empty shape \(shape)")
        let view = ParameterView(name: name, shape: shape, offset: values.count, decays: decays)
        indexByName[name] = views.count
        views.append(view)
        values.append(contentsOf: repeatElement(0, count: view.count))
        gradients.append(contentsOf: repeatElement(0, count: view.count))
        return view
    }

    public func view(named name: String) -> ParameterView? {
        indexByName[name].map { views[$0] }
    }

    /// Clears the gradients, at the start of every training step. It also asks the kernel to
    /// keep values and gradients on 2 MiB pages (`HugePages`): the large models stream both from
    /// memory at every step. The first call copies them onto huge pages once (0.4 s per 180 MB);
    /// later ones cost microseconds, and arrays replaced since (a checkpoint restored) are moved
    /// on the next step.
    public func zeroGradients() {
        values.withUnsafeMutableBufferPointer { v in
            if let base = v.baseAddress { HugePages.advise(base, count: v.count, collapse: true) }
        }
        gradients.withUnsafeMutableBufferPointer { g in
            g.update(repeating: 0)
            if let base = g.baseAddress { HugePages.advise(base, count: g.count, collapse: true) }
        }
    }

    /// Weight decay ζ‖θ‖² over the decaying parameters: adds `2ζθ` to their gradients and
    /// returns `ζ Σ θ²` for the caller to add to its loss.
    ///
    /// One pass over raw buffers (no per-element array access: the paper's LSTM has 46 M
    /// parameters); Σ θ² is summed per parameter by BLAS `sdot` and across parameters in Double.
    public func applyWeightDecay(coefficient: Float) -> Float {
        guard coefficient != 0 else { return 0 }
        var penalty: Double = 0
        let scale = 2 * coefficient
        values.withUnsafeBufferPointer { v in
            gradients.withUnsafeMutableBufferPointer { g in
                for view in views where view.decays {
                    let w = v.baseAddress! + view.offset
                    let d = g.baseAddress! + view.offset
                    penalty += Double(cblas_sdot(blasint(view.count), w, 1, w, 1))
                    // Elementwise, so the threads' split does not change a bit.
                    let count = view.count
                    let chunks = count < 1 << 16 ? 1 : 16
                    parallelFor(chunkCount: chunks, threads: BLAS.threads) { chunk, _ in
                        for i in (count * chunk / chunks)..<(count * (chunk + 1) / chunks) { d[i] += scale * w[i] }
                    }
                }
            }
        }
        return Float(penalty) * coefficient
    }
}
