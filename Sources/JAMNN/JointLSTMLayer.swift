// shapes: B = clips in the batch, Kb = branches, D_k = input size of branch k (5·N_k with the
// spatial pyramid), ΣD = D_0 + … + D_{Kb−1}, H = hidden size; caches are time-major
// `[slots, B, ...]` (slot t = step t in training, t mod 2 in inference).
// Tests: Tests/JAMModelTests/SequenceClassifierTests.swift (forward and finite-difference backward through the Double reference, early and late fusion)

import Foundation
import JAMCore
import JAMTensor

/// The joint LSTM: the first layer of the sequence classifier, one input x_tk per branch.
///
/// Per branch k, three tanh sub-gates of the branch's own dimension D_k, then sigmoid gates that
/// mix the branches (the paper's f and o formulas repeat i_tk: a typo that docs/DESIGN.md §4 resolves):
///
///     [i_tk f_tk o_tk] = tanh([x_tk, h_{t−1}] W_sub,k + b_sub,k)          each [B, D_k]
///     i_t = σ(Σ_k i_tk A_k),  f_t = σ(Σ_k f_tk B_k),  o_t = σ(Σ_k o_tk C_k)   (no bias: docs/DESIGN.md §4)
///     c̃_t = tanh([u_t0, …, u_t(Kb−1), h_{t−1}] W_cell + b_cell),  u_tk = x_tk (early) or x_tk ⊙ i_tk (late)
///     c_t = f_t ⊙ c_{t−1} + i_t ⊙ c̃_t,  h_t = o_t ⊙ tanh(c_t),  h_{−1} = c_{−1} = 0
///
/// Parameters, named `<name>.…` in the store:
///
///     branch{k}.W_sub  [D_k + H, 3·D_k]  the paper's W_xik|W_xfk|W_xok (rows 0..<D_k, acting on
///                                        x_tk) over W_hik|W_hfk|W_hok (rows D_k..<D_k+H, on h_{t−1}),
///                                        columns in sub-gate order i | f | o: fused so one GEMM
///                                        per branch and step computes all three sub-gates
///     branch{k}.b_sub  [3·D_k]           b_ik | b_fk | b_ok
///     branch{k}.A      [D_k, H]          the paper's W_iik (input gate)
///     branch{k}.B      [D_k, H]          W_ffk (forget gate)
///     branch{k}.C      [D_k, H]          W_ook (output gate)
///     W_cell           [ΣD + H, H]       rows of branch k at ΣD_{<k} ..< ΣD_{<k}+D_k are W_ck; the last
///                                        H rows are U_c: fused so one GEMM serves the cell
///     b_cell           [H]
///
/// Internally the four gates live in one `[B, 4H]` block in the order i, f, g (= c̃), o, like the
/// standard layer, so the cell update is shared. Backward walks the steps in reverse; the weight
/// gradients are deferred to one GEMM per matrix over all T·B rows. The per-step products go
/// through `SkinnyGEMM`, forward on `TransposedCopy`s of the matrices (see `LSTMLayer`).
public final class JointLSTMLayer: LSTMHiddenStates {
    public let branchInputSizes: [Int]
    public let hiddenSize: Int
    public let fusion: LSTMFusion
    /// Per branch: `W_sub [D_k + H, 3D_k]`.
    public let subGateWeights: [ParameterView]
    /// Per branch: `b_sub [3D_k]`.
    public let subGateBiases: [ParameterView]
    /// Per branch: `A_k`, `B_k`, `C_k`, each `[D_k, H]`.
    public let inputGateMixing: [ParameterView]
    public let forgetGateMixing: [ParameterView]
    public let outputGateMixing: [ParameterView]
    /// `W_cell [ΣD + H, H]`.
    public let cellWeights: ParameterView
    /// `b_cell [H]`.
    public let cellBias: ParameterView

    /// Where branch k's block starts in the concatenated input `[B, ΣD]`.
    public let branchOffsets: [Int]
    /// ΣD.
    public let inputSize: Int

