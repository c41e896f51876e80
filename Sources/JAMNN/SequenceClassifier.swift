// shapes: B = clips, T = steps, Kb = branches, K = grid size, S = K·K, N_k = channels of branch k,
// D_k = 5·N_k (N_k without the pyramid), ΣD = Σ_k D_k, H = hidden size, L = layers, C = classes,
// M = attention maps (Kb per branch, else 1). Public arrays are batch-major (`[B, T, ...]`,
// channels last); the caches inside are time-major (`[T, B, ...]`), one slot per step.

import CBLAS
import Foundation

/// The settings of the joint-attention LSTM classifier (SPEC §4 and §5); the paper's profile is
/// `.paper(classCount:)`.
public struct SequenceClassifierConfiguration: Sendable, Hashable, Codable {
    public enum AttentionMode: String, Sendable, Hashable, Codable, CaseIterable {
        /// One map, shared by all branches (the paper's joint attention).
        case joint
        /// One map per branch, each with its own W_att.
        case perBranch
        /// No attention: uniform weights 1/S, i.e. mean pooling over locations (LRCN-like).
        case meanPooling
    }

    public enum FirstLayer: String, Sendable, Hashable, Codable, CaseIterable {
        /// The joint LSTM (`JointLSTMLayer`) with `fusion`.
        case joint
        /// A standard LSTM on the concatenated branch inputs (with one branch: Sharma et al.).
        case standard
    }

    /// N_k: channels of each branch's cube (the branch count Kb is its length).
    public var branchChannels: [Int]
    /// K: the cubes are K×K locations.
    public var gridSize: Int
    /// H, the same in every layer.
    public var hiddenSize: Int
    /// L ≥ 1: the first layer plus L−1 standard LSTMs.
    public var layerCount: Int
    /// C.
    public var classCount: Int
    public var attention: AttentionMode
    public var firstLayer: FirstLayer
    public var fusion: JointLSTMFusion
    /// Whether each branch's input is [full, q1…q4] (5·N) or only the attention-weighted sum (N).
    public var spatialPyramid: Bool
    /// ζ in the loss term ζ‖θ‖² (SPEC: 1e-5), over all parameters, biases included.
    public var weightDecay: Float

    public init(
        branchChannels: [Int], gridSize: Int, hiddenSize: Int, layerCount: Int, classCount: Int,
        attention: AttentionMode = .joint, firstLayer: FirstLayer = .joint, fusion: JointLSTMFusion = .late,
        spatialPyramid: Bool = true, weightDecay: Float = 1e-5
    ) {
        self.branchChannels = branchChannels
        self.gridSize = gridSize
        self.hiddenSize = hiddenSize
        self.layerCount = layerCount
        self.classCount = classCount
        self.attention = attention
        self.firstLayer = firstLayer
        self.fusion = fusion
        self.spatialPyramid = spatialPyramid
        self.weightDecay = weightDecay
    }

    /// The paper's profile: two branches of 11×11×256 cubes, 3 layers of 1024, late fusion.
    public static func paper(classCount: Int) -> Self {
        Self(branchChannels: [256, 256], gridSize: 11, hiddenSize: 1024, layerCount: 3, classCount: classCount)
    }

    /// D_k, the per-branch LSTM input sizes.
    public var branchInputSizes: [Int] {
        branchChannels.map { SpatialPyramid.outputSize(channels: $0, pyramid: spatialPyramid) }
    }

    /// M, the number of attention maps.
    public var attentionMapCount: Int { attention == .perBranch ? branchChannels.count : 1 }

