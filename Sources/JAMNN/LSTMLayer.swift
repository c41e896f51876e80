// shapes: B = clips in the batch, In = input size, H = hidden size, T = steps; caches are
// time-major `[slots, B, ...]`: slot t holds step t in training (slots = T) and step t mod 2 in
// inference (slots = 2, only the previous step is kept).

/// A standard LSTM layer (layers 2..L of the sequence classifier, or the first layer of the
/// single-branch "Sharma et al." variant), run one time step at a time over a batch of B rows.
///
/// Gate order i, f, g (= c̃), o. The input and recurrent weights are fused into one matrix acting
/// on the concatenated row `[x_t, h_{t−1}]`, so that one GEMM serves a step:
///
///     W: [In + H, 4H]   rows 0..<In multiply x_t, rows In..<In+H multiply h_{t−1}
///     b: [4H]           columns in gate order i | f | g | o
///     [i f g o]_pre = [x_t, h_{t−1}] W + b
///     i, f, o = σ(·), g = tanh(·), c_t = f ⊙ c_{t−1} + i ⊙ g, h_t = o ⊙ tanh(c_t)
///
/// with h_{−1} = c_{−1} = 0. Forward saves `[x_t, h_{t−1}]`, the gate activations, c_t and
/// tanh(c_t) per step; backward walks the steps in reverse and defers the weight gradients to one
/// GEMM over all T·B rows (`accumulateWeightGradients`), which is far faster than T skinny ones.
public final class LSTMLayer {
    public let inputSize: Int
    public let hiddenSize: Int
    /// `W: [In + H, 4H]`, see the type's documentation.
    public let weights: ParameterView
    /// `b: [4H]`; the forget-gate block starts at 1 (see `initialize`).
    public let bias: ParameterView

    private(set) var batch = 0
    private(set) var slots = 0
    private let inputAndHidden = LSTMBuffer()  // [slots, B, In + H]
    private let gates = LSTMBuffer()  // [slots, B, 4H] activations
    private let cell = LSTMBuffer()  // [slots, B, H]
    private let tanhCell = LSTMBuffer()  // [slots, B, H]
    private let hidden = LSTMBuffer()  // [slots, B, H]
    private let gateGradients = LSTMBuffer()  // [slots, B, 4H]
    private let cellGradient = LSTMBuffer()  // [B, H], dLoss/dc carried to the previous step
    private let recurrentGradient = LSTMBuffer()  // [B, H], dLoss/dh carried to the previous step
    private let rowGradient = LSTMBuffer()  // [B, In + H]

    /// Registers `<name>.W` and `<name>.b` in `store`.
    public init(inputSize: Int, hiddenSize: Int, store: ParameterStore, name: String) {
        precondition(inputSize > 0 && hiddenSize > 0, "LSTM layer \(name): sizes must be positive")
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
        weights = store.add("\(name).W", shape: [inputSize + hiddenSize, 4 * hiddenSize])
        bias = store.add("\(name).b", shape: [4 * hiddenSize])
    }

    /// A layer with the same parameters and its own caches (training and inference keep apart).
    init(sharingParametersOf other: LSTMLayer) {
        inputSize = other.inputSize
        hiddenSize = other.hiddenSize
        weights = other.weights
        bias = other.bias
    }

    /// W ~ U(−1/√(In+H), 1/√(In+H)); b = 0 except the forget gate's block, 1 (the usual choice
    /// so that the cell remembers by default early in training).
    func initialize(_ values: UnsafeMutablePointer<Float>, generator: inout LSTMSplitMix64) {
        let bound = 1 / Float(inputSize + hiddenSize).squareRoot()
        for e in 0..<weights.count { values[weights.offset + e] = generator.nextUniform(bound: bound) }
        for j in 0..<(4 * hiddenSize) { values[bias.offset + j] = (hiddenSize..<2 * hiddenSize).contains(j) ? 1 : 0 }
    }

    /// Sizes the caches for `batch` rows and `slots` remembered steps.
    func prepare(batch: Int, slots: Int) {
        self.batch = batch
        self.slots = slots
        let rows = batch * slots
        inputAndHidden.reserve(rows * (inputSize + hiddenSize))
        gates.reserve(rows * 4 * hiddenSize)
        cell.reserve(rows * hiddenSize)
        tanhCell.reserve(rows * hiddenSize)
        hidden.reserve(rows * hiddenSize)
    }

