// shapes: B = clips, T = steps, Kb = branches, K = grid size, S = K·K, N_k = channels of branch k,
// D_k = 5·N_k (N_k without the pyramid), ΣD = Σ_k D_k, H = hidden size, L = layers, C = classes,
// M = attention maps (Kb per branch, else 1). Public arrays are batch-major (`[B, T, ...]`,
// channels last); the caches inside are time-major (`[T, B, ...]`), one slot per step.

import CBLAS
import Foundation
import JAMArtifacts
import JAMConfig
import JAMCore
import JAMNN
import JAMTensor

/// What a sequence classifier is built for: the `lstm` section, the cubes it reads (branch
/// channels N_k, grid K) and the number of classes C. Everything else is derived from these.
public struct SequenceClassifierShape: Sendable {
    public var settings: LSTMSettings
    public var geometry: CubesArtifact.Geometry
    public var classCount: Int

    public init(settings: LSTMSettings, geometry: CubesArtifact.Geometry, classCount: Int) {
        (self.settings, self.geometry, self.classCount) = (settings, geometry, classCount)
    }

    /// The paper's model: two branches of 11×11×256 cubes, 3 layers of 1024, late fusion, joint
    /// attention, the spatial pyramid (`lstm` of the `paper` profile).
    public static func paper(classCount: Int) -> Self {
        var s = LSTMSettings()
        (s.hidden, s.layers) = (1024, 3)
        return Self(settings: s, geometry: CubesArtifact.Geometry(branches: ["pool4", "conv5_3"], grid: 11, channels: [256, 256]),
                    classCount: classCount)
    }

    /// N_k: channels of each branch's cube (the branch count Kb is its length).
    public var branchChannels: [Int] { geometry.channels }
    /// K: the cubes are K×K locations.
    public var gridSize: Int { geometry.grid }
    /// H, the same in every layer.
    public var hiddenSize: Int { settings.hidden }
    /// L ≥ 1: the first layer plus L−1 standard LSTMs.
    public var layerCount: Int { settings.layers }
    public var attention: LSTMAttentionSetting { settings.attention }
    public var firstLayer: LSTMFirstLayerSetting { settings.firstLayer }
    public var fusion: LSTMFusion { settings.fusion }
    /// Whether each branch's input is [full, q1…q4] (5·N) or only the attention-weighted sum (N).
    public var spatialPyramid: Bool { settings.pyramid }
    /// ζ in the loss term ζ‖θ‖², over all parameters, biases included.
    public var weightDecay: Float { Float(settings.weightDecay) }

    /// D_k, the per-branch LSTM input sizes.
    public var branchInputSizes: [Int] {
        branchChannels.map { SpatialPyramid.outputSize(channels: $0, pyramid: spatialPyramid) }
    }

    /// M, the number of attention maps.
    public var attentionMapCount: Int { attention == .perBranch ? branchChannels.count : 1 }

    /// Rejects shapes that cannot build a model (the settings themselves were checked when read).
    public func validate() throws {
        func fail(_ reason: String) throws -> Never {
            throw SequenceClassifierError.invalidConfiguration(reason)
        }
        if branchChannels.isEmpty { try fail("no branch: at least one cube per step is needed") }
        if let bad = branchChannels.first(where: { $0 <= 0 }) { try fail("a branch has \(bad) channels; channels must be positive") }
        if gridSize <= 0 { try fail("the grid is \(gridSize); it must be positive") }
        if hiddenSize <= 0 { try fail("hidden is \(hiddenSize); it must be positive") }
        if layerCount <= 0 { try fail("layers is \(layerCount); it must be at least 1") }
        if classCount < 2 { try fail("\(classCount) classes; at least 2 are needed") }
        if !(weightDecay >= 0) { try fail("weight_decay is \(weightDecay); it must be ≥ 0") }
    }

    /// GEMM FLOPs (2 per multiply-add) of one forward over `batchSize` clips and `steps` steps;
    /// a training step (forward, input-gradient and weight-gradient GEMMs) is three times this.
    public func forwardGemmFlops(batchSize: Int, steps: Int) -> Double {
        let h = Double(hiddenSize)
        let sizes = branchInputSizes.map(Double.init)
        let total = sizes.reduce(0, +)
        var perRow = 0.0
        if attention != .none {
            perRow += Double(attentionMapCount) * h * Double(gridSize * gridSize)
        }
        switch firstLayer {
        case .joint:
            for d in sizes { perRow += (d + h) * 3 * d + 3 * d * h }
            perRow += (total + h) * h
        case .standard:
            perRow += (total + h) * 4 * h
        }
        perRow += Double(layerCount - 1) * 2 * h * 4 * h
        perRow += h * Double(classCount)
        return 2 * perRow * Double(batchSize * steps)
    }
}

