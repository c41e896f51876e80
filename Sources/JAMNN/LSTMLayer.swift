// shapes: B = clips in the batch, In = input size, H = hidden size, T = steps; caches are
// time-major `[slots, B, ...]`: slot t holds step t in training (slots = T) and step t mod 2 in
// inference (slots = 2, only the previous step is kept).
// Tests: Tests/JAMModelTests/SequenceClassifierTests.swift (forward and finite-difference backward through the Double reference, standard first layer and upper layers)

import JAMCore
import JAMTensor

/// A standard LSTM layer (layers 2..L of the sequence classifier, or the first layer of the
/// single-branch "Sharma et al." variant) over a batch of B rows.
///
/// Gate order i, f, g (= c̃), o. The input weights W_x and the recurrent weights W_h are stacked
/// in one matrix:
///
///     W: [In + H, 4H]   rows 0..<In are W_x (multiply x_t), rows In..<In+H are W_h (multiply h_{t−1})
///     b: [4H]           columns in gate order i | f | g | o
///     [i f g o]_pre = x_t W_x + h_{t−1} W_h + b
///     i, f, o = σ(·), g = tanh(·), c_t = f ⊙ c_{t−1} + i ⊙ g, h_t = o ⊙ tanh(c_t)
///
/// with h_{−1} = c_{−1} = 0. Two ways to run it, with the same arithmetic per element:
/// - layer by layer (`forwardSequence` / `backwardSequence`) when the whole input sequence is known
///   before the recurrence starts (no attention feedback): x W_x for all T steps is one GEMM over
///   T·B rows, and so is dX = dGates W_xᵀ after the backward recurrence; only the h_{t−1} W_h and
///   dGates_t W_hᵀ products run per step;
/// - step by step (`forwardStep` / `backwardStep`) when the input at t depends on the top layer's
///   state at t−1 (attention), interleaved with the other layers by the caller.
///
/// Forward saves the gate activations, c_t, tanh(c_t) and h_t per step, and remembers where its
/// input sequence `[slots, B, In]` lives (the caller keeps it until backward). Backward keeps
/// dGates for every step and defers the weight gradients to one GEMM per block over all T·B rows
/// (`accumulateWeightGradients`), far faster than T skinny ones.
///
/// The per-step products (B rows against W) go through `SkinnyGEMM`: backward multiplies by Wᵀ
/// with W as stored; forward multiplies by W, through a transposed copy (`TransposedCopy`) made at
/// the start of each sequence (t = 0) when JAM's kernel runs the products, so a copy always holds
/// the weights its sequence runs with.
public final class LSTMLayer: LSTMHiddenStates {
    public let inputSize: Int
    public let hiddenSize: Int
    /// `W: [In + H, 4H]`, W_x over W_h, see the type's documentation.
    public let weights: ParameterView
    /// `b: [4H]`; the forget-gate block starts at 1 (see `initialize`).
    public let bias: ParameterView

    public private(set) var batch = 0
    private(set) var slots = 0
    private var inputs: UnsafePointer<Float>?  // [slots, B, In], owned by the caller
    private let gates = ScratchBuffer<Float>()  // [slots, B, 4H] activations
    private let cell = ScratchBuffer<Float>()  // [slots, B, H]
    private let tanhCell = ScratchBuffer<Float>()  // [slots, B, H]
    private let hidden = ScratchBuffer<Float>()  // [slots, B, H]
    private let gateGradients = ScratchBuffer<Float>()  // [slots, B, 4H] dLoss/d(pre-activations)
    private let cellGradient = ScratchBuffer<Float>()  // [B, H], dLoss/dc carried to the previous step
    private let recurrentGradient = ScratchBuffer<Float>()  // [B, H], dLoss/dh carried to the previous step
    private let rowGradient = ScratchBuffer<Float>()  // [B, In + H]: [dx_t, dh_{t−1}] in step mode
    // Wᵀ for the forward products, made at t = 0: [4H, In + H] in step mode, [4H, H] (W_hᵀ alone)
    // in sequence mode.
    private let transposedWeights = TransposedCopy()
    private let stepRow = ScratchBuffer<Float>()  // [B, In + H]: [x_t, h_{t−1}] in step mode