    public private(set) var batch = 0
    private(set) var slots = 0
    private var branchRows: [ScratchBuffer<Float>] = []  // per branch [slots, B, D_k + H]: [x_tk, h_{t−1}]
    private var subGates: [ScratchBuffer<Float>] = []  // per branch [slots, B, 3D_k]: tanh activations i|f|o
    private var subGateGradients: [ScratchBuffer<Float>] = []  // per branch [slots, B, 3D_k] (pre-tanh)
    private var branchRowGradients: [ScratchBuffer<Float>] = []  // per branch [B, D_k + H]
    private let cellRows = ScratchBuffer<Float>()  // [slots, B, ΣD + H]: [u_t0, …, h_{t−1}]
    private let cellRowGradient = ScratchBuffer<Float>()  // [B, ΣD + H]
    private let gates = ScratchBuffer<Float>()  // [slots, B, 4H] activations i|f|g|o
    private let gateGradients = ScratchBuffer<Float>()  // [slots, B, 4H]
    private let cell = ScratchBuffer<Float>()  // [slots, B, H]
    private let tanhCell = ScratchBuffer<Float>()  // [slots, B, H]
    private let hidden = ScratchBuffer<Float>()  // [slots, B, H]
    private let cellGradient = ScratchBuffer<Float>()  // [B, H]
    private let recurrentGradient = ScratchBuffer<Float>()  // [B, H]
    // Transposed copies for the forward products, made at t = 0: per branch W_subᵀ [3D_k, D_k + H]
    // and A_kᵀ, B_kᵀ, C_kᵀ [H, D_k]; W_cellᵀ [H, ΣD + H].
    private var transposedSubGateWeights: [TransposedCopy] = []
    private var transposedMixing: [[TransposedCopy]] = []  // per branch: A, B, C
    private let transposedCellWeights = TransposedCopy()

    /// Registers the parameters listed in the type's documentation under `name` in `store`.
    public init(
        branchInputSizes: [Int], hiddenSize: Int, fusion: LSTMFusion,
        store: ParameterStore, name: String
    ) {
        precondition(!branchInputSizes.isEmpty && branchInputSizes.allSatisfy { $0 > 0 } && hiddenSize > 0,
                     "joint LSTM \(name): needs at least one branch and positive sizes")
        self.branchInputSizes = branchInputSizes
        self.hiddenSize = hiddenSize
        self.fusion = fusion
        var offsets: [Int] = []
        var total = 0
        for d in branchInputSizes {
            offsets.append(total)
            total += d
        }
        branchOffsets = offsets
        inputSize = total
        var w: [ParameterView] = [], b: [ParameterView] = []
        var a: [ParameterView] = [], f: [ParameterView] = [], o: [ParameterView] = []
        for (k, d) in branchInputSizes.enumerated() {
            let prefix = "\(name).branch\(k)"
            w.append(store.add("\(prefix).W_sub", shape: [d + hiddenSize, 3 * d]))
            b.append(store.add("\(prefix).b_sub", shape: [3 * d]))
            a.append(store.add("\(prefix).A", shape: [d, hiddenSize]))
            f.append(store.add("\(prefix).B", shape: [d, hiddenSize]))
            o.append(store.add("\(prefix).C", shape: [d, hiddenSize]))
        }
        subGateWeights = w
        subGateBiases = b
        inputGateMixing = a
        forgetGateMixing = f
        outputGateMixing = o
        cellWeights = store.add("\(name).W_cell", shape: [total + hiddenSize, hiddenSize])
        cellBias = store.add("\(name).b_cell", shape: [hiddenSize])
        makeBuffers()
    }

    /// A layer with the same parameters and its own caches.
    public init(sharingParametersOf other: JointLSTMLayer) {
        branchInputSizes = other.branchInputSizes
        hiddenSize = other.hiddenSize
        fusion = other.fusion
        subGateWeights = other.subGateWeights
        subGateBiases = other.subGateBiases
        inputGateMixing = other.inputGateMixing
        forgetGateMixing = other.forgetGateMixing
        outputGateMixing = other.outputGateMixing
        cellWeights = other.cellWeights
        cellBias = other.cellBias
        branchOffsets = other.branchOffsets
        inputSize = other.inputSize
        makeBuffers()
    }

    private func makeBuffers() {
        branchRows = branchInputSizes.map { _ in ScratchBuffer<Float>() }
        subGates = branchInputSizes.map { _ in ScratchBuffer<Float>() }
        subGateGradients = branchInputSizes.map { _ in ScratchBuffer<Float>() }
        branchRowGradients = branchInputSizes.map { _ in ScratchBuffer<Float>() }
        transposedSubGateWeights = branchInputSizes.map { _ in TransposedCopy() }
        transposedMixing = branchInputSizes.map { _ in [TransposedCopy(), TransposedCopy(), TransposedCopy()] }
    }

    /// The gate block (of i, f, g, o in `[B, 4H]`) that sub-gate block s (i, f, o in `[B, 3D_k]`) mixes into.
    private static let mixedGateBlocks = [0, 1, 3]