    /// h of the step held in `slot`: `[B, H]`.
    func hiddenState(slot: Int) -> UnsafeMutablePointer<Float> {
        hidden.pointer + slot * batch * hiddenSize
    }

    /// h of all cached steps, `[slots, B, H]`.
    var hiddenStates: UnsafeMutablePointer<Float> { hidden.pointer }

    /// One step forward. `input`: `[B, In]` with leading dimension `inputStride`; `previousSlot`
    /// is nil at t = 0.
    func forwardStep(
        input: UnsafePointer<Float>, inputStride: Int, slot: Int, previousSlot: Int?,
        values: UnsafePointer<Float>
    ) {
        let (b, n, h) = (batch, inputSize, hiddenSize)
        let rowLength = n + h
        let row = inputAndHidden.pointer + slot * b * rowLength
        let previousHidden = previousSlot.map { UnsafePointer(hiddenState(slot: $0)) }
        for r in 0..<b {
            (row + r * rowLength).update(from: input + r * inputStride, count: n)
            if let previousHidden {
                (row + r * rowLength + n).update(from: previousHidden + r * h, count: h)
            } else {
                (row + r * rowLength + n).update(repeating: 0, count: h)
            }
        }
        let g = gates.pointer + slot * b * 4 * h
        lstmBroadcastRows(g, ld: 4 * h, values + bias.offset, rows: b, count: 4 * h)
        lstmGemm(g, ldc: 4 * h, beta: 1, row, lda: rowLength, values + weights.offset, ldb: 4 * h,
                 m: b, n: 4 * h, k: rowLength)
        lstmCellForward(
            c: cell.pointer + slot * b * h, tanhC: tanhCell.pointer + slot * b * h,
            h: hiddenState(slot: slot), gates: g,
            cPrevious: previousSlot.map { UnsafePointer(cell.pointer + $0 * b * h) }, batch: b, hidden: h)
    }

    /// Clears the gradients carried between steps; call before the first (last-in-time) step.
    func beginBackward() {
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
    func backwardStep(
        inputGradient: UnsafeMutablePointer<Float>?, inputGradientStride: Int,
        hiddenGradient: UnsafePointer<Float>, slot: Int, previousSlot: Int?,
        values: UnsafePointer<Float>
    ) {
        let (b, n, h) = (batch, inputSize, hiddenSize)
        let dh = recurrentGradient.pointer
        for e in 0..<(b * h) { dh[e] += hiddenGradient[e] }
        let dGates = gateGradients.pointer + slot * b * 4 * h
        lstmCellBackward(
            gateGradients: dGates, cellGradient: cellGradient.pointer, hiddenGradient: dh,
            gates: gates.pointer + slot * b * 4 * h, tanhC: tanhCell.pointer + slot * b * h,
            cPrevious: previousSlot.map { UnsafePointer(cell.pointer + $0 * b * h) }, batch: b, hidden: h)
        let rowLength = n + h
        let dRow = rowGradient.pointer
        lstmGemm(dRow, ldc: rowLength, beta: 0, dGates, lda: 4 * h,
                 values + weights.offset, ldb: 4 * h, transposeB: true, m: b, n: rowLength, k: 4 * h)
        for r in 0..<b {
            if let inputGradient {
                (inputGradient + r * inputGradientStride).update(from: dRow + r * rowLength, count: n)
            }
            (dh + r * h).update(from: dRow + r * rowLength + n, count: h)
        }
    }

    /// dW += Σ_t [x_t, h_{t−1}]ᵀ dGates_t and db += Σ_t dGates_t over the first `steps` slots, as
    /// one GEMM over `steps · B` rows.
    func accumulateWeightGradients(steps: Int, gradients: UnsafeMutablePointer<Float>) {
        let rows = steps * batch
        let rowLength = inputSize + hiddenSize
        let h4 = 4 * hiddenSize
        lstmGemm(gradients + weights.offset, ldc: h4, beta: 1,
                 inputAndHidden.pointer, lda: rowLength, transposeA: true,
                 gateGradients.pointer, ldb: h4, m: rowLength, n: h4, k: rows)
        lstmAccumulateColumnSums(gradients + bias.offset, gateGradients.pointer, ld: h4, rows: rows, count: h4)
    }
}