    /// Registers `<name>.W` and `<name>.b` in `store`.
    public init(inputSize: Int, hiddenSize: Int, store: ParameterStore, name: String) {
        precondition(inputSize > 0 && hiddenSize > 0, "LSTM layer \(name): sizes must be positive")
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
        weights = store.add("\(name).W", shape: [inputSize + hiddenSize, 4 * hiddenSize])
        bias = store.add("\(name).b", shape: [4 * hiddenSize])
    }

    /// A layer with the same parameters and its own caches (training and inference keep apart).
    public init(sharingParametersOf other: LSTMLayer) {
        inputSize = other.inputSize
        hiddenSize = other.hiddenSize
        weights = other.weights
        bias = other.bias
    }

    /// W ~ U(−1/√(In+H), 1/√(In+H)); b = 0 except the forget gate's block, 1 (the usual choice
    /// so that the cell remembers by default early in training).
    public func initialize(_ values: UnsafeMutablePointer<Float>, generator: inout SplitMix64) {
        let bound = 1 / Float(inputSize + hiddenSize).squareRoot()
        for e in 0..<weights.count { values[weights.offset + e] = generator.nextUniform(bound: bound) }
        for j in 0..<(4 * hiddenSize) { values[bias.offset + j] = (hiddenSize..<2 * hiddenSize).contains(j) ? 1 : 0 }
    }

    /// Sizes the caches for `batch` rows and `slots` remembered steps.
    public func prepare(batch: Int, slots: Int) {
        self.batch = batch
        self.slots = slots
        let rows = batch * slots
        gates.reserve(rows * 4 * hiddenSize)
        cell.reserve(rows * hiddenSize)
        tanhCell.reserve(rows * hiddenSize)
        hidden.reserve(rows * hiddenSize)
    }

    /// h of all cached steps, `[slots, B, H]`.
    public var hiddenStates: UnsafeMutablePointer<Float> { hidden.pointer }

    /// W_x `[In, 4H]` and W_h `[H, 4H]` inside `values`.
    private func inputWeights(_ values: UnsafePointer<Float>) -> UnsafePointer<Float> { values + weights.offset }
    private func recurrentWeights(_ values: UnsafePointer<Float>) -> UnsafePointer<Float> {
        values + weights.offset + inputSize * 4 * hiddenSize
    }

    // MARK: Forward

    /// One step forward. `inputs`: `[slots, B, In]`, of which the rows of `slot` are read now and
    /// all rows again by `accumulateWeightGradients`; `previousSlot` is nil at t = 0.
    public func forwardStep(inputs: UnsafePointer<Float>, slot: Int, previousSlot: Int?, values: UnsafePointer<Float>) {
        let (b, n, h, h4) = (batch, inputSize, hiddenSize, 4 * hiddenSize)
        self.inputs = inputs
        if previousSlot == nil {
            transposedWeights.refresh(from: values + weights.offset, ld: h4, rows: n + h, columns: h4, batch: b)
        }
        let g = gates.pointer + slot * b * h4
        lstmBroadcastRows(g, ld: h4, values + bias.offset, rows: b, count: h4)
        // [x_t, h_{t−1}] · W in one product, one pass over W (at t = 0 h_{−1} = 0 adds nothing).
        let rowLength = n + h
        let row = stepRow.reserve(b * rowLength)
        for r in 0..<b {
            (row + r * rowLength).update(from: inputs + (slot * b + r) * n, count: n)
            if let previousSlot { (row + r * rowLength + n).update(from: hiddenState(slot: previousSlot) + r * h, count: h) }
        }
        SkinnyGEMM.multiply(g, ldc: h4, row, lda: rowLength, weights: values + weights.offset, ldw: h4,
                            copy: transposedWeights, m: b, n: h4, k: previousSlot == nil ? n : rowLength, beta: 1)
        cellForward(slot: slot, previousSlot: previousSlot)
    }

