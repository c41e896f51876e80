// shapes: see SequenceClassifier.swift. Caches are time-major (`[slots, B, ...]`): one slot per
// step in training, two (t mod 2) in inference.
// Tests: Tests/JAMModelTests/SequenceClassifierTests.swift (forward and backward against the Double reference), Tests/JAMModelTests/SequenceClassifierAttentionTests.swift (attention maps)
import CBLAS
import Foundation
import JAMConfig
import JAMCore
import JAMNN
import JAMTensor

/// The layers and caches of one way of running the classifier: training (one slot per step) or
/// inference (two slots). Both share the parameter views, so they read the same store.
final class SequenceClassifierPass {
    let shape: SequenceClassifierShape
    let attention: SoftAttention?
    let jointLayer: JointLSTMLayer?
    /// The standard layers, bottom to top (includes layer 1 when the first layer is standard).
    let standardLayers: [LSTMLayer]
    let branchOffsets: [Int]
    let inputSize: Int  // ΣD
    let locationCount: Int

    private(set) var batch = 0
    private(set) var slots = 0
    private let uniformMap = ScratchBuffer<Float>()  // [B, S] for mean pooling
    private let inputs = ScratchBuffer<Float>()  // [slots, B, ΣD] pyramid outputs
    private let masses = ScratchBuffer<Float>()  // [slots, Kb, B, 4] quadrant attention masses
    private let logits = ScratchBuffer<Float>()  // [slots, B, C]
    private let stepProbabilities = ScratchBuffer<Float>()  // [slots, B, C]
    private let inputGradient = ScratchBuffer<Float>()  // [B, ΣD]
    // Per boundary below the top: dLoss/dh of the layer below, [B, H] step by step, [slots, B, H]
    // layer by layer.
    private var layerGradients: [ScratchBuffer<Float>] = []
    private var mapGradients: [ScratchBuffer<Float>] = []  // per map [B, S]

    init(shape: SequenceClassifierShape, store: ParameterStore) {
        self.shape = shape
        let s = shape.gridSize * shape.gridSize
        let h = shape.hiddenSize
        locationCount = s
        attention = shape.attention == .none ? nil
            : SoftAttention(hiddenSize: h, locationCount: s, mapCount: shape.attentionMapCount,
                            store: store, name: "lstm.attention")
        let sizes = shape.branchInputSizes
        var layers: [LSTMLayer] = []
        switch shape.firstLayer {
        case .joint:
            jointLayer = JointLSTMLayer(branchInputSizes: sizes, hiddenSize: h, fusion: shape.fusion,
                                        store: store, name: "lstm.joint")
        case .standard:
            jointLayer = nil
            layers.append(LSTMLayer(inputSize: sizes.reduce(0, +), hiddenSize: h, store: store, name: "lstm.layer1"))
        }
        for l in stride(from: 2, through: shape.layerCount, by: 1) {
            layers.append(LSTMLayer(inputSize: h, hiddenSize: h, store: store, name: "lstm.layer\(l)"))
        }
        standardLayers = layers
        (branchOffsets, inputSize) = Self.offsets(sizes)
        makeBuffers()
    }

    init(sharingParametersOf other: SequenceClassifierPass) {
        shape = other.shape
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
        layerGradients = (0..<max(0, layerCount - 1)).map { _ in ScratchBuffer<Float>() }
        mapGradients = (0..<shape.attentionMapCount).map { _ in ScratchBuffer<Float>() }
    }

    /// In registration order: attention, first layer, upper layers.
    func initialize(_ values: UnsafeMutablePointer<Float>, generator: inout SplitMix64) {
        attention?.initialize(values, generator: &generator)
        jointLayer?.initialize(values, generator: &generator)
        for layer in standardLayers { layer.initialize(values, generator: &generator) }
    }

    func prepare(batch: Int, slots: Int) {
        self.batch = batch
        self.slots = slots
        let s = locationCount
        let kb = shape.branchChannels.count
        attention?.prepare(batch: batch, slots: slots)
        jointLayer?.prepare(batch: batch, slots: slots)
        for layer in standardLayers { layer.prepare(batch: batch, slots: slots) }
        let uniform = uniformMap.reserve(batch * s)
        uniform.update(repeating: 1 / Float(s), count: batch * s)
        inputs.reserve(slots * batch * inputSize)
        masses.reserve(slots * kb * batch * 4)
        logits.reserve(slots * batch * shape.classCount)
        stepProbabilities.reserve(slots * batch * shape.classCount)
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
        // Rows on BLAS.threads threads: each writes only its own outputs.
        parallelFor(chunkCount: b, threads: BLAS.threads) { r, _ in
            for (k, n) in shape.branchChannels.enumerated() {
                let attentionMap = map(branch: k, slot: slot)
                SpatialPyramid.forwardRow(
                    output: x + r * inputSize + branchOffsets[k],
                    quadrantMass: masses.pointer + ((slot * cubes.count + k) * b + r) * 4,
                    attention: attentionMap + r * s, features: cubes[k] + (r * steps + t) * s * n,
                    gridSize: shape.gridSize, channels: n, pyramid: shape.spatialPyramid)
            }
        }
    }

    /// softmax(h W_prob + b_prob) of the top layer for `stepCount` consecutive slots from `slot`, as
    /// one GEMM over their rows; returns Σ −log p(label) when `labels` (`[B]`, every step) are given.
    private func output(
        slot: Int, stepCount: Int, labels: UnsafePointer<Int>?,
        outputWeights: ParameterView, outputBias: ParameterView, values: UnsafePointer<Float>
    ) -> Double {
        let (b, h, c) = (batch, shape.hiddenSize, shape.classCount)
        let rows = stepCount * b
        let z = logits.pointer
        lstmBroadcastRows(z, ld: c, values + outputBias.offset, rows: rows, count: c)
        BLAS.sgemm(z, ldc: c, hiddenState(layer: layerCount - 1, slot: slot), lda: h,
                   values + outputWeights.offset, ldb: c, m: rows, n: c, k: h, beta: 1)
        let p = stepProbabilities.pointer + slot * b * c
        guard let labels else {
            for r in 0..<rows { SoftmaxCrossEntropy.softmaxRow(p + r * c, z + r * c, count: c) }
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
        let (b, s, c) = (batch, locationCount, shape.classCount)
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
        let (b, s, h) = (batch, locationCount, shape.hiddenSize)
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
        let (b, s, h) = (batch, locationCount, shape.hiddenSize)
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
        // Rows on BLAS.threads threads: each accumulates only into its own row of the map
        // gradients, over the branches in the same order as one thread would.
        parallelFor(chunkCount: b, threads: BLAS.threads) { r, _ in
            for (k, n) in shape.branchChannels.enumerated() {
                let m = attention.mapCount == 1 ? 0 : k
                let attentionMap = attention.map(m, slot: t)
                SpatialPyramid.backwardRow(
                    attentionGradient: mapGradients[m].pointer + r * s, featureGradient: nil,
                    outputGradient: inputGradient.pointer + r * inputSize + branchOffsets[k],
                    output: x + r * inputSize + branchOffsets[k],
                    quadrantMass: masses.pointer + ((t * cubes.count + k) * b + r) * 4,
                    attention: attentionMap + r * s, features: cubes[k] + (r * steps + t) * s * n,
                    gridSize: shape.gridSize, channels: n, pyramid: shape.spatialPyramid)
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
        let (b, h) = (batch, shape.hiddenSize)
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