    /// Branch k's mixing matrix for sub-gate block s: A_k (i), B_k (f), C_k (o).
    private func mixingMatrix(branch k: Int, subGate s: Int) -> ParameterView {
        switch s {
        case 0: inputGateMixing[k]
        case 1: forgetGateMixing[k]
        default: outputGateMixing[k]
        }
    }

    /// Refreshes the transposed copies from `values` (at the start of each sequence).
    private func transposeWeights(_ values: UnsafePointer<Float>) {
        let (b, h) = (batch, hiddenSize)
        for (k, d) in branchInputSizes.enumerated() {
            transposedSubGateWeights[k].refresh(from: values + subGateWeights[k].offset, ld: 3 * d,
                                                rows: d + h, columns: 3 * d, batch: b)
            for s in 0..<3 {
                transposedMixing[k][s].refresh(from: values + mixingMatrix(branch: k, subGate: s).offset, ld: h,
                                               rows: d, columns: h, batch: b)
            }
        }
        transposedCellWeights.refresh(from: values + cellWeights.offset, ld: h, rows: inputSize + h, columns: h, batch: b)
    }

    /// Matrices ~ U(−1/√fanIn, 1/√fanIn) with fanIn = D_k + H for W_sub, ΣD for A/B/C (each gate
    /// sums over all branches) and ΣD + H for W_cell; biases 0. The final gates have no bias (the
    /// formula of docs/DESIGN.md §4), so the forget gate starts near σ(0) = ½ rather than the standard layers' 1.
    public func initialize(_ values: UnsafeMutablePointer<Float>, generator: inout SplitMix64) {
        func fill(_ view: ParameterView, fanIn: Int) {
            let bound = 1 / Float(fanIn).squareRoot()
            for e in 0..<view.count { values[view.offset + e] = generator.nextUniform(bound: bound) }
        }
        for k in branchInputSizes.indices {
            fill(subGateWeights[k], fanIn: branchInputSizes[k] + hiddenSize)
            (values + subGateBiases[k].offset).update(repeating: 0, count: subGateBiases[k].count)
            fill(inputGateMixing[k], fanIn: inputSize)
            fill(forgetGateMixing[k], fanIn: inputSize)
            fill(outputGateMixing[k], fanIn: inputSize)
        }
        fill(cellWeights, fanIn: inputSize + hiddenSize)
        (values + cellBias.offset).update(repeating: 0, count: hiddenSize)
    }

    /// Sizes the caches for `batch` rows and `slots` remembered steps.
    public func prepare(batch: Int, slots: Int) {
        self.batch = batch
        self.slots = slots
        let rows = batch * slots
        for (k, d) in branchInputSizes.enumerated() {
            branchRows[k].reserve(rows * (d + hiddenSize))
            subGates[k].reserve(rows * 3 * d)
        }
        cellRows.reserve(rows * (inputSize + hiddenSize))
        gates.reserve(rows * 4 * hiddenSize)
        cell.reserve(rows * hiddenSize)
        tanhCell.reserve(rows * hiddenSize)
        hidden.reserve(rows * hiddenSize)
    }

    /// h of all cached steps, `[slots, B, H]`.
    public var hiddenStates: UnsafeMutablePointer<Float> { hidden.pointer }