    /// The whole sequence forward: x W_x + b for all `steps` in one GEMM, then the recurrence.
    /// `inputs`: `[steps, B, In]`; slot t holds step t.
    public func forwardSequence(inputs: UnsafePointer<Float>, steps: Int, values: UnsafePointer<Float>) {
        precondition(steps <= slots, "LSTM layer: \(steps) steps for \(slots) slots")
        let (b, n, h, h4) = (batch, inputSize, hiddenSize, 4 * hiddenSize)
        let rows = steps * b
        self.inputs = inputs
        lstmBroadcastRows(gates.pointer, ld: h4, values + bias.offset, rows: rows, count: h4)
        BLAS.sgemm(gates.pointer, ldc: h4, inputs, lda: n, inputWeights(values), ldb: h4, m: rows, n: h4, k: n, beta: 1)
        transposedWeights.refresh(from: recurrentWeights(values), ld: h4, rows: h, columns: h4, batch: b)
        for t in 0..<steps {
            if t > 0 {
                SkinnyGEMM.multiply(gates.pointer + t * b * h4, ldc: h4, hiddenState(slot: t - 1), lda: h,
                                    weights: recurrentWeights(values), ldw: h4, copy: transposedWeights,
                                    m: b, n: h4, k: h, beta: 1)
            }
            cellForward(slot: t, previousSlot: t > 0 ? t - 1 : nil)
        }
    }

    /// The cell of `slot`, from its gates' pre-activations (which hold x_t W_x + h_{t−1} W_h + b).
    private func cellForward(slot: Int, previousSlot: Int?) {
        let (b, h) = (batch, hiddenSize)
        lstmCellForward(
            c: cell.pointer + slot * b * h, tanhC: tanhCell.pointer + slot * b * h,
            h: hiddenState(slot: slot), gates: gates.pointer + slot * b * 4 * h,
            cPrevious: previousSlot.map { UnsafePointer(cell.pointer + $0 * b * h) }, batch: b, hidden: h)
    }

    // MARK: Backward

    /// Clears the gradients carried between steps; call before the first (last-in-time) step.
    public func beginBackward() {
        gateGradients.reserve(slots * batch * 4 * hiddenSize)
        cellGradient.reserveZeroed(batch * hiddenSize)
        recurrentGradient.reserveZeroed(batch * hiddenSize)
        rowGradient.reserve(batch * (inputSize + hiddenSize))
    }

    /// One step backward (steps visited in reverse order).
    ///
    /// - `inputGradient`: `[B, In]` out (overwritten), leading dimension `inputGradientStride`;
    ///   nil when nothing below needs it.
    /// - `hiddenGradient`: `[B, H]` dLoss/dh_t from above (the next layer, the output, attention).
    public func backwardStep(
        inputGradient: UnsafeMutablePointer<Float>?, inputGradientStride: Int,
        hiddenGradient: UnsafePointer<Float>, slot: Int, previousSlot: Int?,
        values: UnsafePointer<Float>
    ) {
        let (b, n, h) = (batch, inputSize, hiddenSize)
        let dGates = cellBackward(hiddenGradient: hiddenGradient, slot: slot, previousSlot: previousSlot)
        // [dx_t, dh_{t−1}] = dGates_t Wᵀ, one GEMM for both blocks.
        let rowLength = n + h
        let dRow = rowGradient.pointer
        SkinnyGEMM.multiplyTransposed(dRow, ldc: rowLength, dGates, lda: 4 * h,
                                      values + weights.offset, ldb: 4 * h, m: b, n: rowLength, k: 4 * h)
        let dh = recurrentGradient.pointer
        for r in 0..<b {
            if let inputGradient {
                (inputGradient + r * inputGradientStride).update(from: dRow + r * rowLength, count: n)
            }
            (dh + r * h).update(from: dRow + r * rowLength + n, count: h)
        }
    }