public enum SequenceClassifierError: Error, CustomStringConvertible, Equatable {
    case invalidConfiguration(String)
    case inputMismatch(String)

    public var description: String {
        switch self {
        case .invalidConfiguration(let reason): "sequence classifier configuration: \(reason)"
        case .inputMismatch(let reason): "sequence classifier input: \(reason)"
        }
    }
}

/// What one training forward returns.
public struct SequenceClassifierOutput: Sendable {
    /// `crossEntropy + weightPenalty`.
    public var loss: Float
    /// (1/B) Σ_b Σ_t −log p_t(label_b): summed over steps (docs/DESIGN.md §4), averaged over the batch so that
    /// ζ keeps its meaning whatever B is.
    public var crossEntropy: Float
    /// ζ‖θ‖².
    public var weightPenalty: Float
    /// `[B, T, C]`.
    public var probabilities: [Float]
    /// M maps, each `[B, T, S]` (one uniform map for mean pooling).
    public var attention: [[Float]]
}

/// What inference returns: `probabilities` `[B, T, C]`, `attention` M maps `[B, T, S]`.
public struct SequenceClassifierPrediction: Sendable {
    public var probabilities: [Float]
    public var attention: [[Float]]
}

/// The joint-attention LSTM classifier of paper §3.3–3.5: per step, attention from the top layer's
/// previous hidden state → spatial pyramid per branch → joint LSTM → L−1 standard LSTMs →
/// softmax(h_t W_prob + b_prob) at every step.
///
/// Inputs: one cube per branch, `[B, T, K, K, N_k]` (channels last), and one label per clip.
/// Parameters live in `store` under `lstm.…`:
///
///     lstm.attention[.branch{m}].W [H, S], .b [S]     (absent for mean pooling; `SoftAttention`)
///     lstm.joint.…                                     (first layer joint; `JointLSTMLayer`)
///     lstm.layer1.W [ΣD + H, 4H], .b [4H]              (first layer standard; `LSTMLayer`)
///     lstm.layer{l}.W [2H, 4H], .b [4H], l = 2…L      (`LSTMLayer`)
///     lstm.output.W [H, C], lstm.output.b [C]
///
/// Training: `forward(cubes:labels:)` keeps one cache slot per step; `backward()` walks them in
/// reversed time order and ACCUMULATES into `store.gradients` (zero them first), weight decay
/// included. `predict` runs without the training cache (two slots), for evaluation and export.
public final class SequenceClassifier {
    public let shape: SequenceClassifierShape
    public let store: ParameterStore
    /// `lstm.output.W [H, C]`.
    public let outputWeights: ParameterView
    /// `lstm.output.b [C]`.
    public let outputBias: ParameterView

    private let training: SequenceClassifierPass
    private lazy var inference = SequenceClassifierPass(sharingParametersOf: training)

    private var cachedCubes: [[Float]] = []
    private var cachedLabels: [Int] = []
    private var cachedSteps = 0
    private let hiddenGradients = ScratchBuffer<Float>()  // [T, B, H] dLoss/dh of the top layer
    private let logitGradients = ScratchBuffer<Float>()  // [T, B, C]

    /// Builds the model and initialises its parameters from `seed` (see each layer's
    /// `initialize`; W_prob ~ U(−1/√H, 1/√H), b_prob = 0).
    public init(shape: SequenceClassifierShape, seed: UInt64) throws {
        try shape.validate()
        self.shape = shape
        let store = ParameterStore()
        self.store = store
        training = SequenceClassifierPass(shape: shape, store: store)
        outputWeights = store.add("lstm.output.W", shape: [shape.hiddenSize, shape.classCount])
        outputBias = store.add("lstm.output.b", shape: [shape.classCount])
        var generator = SplitMix64(seed: seed)
        store.values.withUnsafeMutableBufferPointer { v in
            let values = v.baseAddress!
            training.initialize(values, generator: &generator)
            let bound = 1 / Float(shape.hiddenSize).squareRoot()
            for e in 0..<outputWeights.count { values[outputWeights.offset + e] = generator.nextUniform(bound: bound) }
            (values + outputBias.offset).update(repeating: 0, count: outputBias.count)
        }
    }