    /// One step forward. `input`: `[B, ΣD]` (branch blocks at `branchOffsets`) with leading
    /// dimension `inputStride`; `previousSlot` is nil at t = 0.
    public func forwardStep(
        input: UnsafePointer<Float>, inputStride: Int, slot: Int, previousSlot: Int?,
        values: UnsafePointer<Float>
    ) {
        let (b, h) = (batch, hiddenSize)
        let h4 = 4 * h
        let previousHidden = previousSlot.map { UnsafePointer(hiddenState(slot: $0)) }
        let cellRowLength = inputSize + h
        let cellRow = cellRows.pointer + slot * b * cellRowLength
        if previousSlot == nil { transposeWeights(values) }

        for (k, d) in branchInputSizes.enumerated() {
            let rowLength = d + h
            let row = branchRows[k].pointer + slot * b * rowLength
            for r in 0..<b {
                (row + r * rowLength).update(from: input + r * inputStride + branchOffsets[k], count: d)
                if let previousHidden {
                    (row + r * rowLength + d).update(from: previousHidden + r * h, count: h)
                } else {
                    (row + r * rowLength + d).update(repeating: 0, count: h)
                }
            }
            let sub = subGates[k].pointer + slot * b * 3 * d
            lstmBroadcastRows(sub, ld: 3 * d, values + subGateBiases[k].offset, rows: b, count: 3 * d)
            SkinnyGEMM.multiply(sub, ldc: 3 * d, row, lda: rowLength, weights: values + subGateWeights[k].offset,
                                ldw: 3 * d, copy: transposedSubGateWeights[k], m: b, n: 3 * d, k: rowLength, beta: 1)
            lstmForEachRow(b, elementsPerRow: 3 * d) { r in
                LSTMVectorMath.apply(sub + r * 3 * d, count: 3 * d, LSTMVectorMath.tanh)
            }
            // u_tk into the cell's input row.
            for r in 0..<b {
                let x = row + r * rowLength
                let u = cellRow + r * cellRowLength + branchOffsets[k]
                switch fusion {
                case .early: u.update(from: x, count: d)
                case .late:
                    let inputSubGate = sub + r * 3 * d
                    for j in 0..<d { u[j] = x[j] * inputSubGate[j] }
                }
            }
        }
        for r in 0..<b {
            let u = cellRow + r * cellRowLength + inputSize
            if let previousHidden {
                u.update(from: previousHidden + r * h, count: h)
            } else {
                u.update(repeating: 0, count: h)
            }
        }

        let g = gates.pointer + slot * b * h4
        for r in 0..<b {
            let gr = g + r * h4
            gr.update(repeating: 0, count: h4)
            (gr + 2 * h).update(from: values + cellBias.offset, count: h)
        }
        for (k, d) in branchInputSizes.enumerated() {
            let sub = subGates[k].pointer + slot * b * 3 * d
            for s in 0..<3 {
                SkinnyGEMM.multiply(g + Self.mixedGateBlocks[s] * h, ldc: h4, sub + s * d, lda: 3 * d,
                                    weights: values + mixingMatrix(branch: k, subGate: s).offset, ldw: h,
                                    copy: transposedMixing[k][s], m: b, n: h, k: d, beta: 1)
            }
        }
        SkinnyGEMM.multiply(g + 2 * h, ldc: h4, cellRow, lda: cellRowLength, weights: values + cellWeights.offset,
                            ldw: h, copy: transposedCellWeights, m: b, n: h, k: cellRowLength, beta: 1)
        lstmCellForward(
            c: cell.pointer + slot * b * h, tanhC: tanhCell.pointer + slot * b * h,
            h: hiddenState(slot: slot), gates: g,
            cPrevious: previousSlot.map { UnsafePointer(cell.pointer + $0 * b * h) }, batch: b, hidden: h)
    }

    /// Clears the gradients carried between steps; call before the first (last-in-time) step.
    public func beginBackward() {
        for (k, d) in branchInputSizes.enumerated() {
            subGateGradients[k].reserve(slots * batch * 3 * d)
            branchRowGradients[k].reserve(batch * (d + hiddenSize))
        }
        cellRowGradient.reserve(batch * (inputSize + hiddenSize))
        gateGradients.reserve(slots * batch * 4 * hiddenSize)
        cellGradient.reserveZeroed(batch * hiddenSize)
        recurrentGradient.reserveZeroed(batch * hiddenSize)
    }

