// shapes: B = clips in the batch, H = hidden size of the top LSTM layer, S = K·K locations,
// M = attention maps (1 when joint, Kb when per branch); caches `[slots, B, ...]`.
// Tests: Tests/JAMModelTests/SequenceClassifierTests.swift (forward and finite-difference backward through the Double reference, joint and per-branch), Tests/JAMModelTests/SequenceClassifierAttentionTests.swift (att_0 = softmax(b_att), maps are distributions)

import JAMCore
import JAMTensor

/// Soft attention over the K×K locations of a cube step, predicted from the top LSTM layer's
/// previous hidden state (paper §3.3, docs/DESIGN.md §4):
///
///     att_t = softmax_S(h_{t−1} W_att + b_att),   h_{−1} = 0 (so att_0 = softmax(b_att))
///
/// "Joint" attention is one map shared by all branches (M = 1); per-branch attention gives each
/// branch m its own `W_att`, `b_att` (M = Kb). Parameters, named `<name>.W` / `<name>.b` (joint) or
/// `<name>.branch{m}.W` / `.b` (per branch):
///
///     W  [H, S]   column i scores location i = row·K + column
///     b  [S]
///
/// The per-step products go through `SkinnyGEMM`, forward on a `TransposedCopy` of W (see
/// `LSTMLayer`).
public final class SoftAttention {
    public let hiddenSize: Int
    public let locationCount: Int
    /// `[H, S]` per map.
    public let weights: [ParameterView]
    /// `[S]` per map.
    public let biases: [ParameterView]
    public var mapCount: Int { weights.count }

    private(set) var batch = 0
    private(set) var slots = 0
    private let queries = ScratchBuffer<Float>()  // [slots, B, H]: h_{t−1} of the top layer (0 at t = 0)
    private var maps: [ScratchBuffer<Float>] = []  // per map [slots, B, S]
    private var scoreGradients: [ScratchBuffer<Float>] = []  // per map [slots, B, S], dLoss/d(scores)
    private var transposedWeights: [TransposedCopy] = []  // per map Wᵀ [S, H], made at t = 0

    /// Registers `mapCount` maps' parameters under `name` in `store`.
    public init(hiddenSize: Int, locationCount: Int, mapCount: Int, store: ParameterStore, name: String) {
        precondition(hiddenSize > 0 && locationCount > 0 && mapCount > 0, "attention \(name): sizes must be positive")
        self.hiddenSize = hiddenSize
        self.locationCount = locationCount
        var w: [ParameterView] = [], b: [ParameterView] = []
        for m in 0..<mapCount {
            let prefix = mapCount == 1 ? name : "\(name).branch\(m)"
            w.append(store.add("\(prefix).W", shape: [hiddenSize, locationCount]))
            b.append(store.add("\(prefix).b", shape: [locationCount]))
        }
        weights = w
        biases = b
        makeBuffers()
    }

    /// An attention with the same parameters and its own caches.
    public init(sharingParametersOf other: SoftAttention) {
        hiddenSize = other.hiddenSize
        locationCount = other.locationCount
        weights = other.weights
        biases = other.biases
        makeBuffers()
    }

    private func makeBuffers() {
        maps = weights.map { _ in ScratchBuffer<Float>() }
        scoreGradients = weights.map { _ in ScratchBuffer<Float>() }
        transposedWeights = weights.map { _ in TransposedCopy() }
    }

    /// W ~ U(−1/√H, 1/√H), b = 0: the first step attends uniformly.
    public func initialize(_ values: UnsafeMutablePointer<Float>, generator: inout SplitMix64) {
        let bound = 1 / Float(hiddenSize).squareRoot()
        for m in 0..<mapCount {
            for e in 0..<weights[m].count { values[weights[m].offset + e] = generator.nextUniform(bound: bound) }
            (values + biases[m].offset).update(repeating: 0, count: locationCount)
        }
    }

    public func prepare(batch: Int, slots: Int) {
        self.batch = batch
        self.slots = slots
        queries.reserve(slots * batch * hiddenSize)
        for m in maps.indices { maps[m].reserve(slots * batch * locationCount) }
    }

    /// Map `m` of the step in `slot`: `[B, S]`.
    public func map(_ m: Int, slot: Int) -> UnsafeMutablePointer<Float> {
        maps[m].pointer + slot * batch * locationCount
    }

    /// One step forward: every map's `att_t` from `previousHidden` `[B, H]` (nil at t = 0).
    public func forwardStep(previousHidden: UnsafePointer<Float>?, slot: Int, values: UnsafePointer<Float>) {
        let (b, h, s) = (batch, hiddenSize, locationCount)
        let query = queries.pointer + slot * b * h
        if let previousHidden {
            query.update(from: previousHidden, count: b * h)
        } else {
            query.update(repeating: 0, count: b * h)
        }
        for m in 0..<mapCount {
            let scores = map(m, slot: slot)
            lstmBroadcastRows(scores, ld: s, values + biases[m].offset, rows: b, count: s)
            if previousHidden != nil {
                SkinnyGEMM.multiply(scores, ldc: s, query, lda: h, weights: values + weights[m].offset, ldw: s,
                                    copy: transposedWeights[m], m: b, n: s, k: h, beta: 1)
            } else {
                // t = 0 (h_{−1} = 0 needs no product): the sequence's copy of Wᵀ for later steps.
                transposedWeights[m].refresh(from: values + weights[m].offset, ld: s, rows: h, columns: s, batch: b)
            }
            for r in 0..<b { SoftmaxCrossEntropy.softmaxRow(scores + r * s, scores + r * s, count: s) }
        }
    }

    public func beginBackward() {
        for m in scoreGradients.indices { scoreGradients[m].reserve(slots * batch * locationCount) }
    }

    /// One step backward. `mapGradients[m]`: `[B, S]` dLoss/datt_t; `previousHiddenGradient`:
    /// `[B, H]`, ACCUMULATES dLoss/dh_{t−1}; nil at t = 0, where h_{−1} is a constant.
    public func backwardStep(
        previousHiddenGradient: UnsafeMutablePointer<Float>?, mapGradients: [UnsafePointer<Float>],
        slot: Int, values: UnsafePointer<Float>
    ) {
        let (b, h, s) = (batch, hiddenSize, locationCount)
        for m in 0..<mapCount {
            let attention = map(m, slot: slot)
            let dScores = scoreGradients[m].pointer + slot * b * s
            for r in 0..<b {
                lstmSoftmaxRowBackward(dScores + r * s, mapGradients[m] + r * s, attention + r * s, count: s)
            }
            if let previousHiddenGradient {
                SkinnyGEMM.multiplyTransposed(previousHiddenGradient, ldc: h, dScores, lda: s,
                                              values + weights[m].offset, ldb: s, m: b, n: h, k: s, beta: 1)
            }
        }
    }

    /// dW += Σ_t h_{t−1}ᵀ dScores_t, db += Σ_t dScores_t over the first `steps` slots.
    public func accumulateWeightGradients(steps: Int, gradients: UnsafeMutablePointer<Float>) {
        let rows = steps * batch
        let (h, s) = (hiddenSize, locationCount)
        for m in 0..<mapCount {
            let dScores = scoreGradients[m].pointer
            BLAS.sgemm(gradients + weights[m].offset, ldc: s, queries.pointer, lda: h, transposeA: true,
                       dScores, ldb: s, m: h, n: s, k: rows, beta: 1)
            lstmAccumulateColumnSums(gradients + biases[m].offset, dScores, ld: s, rows: rows, count: s)
        }
    }
}