    // MARK: Training

    /// Forward over a batch, keeping the per-step cache for `backward()`.
    ///
    /// - `cubes`: Kb arrays, branch k `[B, T, K, K, N_k]`, B = `labels.count`.
    /// - `labels`: `[B]`, class indices in `0..<C`; every step of a clip has its clip's label.
    public func forward(cubes: [[Float]], labels: [Int]) throws -> SequenceClassifierOutput {
        let steps = try checkInputs(cubes: cubes, batch: labels.count)
        let c = shape.classCount
        if let bad = labels.first(where: { !(0..<c).contains($0) }) {
            throw SequenceClassifierError.inputMismatch("label \(bad) is outside 0..<\(c)")
        }
        let batch = labels.count
        training.prepare(batch: batch, slots: steps)
        var probabilities = [Float](repeating: 0, count: batch * steps * c)
        var maps = [[Float]](repeating: [Float](repeating: 0, count: batch * steps * training.locationCount),
                             count: shape.attentionMapCount)
        var crossEntropy: Double = 0
        store.values.withUnsafeBufferPointer { v in
            lstmWithBufferPointers(cubes) { cubePointers in
                labels.withUnsafeBufferPointer { labelPointer in
                    if training.runsLayerByLayer {
                        crossEntropy = training.forwardSequence(
                            steps: steps, cubes: cubePointers, labels: labelPointer.baseAddress!,
                            outputWeights: outputWeights, outputBias: outputBias, values: v.baseAddress!)
                    } else {
                        for t in 0..<steps {
                            crossEntropy += training.forwardStep(
                                t: t, slot: t, previousSlot: t > 0 ? t - 1 : nil, steps: steps,
                                cubes: cubePointers, labels: labelPointer.baseAddress!,
                                outputWeights: outputWeights, outputBias: outputBias, values: v.baseAddress!)
                        }
                    }
                    for t in 0..<steps {
                        training.copyStepOutputs(probabilities: &probabilities, maps: &maps, t: t, slot: t, steps: steps)
                    }
                }
            }
        }
        cachedCubes = cubes
        cachedLabels = labels
        cachedSteps = steps
        let meanCrossEntropy = Float(crossEntropy / Double(batch))
        let penalty = weightPenalty()
        return SequenceClassifierOutput(
            loss: meanCrossEntropy + penalty, crossEntropy: meanCrossEntropy, weightPenalty: penalty,
            probabilities: probabilities, attention: maps)
    }

    /// Backpropagation through time of the last `forward`'s loss (cross-entropy and weight decay);
    /// accumulates into `store.gradients`. Each forward supports one backward.
    public func backward() {
        precondition(cachedSteps > 0, "SequenceClassifier.backward() needs a forward(cubes:labels:) first")
        let steps = cachedSteps
        let batch = cachedLabels.count
        let (h, c) = (shape.hiddenSize, shape.classCount)
        let rows = steps * batch
        store.values.withUnsafeBufferPointer { v in
            store.gradients.withUnsafeMutableBufferPointer { g in
                let values = v.baseAddress!, gradients = g.baseAddress!
                // The output layer for all steps at once: it feeds nothing back into the recurrence.
                let dLogits = logitGradients.reserve(rows * c)
                let probabilities = training.probabilities
                let scale = 1 / Float(batch)
                for t in 0..<steps {
                    for b in 0..<batch {
                        let row = (t * batch + b) * c
                        for j in 0..<c { dLogits[row + j] = probabilities[row + j] * scale }
                        dLogits[row + cachedLabels[b]] -= scale
                    }
                }
                let topHidden = training.topHiddenStates
                BLAS.sgemm(gradients + outputWeights.offset, ldc: c, topHidden, lda: h, transposeA: true,
                           dLogits, ldb: c, m: h, n: c, k: rows, beta: 1)
                lstmAccumulateColumnSums(gradients + outputBias.offset, dLogits, ld: c, rows: rows, count: c)
                let dHidden = hiddenGradients.reserve(rows * h)
                BLAS.sgemm(dHidden, ldc: h, dLogits, lda: c, values + outputWeights.offset, ldb: c,
                           transposeB: true, m: rows, n: h, k: c, beta: 0)

                training.beginBackward()
                if training.runsLayerByLayer {
                    training.backwardSequence(steps: steps, topHiddenGradients: dHidden, values: values)
                } else {
                    lstmWithBufferPointers(cachedCubes) { cubePointers in
                        for t in (0..<steps).reversed() {
                            training.backwardStep(
                                t: t, steps: steps, cubes: cubePointers, topHiddenGradients: dHidden, values: values)
                        }
                    }
                }
                training.accumulateWeightGradients(steps: steps, gradients: gradients)
            }
        }
        _ = store.applyWeightDecay(coefficient: shape.weightDecay)
        cachedSteps = 0
        cachedCubes = []
    }