    /// One step backward (steps visited in reverse order).
    ///
    /// - `inputGradient`: `[B, ΣD]` out (overwritten), leading dimension `inputGradientStride`;
    ///   nil when nothing below needs it (no attention).
    /// - `hiddenGradient`: `[B, H]` dLoss/dh_t from above.
    public func backwardStep(
        inputGradient: UnsafeMutablePointer<Float>?, inputGradientStride: Int,
        hiddenGradient: UnsafePointer<Float>, slot: Int, previousSlot: Int?,
        values: UnsafePointer<Float>
    ) {
        let (b, h) = (batch, hiddenSize)
        let h4 = 4 * h
        let dh = recurrentGradient.pointer
        for e in 0..<(b * h) { dh[e] += hiddenGradient[e] }
        let dGates = gateGradients.pointer + slot * b * h4
        lstmCellBackward(
            gateGradients: dGates, cellGradient: cellGradient.pointer, hiddenGradient: dh,
            gates: gates.pointer + slot * b * h4, tanhC: tanhCell.pointer + slot * b * h,
            cPrevious: previousSlot.map { UnsafePointer(cell.pointer + $0 * b * h) }, batch: b, hidden: h)

        // The cell candidate's inputs [u_t0, …, h_{t−1}].
        let cellRowLength = inputSize + h
        let dCellRow = cellRowGradient.pointer
        SkinnyGEMM.multiplyTransposed(dCellRow, ldc: cellRowLength, dGates + 2 * h, lda: h4,
                                      values + cellWeights.offset, ldb: h, m: b, n: cellRowLength, k: h)
        for r in 0..<b {
            (dh + r * h).update(from: dCellRow + r * cellRowLength + inputSize, count: h)
        }

        for (k, d) in branchInputSizes.enumerated() {
            let rowLength = d + h
            let row = branchRows[k].pointer + slot * b * rowLength
            let sub = subGates[k].pointer + slot * b * 3 * d
            let dSub = subGateGradients[k].pointer + slot * b * 3 * d
            // Through the gate mixing: dSub = dGate · Aᵀ (and B, C) per sub-gate block.
            for s in 0..<3 {
                SkinnyGEMM.multiplyTransposed(dSub + s * d, ldc: 3 * d, dGates + Self.mixedGateBlocks[s] * h, lda: h4,
                                              values + mixingMatrix(branch: k, subGate: s).offset, ldb: h, m: b, n: d, k: h)
            }
            // Through u_tk.
            for r in 0..<b {
                let du = dCellRow + r * cellRowLength + branchOffsets[k]
                let dx = inputGradient.map { $0 + r * inputGradientStride + branchOffsets[k] }
                switch fusion {
                case .early:
                    dx?.update(from: du, count: d)
                case .late:
                    let x = row + r * rowLength
                    let inputSubGate = sub + r * 3 * d
                    let dInputSubGate = dSub + r * 3 * d
                    for j in 0..<d { dInputSubGate[j] += du[j] * x[j] }
                    if let dx { for j in 0..<d { dx[j] = du[j] * inputSubGate[j] } }
                }
            }
            lstmForEachRow(b, elementsPerRow: 3 * d) { r in
                for e in (r * 3 * d)..<((r + 1) * 3 * d) { dSub[e] *= 1 - sub[e] * sub[e] }
            }
            // Through the sub-gates' fused GEMM into [x_tk, h_{t−1}].
            let dRow = branchRowGradients[k].pointer
            SkinnyGEMM.multiplyTransposed(dRow, ldc: rowLength, dSub, lda: 3 * d, values + subGateWeights[k].offset,
                                          ldb: 3 * d, m: b, n: rowLength, k: 3 * d)
            for r in 0..<b {
                let source = dRow + r * rowLength
                if let inputGradient {
                    let dx = inputGradient + r * inputGradientStride + branchOffsets[k]
                    for j in 0..<d { dx[j] += source[j] }
                }
                let dhRow = dh + r * h
                for j in 0..<h { dhRow[j] += source[d + j] }
            }
        }
    }

    /// The deferred weight gradients over the first `steps` slots: one GEMM per matrix over
    /// `steps · B` rows.
    public func accumulateWeightGradients(steps: Int, gradients: UnsafeMutablePointer<Float>) {
        let rows = steps * batch
        let h = hiddenSize
        let h4 = 4 * h
        let dGates = gateGradients.pointer
        for (k, d) in branchInputSizes.enumerated() {
            let rowLength = d + h
            let sub = subGates[k].pointer
            let dSub = subGateGradients[k].pointer
            BLAS.sgemm(gradients + subGateWeights[k].offset, ldc: 3 * d,
                       branchRows[k].pointer, lda: rowLength, transposeA: true,
                       dSub, ldb: 3 * d, m: rowLength, n: 3 * d, k: rows, beta: 1)
            lstmAccumulateColumnSums(gradients + subGateBiases[k].offset, dSub, ld: 3 * d, rows: rows, count: 3 * d)
            for s in 0..<3 {
                BLAS.sgemm(gradients + mixingMatrix(branch: k, subGate: s).offset, ldc: h,
                           sub + s * d, lda: 3 * d, transposeA: true, dGates + Self.mixedGateBlocks[s] * h, ldb: h4,
                           m: d, n: h, k: rows, beta: 1)
            }
        }
        let cellRowLength = inputSize + h
        BLAS.sgemm(gradients + cellWeights.offset, ldc: h,
                   cellRows.pointer, lda: cellRowLength, transposeA: true,
                   dGates + 2 * h, ldb: h4, m: cellRowLength, n: h, k: rows, beta: 1)
        lstmAccumulateColumnSums(gradients + cellBias.offset, dGates + 2 * h, ld: h4, rows: rows, count: h)
    }
}