    /// Rejects settings that cannot build a model, naming the setting.
    public func validate() throws {
        func fail(_ reason: String) throws -> Never {
            throw SequenceClassifierError.invalidConfiguration(reason)
        }
        if branchChannels.isEmpty { try fail("branchChannels is empty: at least one branch is needed") }
        if let bad = branchChannels.first(where: { $0 <= 0 }) { try fail("branchChannels has \(bad); channels must be positive") }
        if gridSize <= 0 { try fail("gridSize is \(gridSize); it must be positive") }
        if hiddenSize <= 0 { try fail("hiddenSize is \(hiddenSize); it must be positive") }
        if layerCount <= 0 { try fail("layerCount is \(layerCount); it must be at least 1") }
        if classCount < 2 { try fail("classCount is \(classCount); it must be at least 2") }
        if !(weightDecay >= 0) { try fail("weightDecay is \(weightDecay); it must be ≥ 0") }
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
    /// (1/B) Σ_b Σ_t −log p_t(label_b): summed over steps (SPEC), averaged over the batch so that
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
    public let configuration: SequenceClassifierConfiguration
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
    private let hiddenGradients = LSTMBuffer()  // [T, B, H] dLoss/dh of the top layer
    private let logitGradients = LSTMBuffer()  // [T, B, C]

    /// Builds the model and initialises its parameters from `seed` (see each layer's
    /// `initialize`; W_prob ~ U(−1/√H, 1/√H), b_prob = 0).
    public init(configuration: SequenceClassifierConfiguration, seed: UInt64) throws {
        try configuration.validate()
        self.configuration = configuration
        let store = ParameterStore()
        self.store = store
        training = SequenceClassifierPass(configuration: configuration, store: store)
        outputWeights = store.add("lstm.output.W", shape: [configuration.hiddenSize, configuration.classCount])
        outputBias = store.add("lstm.output.b", shape: [configuration.classCount])
        var generator = LSTMSplitMix64(seed: seed)
        store.values.withUnsafeMutableBufferPointer { v in
            let values = v.baseAddress!
            training.initialize(values, generator: &generator)
            let bound = 1 / Float(configuration.hiddenSize).squareRoot()
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
        let c = configuration.classCount
        if let bad = labels.first(where: { !(0..<c).contains($0) }) {
            throw SequenceClassifierError.inputMismatch("label \(bad) is outside 0..<\(c)")
        }
        let batch = labels.count
        training.prepare(batch: batch, slots: steps)
        var probabilities = [Float](repeating: 0, count: batch * steps * c)
        var maps = [[Float]](repeating: [Float](repeating: 0, count: batch * steps * training.locationCount),
                             count: configuration.attentionMapCount)
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
        let (h, c) = (configuration.hiddenSize, configuration.classCount)
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
                lstmGemm(gradients + outputWeights.offset, ldc: c, beta: 1, topHidden, lda: h, transposeA: true,
                         dLogits, ldb: c, m: h, n: c, k: rows)
                lstmAccumulateColumnSums(gradients + outputBias.offset, dLogits, ld: c, rows: rows, count: c)
                let dHidden = hiddenGradients.reserve(rows * h)
                lstmGemm(dHidden, ldc: h, beta: 0, dLogits, lda: c, values + outputWeights.offset, ldb: c,
                         transposeB: true, m: rows, n: h, k: c)

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
        _ = store.applyWeightDecay(coefficient: configuration.weightDecay)
        cachedSteps = 0
        cachedCubes = []
    }

    /// ζ‖θ‖² over the decaying parameters (the value `ParameterStore.applyWeightDecay` returns).
    public func weightPenalty() -> Float {
        let zeta = configuration.weightDecay
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
        var probabilities = [Float](repeating: 0, count: batchSize * steps * configuration.classCount)
        var maps = [[Float]](repeating: [Float](repeating: 0, count: batchSize * steps * pass.locationCount),
                             count: configuration.attentionMapCount)
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
        let kb = configuration.branchChannels.count
        guard cubes.count == kb else {
            throw SequenceClassifierError.inputMismatch("\(cubes.count) cubes for \(kb) branches")
        }
        guard batch > 0 else { throw SequenceClassifierError.inputMismatch("empty batch") }
        let s = configuration.gridSize * configuration.gridSize
        var steps: Int?
        for (k, cube) in cubes.enumerated() {
            let perStep = batch * s * configuration.branchChannels[k]
            guard !cube.isEmpty, cube.count % perStep == 0 else {
                throw SequenceClassifierError.inputMismatch(
                    "branch \(k) has \(cube.count) floats, not a multiple of B·K·K·N = \(batch)·\(s)·\(configuration.branchChannels[k])")
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

/// The layers and caches of one way of running the classifier: training (one slot per step) or
/// inference (two slots). Both share the parameter views, so they read the same store.
final class SequenceClassifierPass {
    let configuration: SequenceClassifierConfiguration
    let attention: SoftAttention?
    let jointLayer: JointLSTMLayer?
    /// The standard layers, bottom to top (includes layer 1 when the first layer is standard).
    let standardLayers: [LSTMLayer]
    let branchOffsets: [Int]
    let inputSize: Int  // ΣD
    let locationCount: Int

    private(set) var batch = 0
    private(set) var slots = 0
    private let uniformMap = LSTMBuffer()  // [B, S] for mean pooling
    private let inputs = LSTMBuffer()  // [slots, B, ΣD] pyramid outputs
    private let masses = LSTMBuffer()  // [slots, Kb, B, 4] quadrant attention masses
    private let logits = LSTMBuffer()  // [slots, B, C]
    private let stepProbabilities = LSTMBuffer()  // [slots, B, C]
    private let inputGradient = LSTMBuffer()  // [B, ΣD]
    // Per boundary below the top: dLoss/dh of the layer below, [B, H] step by step, [slots, B, H]
    // layer by layer.
    private var layerGradients: [LSTMBuffer] = []
    private var mapGradients: [LSTMBuffer] = []  // per map [B, S]

    init(configuration: SequenceClassifierConfiguration, store: ParameterStore) {
        self.configuration = configuration
        let s = configuration.gridSize * configuration.gridSize
        let h = configuration.hiddenSize
        locationCount = s
        attention = configuration.attention == .meanPooling ? nil
            : SoftAttention(hiddenSize: h, locationCount: s, mapCount: configuration.attentionMapCount,
                            store: store, name: "lstm.attention")
        let sizes = configuration.branchInputSizes
        var layers: [LSTMLayer] = []
        switch configuration.firstLayer {
        case .joint:
            jointLayer = JointLSTMLayer(branchInputSizes: sizes, hiddenSize: h, fusion: configuration.fusion,
                                        store: store, name: "lstm.joint")
        case .standard:
            jointLayer = nil
            layers.append(LSTMLayer(inputSize: sizes.reduce(0, +), hiddenSize: h, store: store, name: "lstm.layer1"))
        }
        for l in stride(from: 2, through: configuration.layerCount, by: 1) {
            layers.append(LSTMLayer(inputSize: h, hiddenSize: h, store: store, name: "lstm.layer\(l)"))
        }
        standardLayers = layers
        (branchOffsets, inputSize) = Self.offsets(sizes)
        makeBuffers()
    }

    init(sharingParametersOf other: SequenceClassifierPass) {
        configuration = other.configuration
        attention = other.attention.map { SoftAttention(sharingParametersOf: $0) }
        jointLayer = other.jointLayer.map { JointLSTMLayer(sharingParametersOf: $0) }
        standardLayers = other.standardLayers.map { LSTMLayer(sharingParametersOf: $0) }
        branchOffsets = other.branchOffsets
        inputSize = other.inputSize
        locationCount = other.locationCount
        makeBuffers()
    }

    private static func offsets(_ sizes: [Int]) -> ([Int], Int) {
        var offsets: [Int] = [], total = 0
        for d in sizes {
            offsets.append(total)
            total += d
        }
        return (offsets, total)
    }

    private var layerCount: Int { standardLayers.count + (jointLayer == nil ? 0 : 1) }

    private func makeBuffers() {
        layerGradients = (0..<max(0, layerCount - 1)).map { _ in LSTMBuffer() }
        mapGradients = (0..<configuration.attentionMapCount).map { _ in LSTMBuffer() }
    }

    /// In registration order: attention, first layer, upper layers.
    func initialize(_ values: UnsafeMutablePointer<Float>, generator: inout LSTMSplitMix64) {
        attention?.initialize(values, generator: &generator)
        jointLayer?.initialize(values, generator: &generator)
        for layer in standardLayers { layer.initialize(values, generator: &generator) }
    }

    func prepare(batch: Int, slots: Int) {
        self.batch = batch
        self.slots = slots
        let s = locationCount
        let kb = configuration.branchChannels.count
        attention?.prepare(batch: batch, slots: slots)
        jointLayer?.prepare(batch: batch, slots: slots)
        for layer in standardLayers { layer.prepare(batch: batch, slots: slots) }
        let uniform = uniformMap.reserve(batch * s)
        uniform.update(repeating: 1 / Float(s), count: batch * s)
        inputs.reserve(slots * batch * inputSize)
        masses.reserve(slots * kb * batch * 4)
        logits.reserve(slots * batch * configuration.classCount)
        stepProbabilities.reserve(slots * batch * configuration.classCount)
    }

    private func hiddenState(layer l: Int, slot: Int) -> UnsafeMutablePointer<Float> {
        if let jointLayer {
            return l == 0 ? jointLayer.hiddenState(slot: slot) : standardLayers[l - 1].hiddenState(slot: slot)
        }
        return standardLayers[l].hiddenState(slot: slot)
    }

    /// h of the top layer for all slots, `[slots, B, H]`.
    var topHiddenStates: UnsafeMutablePointer<Float> {
        standardLayers.last?.hiddenStates ?? jointLayer!.hiddenStates
    }

    /// `[slots, B, C]`.
    var probabilities: UnsafeMutablePointer<Float> { stepProbabilities.pointer }

    /// The map branch k reads at `slot`: `[B, S]`.
    private func map(branch k: Int, slot: Int) -> UnsafeMutablePointer<Float> {
        guard let attention else { return uniformMap.pointer }
        return attention.map(attention.mapCount == 1 ? 0 : k, slot: slot)
    }

    /// Whether the layers can run one after another over the whole sequence (`forwardSequence`,
    /// `backwardSequence`): without attention no layer's input depends on a later state of the
    /// top layer, so each standard layer's input projections, and its input gradients, become one
    /// GEMM over all T·B rows. With attention the top layer's h_{t−1} feeds the first layer at t,
    /// and all layers advance together step by step (`forwardStep`, `backwardStep`).
    var runsLayerByLayer: Bool { attention == nil }

    /// The input sequence of layer `l`: the pyramid outputs `[slots, B, ΣD]` for the first layer,
    /// else the hidden states `[slots, B, H]` of the layer below.
    private func layerInputs(_ l: Int) -> UnsafeMutablePointer<Float> {
        l == 0 ? inputs.pointer : hiddenState(layer: l - 1, slot: 0)
    }

    /// Step t forward into `slot`; returns Σ_b −log p_t(label_b) when `labels` are given.
    func forwardStep(
        t: Int, slot: Int, previousSlot: Int?, steps: Int,
        cubes: [UnsafePointer<Float>], labels: UnsafePointer<Int>?,
        outputWeights: ParameterView, outputBias: ParameterView, values: UnsafePointer<Float>
    ) -> Double {
        let top = layerCount - 1
        attention?.forwardStep(
            previousHidden: previousSlot.map { UnsafePointer(hiddenState(layer: top, slot: $0)) },
            slot: slot, values: values)
        formInputs(t: t, slot: slot, steps: steps, cubes: cubes)
        for l in 0...top {
            if l == 0, let jointLayer {
                jointLayer.forwardStep(input: inputs.pointer + slot * batch * inputSize, inputStride: inputSize,
                                       slot: slot, previousSlot: previousSlot, values: values)
            } else {
                standardLayers[l - (jointLayer == nil ? 0 : 1)].forwardStep(
                    inputs: layerInputs(l), slot: slot, previousSlot: previousSlot, values: values)
            }
        }
        return output(slot: slot, stepCount: 1, labels: labels, outputWeights: outputWeights,
                      outputBias: outputBias, values: values)
    }

    /// All `steps` forward, layer after layer (training, slot t = step t, `runsLayerByLayer` only);
    /// returns Σ_t Σ_b −log p_t(label_b).
    func forwardSequence(
        steps: Int, cubes: [UnsafePointer<Float>], labels: UnsafePointer<Int>,
        outputWeights: ParameterView, outputBias: ParameterView, values: UnsafePointer<Float>
    ) -> Double {
        precondition(runsLayerByLayer && steps <= slots)
        for t in 0..<steps { formInputs(t: t, slot: t, steps: steps, cubes: cubes) }
        if let jointLayer {
            // The joint layer's gates mix the branches per step; its inputs are known, but it keeps its
            // step-by-step form.
            for t in 0..<steps {
                jointLayer.forwardStep(input: inputs.pointer + t * batch * inputSize, inputStride: inputSize,
                                       slot: t, previousSlot: t > 0 ? t - 1 : nil, values: values)
            }
        }
        let firstStandard = jointLayer == nil ? 0 : 1
        for (i, layer) in standardLayers.enumerated() {
            layer.forwardSequence(inputs: layerInputs(firstStandard + i), steps: steps, values: values)
        }
        return output(slot: 0, stepCount: steps, labels: labels, outputWeights: outputWeights,
                      outputBias: outputBias, values: values)
    }

    /// The pyramid outputs of step t into `slot`: `[B, ΣD]`, from the maps of `slot`.
    private func formInputs(t: Int, slot: Int, steps: Int, cubes: [UnsafePointer<Float>]) {
        let (b, s) = (batch, locationCount)
        let x = inputs.pointer + slot * b * inputSize
        for (k, n) in configuration.branchChannels.enumerated() {
            let attentionMap = map(branch: k, slot: slot)
            for r in 0..<b {
                SpatialPyramid.forwardRow(
                    output: x + r * inputSize + branchOffsets[k],
                    quadrantMass: masses.pointer + ((slot * cubes.count + k) * b + r) * 4,
                    attention: attentionMap + r * s, features: cubes[k] + (r * steps + t) * s * n,
                    gridSize: configuration.gridSize, channels: n, pyramid: configuration.spatialPyramid)
            }
        }
    }

    /// softmax(h W_prob + b_prob) of the top layer for `stepCount` consecutive slots from `slot`, as
    /// one GEMM over their rows; returns Σ −log p(label) when `labels` (`[B]`, every step) are given.
    private func output(
        slot: Int, stepCount: Int, labels: UnsafePointer<Int>?,
        outputWeights: ParameterView, outputBias: ParameterView, values: UnsafePointer<Float>
    ) -> Double {
        let (b, h, c) = (batch, configuration.hiddenSize, configuration.classCount)
        let rows = stepCount * b
        let z = logits.pointer
        lstmBroadcastRows(z, ld: c, values + outputBias.offset, rows: rows, count: c)
        lstmGemm(z, ldc: c, beta: 1, hiddenState(layer: layerCount - 1, slot: slot), lda: h,
                 values + outputWeights.offset, ldb: c, m: rows, n: c, k: h)
        let p = stepProbabilities.pointer + slot * b * c
        guard let labels else {
            for r in 0..<rows { lstmSoftmaxRow(p + r * c, z + r * c, count: c) }
            return 0
        }
        var loss: Double = 0
        for step in 0..<stepCount {
            loss += lstmSoftmaxCrossEntropy(probabilities: p + step * b * c, logits: z + step * b * c,
                                            labels: labels, rows: b, classes: c)
        }
        return loss
    }

    /// Copies step t's probabilities and maps from `slot` into the batch-major outputs.
    func copyStepOutputs(probabilities: inout [Float], maps: inout [[Float]], t: Int, slot: Int, steps: Int) {
        let (b, s, c) = (batch, locationCount, configuration.classCount)
        let p = stepProbabilities.pointer + slot * b * c
        probabilities.withUnsafeMutableBufferPointer { out in
            for r in 0..<b { (out.baseAddress! + (r * steps + t) * c).update(from: p + r * c, count: c) }
        }
        for m in maps.indices {
            let source = attention?.map(m, slot: slot) ?? uniformMap.pointer
            maps[m].withUnsafeMutableBufferPointer { out in
                for r in 0..<b { (out.baseAddress! + (r * steps + t) * s).update(from: source + r * s, count: s) }
            }
        }
    }

    func beginBackward() {
        let (b, s, h) = (batch, locationCount, configuration.hiddenSize)
        attention?.beginBackward()
        jointLayer?.beginBackward()
        for layer in standardLayers { layer.beginBackward() }
        inputGradient.reserve(b * inputSize)
        for buffer in layerGradients { buffer.reserve(slots * b * h) }
        for buffer in mapGradients { buffer.reserve(b * s) }
    }

    /// Step t backward (slot t). `topHiddenGradients`: `[T, B, H]`, dLoss/dh of the top layer from
    /// the output; attention adds its dLoss/dh_{t−1} into row block t−1.
    func backwardStep(
        t: Int, steps: Int, cubes: [UnsafePointer<Float>],
        topHiddenGradients: UnsafeMutablePointer<Float>, values: UnsafePointer<Float>
    ) {
        let (b, s, h) = (batch, locationCount, configuration.hiddenSize)
        let previousSlot = t > 0 ? t - 1 : nil
        let top = layerCount - 1
        var above = UnsafePointer(topHiddenGradients + t * b * h)
        for l in stride(from: top, through: 0, by: -1) {
            let isJoint = l == 0 && jointLayer != nil
            // The bottom layer's input gradient is only needed when attention can use it.
            let destination: UnsafeMutablePointer<Float>? =
                l > 0 ? layerGradients[l - 1].pointer : (attention == nil ? nil : inputGradient.pointer)
            let destinationStride = l > 0 ? h : inputSize
            if isJoint {
                jointLayer!.backwardStep(inputGradient: destination, inputGradientStride: destinationStride,
                                         hiddenGradient: above, slot: t, previousSlot: previousSlot, values: values)
            } else {
                standardLayers[l - (jointLayer == nil ? 0 : 1)].backwardStep(
                    inputGradient: destination, inputGradientStride: destinationStride,
                    hiddenGradient: above, slot: t, previousSlot: previousSlot, values: values)
            }
            if l > 0 { above = UnsafePointer(layerGradients[l - 1].pointer) }
        }
        guard let attention else { return }
        for buffer in mapGradients { buffer.pointer.update(repeating: 0, count: b * s) }
        let x = inputs.pointer + t * b * inputSize
        for (k, n) in configuration.branchChannels.enumerated() {
            let m = attention.mapCount == 1 ? 0 : k
            let attentionMap = attention.map(m, slot: t)
            for r in 0..<b {
                SpatialPyramid.backwardRow(
                    attentionGradient: mapGradients[m].pointer + r * s, featureGradient: nil,
                    outputGradient: inputGradient.pointer + r * inputSize + branchOffsets[k],
                    output: x + r * inputSize + branchOffsets[k],
                    quadrantMass: masses.pointer + ((t * cubes.count + k) * b + r) * 4,
                    attention: attentionMap + r * s, features: cubes[k] + (r * steps + t) * s * n,
                    gridSize: configuration.gridSize, channels: n, pyramid: configuration.spatialPyramid)
            }
        }
        attention.backwardStep(
            previousHiddenGradient: t > 0 ? topHiddenGradients + (t - 1) * b * h : nil,
            mapGradients: mapGradients.map { UnsafePointer($0.pointer) }, slot: t, values: values)
    }

    /// All `steps` backward, layer after layer from the top (`runsLayerByLayer` only; call
    /// `beginBackward` first). `topHiddenGradients`: `[T, B, H]` dLoss/dh of the top layer. The
    /// first layer's input gradient is not needed: without attention nothing below it learns.
    func backwardSequence(steps: Int, topHiddenGradients: UnsafePointer<Float>, values: UnsafePointer<Float>) {
        precondition(runsLayerByLayer)
        let (b, h) = (batch, configuration.hiddenSize)
        var above = topHiddenGradients
        for l in stride(from: layerCount - 1, through: 0, by: -1) {
            let below: UnsafeMutablePointer<Float>? = l > 0 ? layerGradients[l - 1].pointer : nil
            if l == 0, let jointLayer {
                for t in (0..<steps).reversed() {
                    jointLayer.backwardStep(inputGradient: nil, inputGradientStride: inputSize,
                                            hiddenGradient: above + t * b * h, slot: t,
                                            previousSlot: t > 0 ? t - 1 : nil, values: values)
                }
            } else {
                standardLayers[l - (jointLayer == nil ? 0 : 1)].backwardSequence(
                    inputGradients: below, hiddenGradients: above, steps: steps, values: values)
            }
            if let below { above = UnsafePointer(below) }
        }
    }

    func accumulateWeightGradients(steps: Int, gradients: UnsafeMutablePointer<Float>) {
        attention?.accumulateWeightGradients(steps: steps, gradients: gradients)
        jointLayer?.accumulateWeightGradients(steps: steps, gradients: gradients)
        for layer in standardLayers { layer.accumulateWeightGradients(steps: steps, gradients: gradients) }
    }
}