    /// The whole sequence backward, the counterpart of `forwardSequence` (call `beginBackward`
    /// first): the recurrence with dh_{t−1} = dGates_t W_hᵀ per step, then dX = dGates W_xᵀ for all
    /// steps in one GEMM.
    ///
    /// - `inputGradients`: `[steps, B, In]` out (overwritten); nil when nothing below needs it.
    /// - `hiddenGradients`: `[steps, B, H]` dLoss/dh_t from above.
    public func backwardSequence(
        inputGradients: UnsafeMutablePointer<Float>?, hiddenGradients: UnsafePointer<Float>, steps: Int,
        values: UnsafePointer<Float>
    ) {
        let (b, n, h) = (batch, inputSize, hiddenSize)
        for t in (0..<steps).reversed() {
            let dGates = cellBackward(hiddenGradient: hiddenGradients + t * b * h, slot: t,
                                      previousSlot: t > 0 ? t - 1 : nil)
            if t > 0 {
                SkinnyGEMM.multiplyTransposed(recurrentGradient.pointer, ldc: h, dGates, lda: 4 * h,
                                              recurrentWeights(values), ldb: 4 * h, m: b, n: h, k: 4 * h)
            }
        }
        if let inputGradients {
            BLAS.sgemm(inputGradients, ldc: n, gateGradients.pointer, lda: 4 * h, inputWeights(values),
                       ldb: 4 * h, transposeB: true, m: steps * b, n: n, k: 4 * h, beta: 0)
        }
    }

    /// dh_t = (carried from t+1) + `hiddenGradient`, then the cell's backward into dGates of
    /// `slot`, which it returns (`[B, 4H]`); dc is carried on to t−1.
    private func cellBackward(
        hiddenGradient: UnsafePointer<Float>, slot: Int, previousSlot: Int?
    ) -> UnsafeMutablePointer<Float> {
        let (b, h) = (batch, hiddenSize)
        let dh = recurrentGradient.pointer
        for e in 0..<(b * h) { dh[e] += hiddenGradient[e] }
        let dGates = gateGradients.pointer + slot * b * 4 * h
        lstmCellBackward(
            gateGradients: dGates, cellGradient: cellGradient.pointer, hiddenGradient: dh,
            gates: gates.pointer + slot * b * 4 * h, tanhC: tanhCell.pointer + slot * b * h,
            cPrevious: previousSlot.map { UnsafePointer(cell.pointer + $0 * b * h) }, batch: b, hidden: h)
        return dGates
    }

    /// dW_x += Σ_t x_tᵀ dGates_t, dW_h += Σ_{t≥1} h_{t−1}ᵀ dGates_t and db += Σ_t dGates_t over the
    /// first `steps` slots (slot t = step t), one GEMM per block over all `steps · B` rows.
    public func accumulateWeightGradients(steps: Int, gradients: UnsafeMutablePointer<Float>) {
        guard steps > 0, let inputs else { return }
        let (b, n, h4) = (batch, inputSize, 4 * hiddenSize)
        let dW = gradients + weights.offset
        BLAS.sgemm(dW, ldc: h4, inputs, lda: n, transposeA: true,
                   gateGradients.pointer, ldb: h4, m: n, n: h4, k: steps * b, beta: 1)
        // Slot t−1's h meets slot t's dGates: the rows of h shifted by one step.
        BLAS.sgemm(dW + n * h4, ldc: h4, hidden.pointer, lda: hiddenSize, transposeA: true,
                   gateGradients.pointer + b * h4, ldb: h4, m: hiddenSize, n: h4, k: (steps - 1) * b, beta: 1)
        lstmAccumulateColumnSums(gradients + bias.offset, gateGradients.pointer, ld: h4, rows: steps * b, count: h4)
    }
}