    /// ζ‖θ‖² over the decaying parameters (the value `ParameterStore.applyWeightDecay` returns).
    public func weightPenalty() -> Float {
        let zeta = shape.weightDecay
        guard zeta != 0 else { return 0 }
        var sum: Double = 0
        store.values.withUnsafeBufferPointer { v in
            for view in store.views where view.decays {
                let start = v.baseAddress! + view.offset
                sum += Double(cblas_sdot(blasint(view.count), start, 1, start, 1))
            }
        }
        return Float(sum) * zeta
    }

    // MARK: Inference

    /// Probabilities and attention without the training cache (memory independent of T).
    ///
    /// - `cubes`: Kb arrays, branch k `[B, T, K, K, N_k]`.
    public func predict(cubes: [[Float]], batchSize: Int) throws -> SequenceClassifierPrediction {
        let steps = try checkInputs(cubes: cubes, batch: batchSize)
        let pass = inference
        pass.prepare(batch: batchSize, slots: 2)
        var probabilities = [Float](repeating: 0, count: batchSize * steps * shape.classCount)
        var maps = [[Float]](repeating: [Float](repeating: 0, count: batchSize * steps * pass.locationCount),
                             count: shape.attentionMapCount)
        store.values.withUnsafeBufferPointer { v in
            lstmWithBufferPointers(cubes) { cubePointers in
                for t in 0..<steps {
                    _ = pass.forwardStep(
                        t: t, slot: t % 2, previousSlot: t > 0 ? (t - 1) % 2 : nil, steps: steps,
                        cubes: cubePointers, labels: nil,
                        outputWeights: outputWeights, outputBias: outputBias, values: v.baseAddress!)
                    pass.copyStepOutputs(probabilities: &probabilities, maps: &maps, t: t, slot: t % 2, steps: steps)
                }
            }
        }
        return SequenceClassifierPrediction(probabilities: probabilities, attention: maps)
    }

    /// T, after checking that every branch's cube is `[B, T, K, K, N_k]` with the same T.
    private func checkInputs(cubes: [[Float]], batch: Int) throws -> Int {
        let kb = shape.branchChannels.count
        guard cubes.count == kb else {
            throw SequenceClassifierError.inputMismatch("\(cubes.count) cubes for \(kb) branches")
        }
        guard batch > 0 else { throw SequenceClassifierError.inputMismatch("empty batch") }
        let s = shape.gridSize * shape.gridSize
        var steps: Int?
        for (k, cube) in cubes.enumerated() {
            let perStep = batch * s * shape.branchChannels[k]
            guard !cube.isEmpty, cube.count % perStep == 0 else {
                throw SequenceClassifierError.inputMismatch(
                    "branch \(k) has \(cube.count) floats, not a multiple of B·K·K·N = \(batch)·\(s)·\(shape.branchChannels[k])")
            }
            let t = cube.count / perStep
            if let steps, steps != t {
                throw SequenceClassifierError.inputMismatch("branch \(k) has \(t) steps, branch 0 has \(steps)")
            }
            steps = t
        }
        return steps!
    }
}

/// Runs `body` with base addresses of all `arrays` at once.
func lstmWithBufferPointers<R>(_ arrays: [[Float]], _ body: ([UnsafePointer<Float>]) -> R) -> R {
    func nest(_ index: Int, _ collected: [UnsafePointer<Float>]) -> R {
        if index == arrays.count { return body(collected) }
        return arrays[index].withUnsafeBufferPointer { nest(index + 1, collected + [$0.baseAddress!]) }
    }
    return nest(0, [])
}
