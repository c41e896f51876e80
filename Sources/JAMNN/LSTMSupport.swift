// shapes: all buffers are row-major Float; `[R, C]` with a leading dimension `ld >= C` when a
// matrix is a column block of a wider buffer (for example one gate block of `[B, 4H]`).
// Tests: Tests/JAMModelTests/SequenceClassifierTests.swift (every LSTM-family layer against the Double reference)
//
// Helpers of the LSTM family, shared by its layers (here) and the sequence classifier that
// stacks them (JAMModel). They are prefixed `lstm`/`LSTM` so that they do not collide with the
// kernels of JAMTensor; GEMM and the seeded generator are JAMTensor's `BLAS.sgemm` and JAMCore's
// `SplitMix64`.

import Foundation
import JAMCore
import JAMTensor

// MARK: - Elementwise

/// Fills each of `rows` rows of `destination` (leading dimension `ld`) with `row` (`count` floats).
@inline(__always)
public func lstmBroadcastRows(
    _ destination: UnsafeMutablePointer<Float>, ld: Int,
    _ row: UnsafePointer<Float>, rows: Int, count: Int
) {
    for r in 0..<rows {
        (destination + r &* ld).update(from: row, count: count)
    }
}

/// `sums[j] += Σ_r matrix[r, j]` for a `[rows, count]` block with leading dimension `ld`.
@inline(__always)
public func lstmAccumulateColumnSums(
    _ sums: UnsafeMutablePointer<Float>,
    _ matrix: UnsafePointer<Float>, ld: Int, rows: Int, count: Int
) {
    for r in 0..<rows {
        let row = matrix + r &* ld
        for j in 0..<count { sums[j] += row[j] }
    }
}

/// Calls `body(r)` for every row r in `0..<rows`, on `BLAS.threads` threads when the rows hold at
/// least `lstmParallelElements` elements together (the paper's sizes: one row of the batch is 1024
/// or more units), else on this thread. Rows must be independent: each call writes only its own
/// row, so the bits do not depend on the thread count.
@inline(__always)
public func lstmForEachRow(_ rows: Int, elementsPerRow: Int, _ body: (_ row: Int) -> Void) {
    let threads = rows &* elementsPerRow >= lstmParallelElements ? BLAS.threads : 1
    parallelFor(chunkCount: rows, threads: threads) { r, _ in body(r) }
}

/// Below this many elements an elementwise pass stays on one thread: waking a helper costs more.
public let lstmParallelElements = 1 << 14

// MARK: - Seeded initialisation

extension SplitMix64 {
    /// A `Float` uniform in `[-bound, bound)` from the top 24 bits of one `next()` (exact in
    /// `Float`); the LSTM family's initial weights depend on this exact derivation.
    @inline(__always)
    public mutating func nextUniform(bound: Float) -> Float {
        let unit = Float(next() >> 40) * (1 / Float(1 << 24))
        return (2 * unit - 1) * bound
    }
}

// MARK: - Output softmax and cross-entropy

/// Softmax over each row of `logits` `[rows, classes]` into `probabilities`; returns
/// `Σ_r −log p[r, labels[r]]` accumulated in Double.
@inline(__always)
public func lstmSoftmaxCrossEntropy(
    probabilities: UnsafeMutablePointer<Float>,
    logits: UnsafePointer<Float>, labels: UnsafePointer<Int>, rows: Int, classes: Int
) -> Double {
    var loss: Double = 0
    for r in 0..<rows {
        let z = logits + r &* classes
        let p = probabilities + r &* classes
        SoftmaxCrossEntropy.softmaxRow(p, z, count: classes)
        // log p from the shifted logits, not log(p), so that a tiny p does not become -inf.
        var maxZ = z[0]
        for j in 1..<classes { maxZ = max(maxZ, z[j]) }
        var sum: Double = 0
        for j in 0..<classes { sum += Double(expf(z[j] - maxZ)) }
        loss += log(sum) - Double(z[labels[r]] - maxZ)
    }
    return loss
}

/// Backward of a row softmax: `gradientIn[j] = p[j] (gradientOut[j] − Σ_i p[i] gradientOut[i])`.
@inline(__always)
public func lstmSoftmaxRowBackward(
    _ gradientIn: UnsafeMutablePointer<Float>,
    _ gradientOut: UnsafePointer<Float>, _ probabilities: UnsafePointer<Float>, count: Int
) {
    var dot: Float = 0
    for j in 0..<count { dot += probabilities[j] * gradientOut[j] }
    for j in 0..<count { gradientIn[j] = probabilities[j] * (gradientOut[j] - dot) }
}

// MARK: - The LSTM cell update shared by the standard and the joint layer

/// Applies the gate nonlinearities in place and updates the cell, for `[B, 4H]` gates in the
/// order i, f, g (= c̃), o: `c = f ⊙ cPrev + i ⊙ g`, `h = o ⊙ tanh(c)`.
///
/// - `gates`: `[B, 4H]` pre-activations in, activations out.
/// - `c`, `tanhC`, `h`: `[B, H]` outputs.
/// - `cPrevious`: `[B, H]`, or nil for the zero state at t = 0.
@inline(__always)
public func lstmCellForward(
    c: UnsafeMutablePointer<Float>, tanhC: UnsafeMutablePointer<Float>,
    h: UnsafeMutablePointer<Float>,
    gates: UnsafeMutablePointer<Float>, cPrevious: UnsafePointer<Float>?,
    batch: Int, hidden: Int
) {
    typealias V = LSTMVectorMath
    let h4 = 4 &* hidden
    lstmForEachRow(batch, elementsPerRow: h4) { b in
        let g = gates + b &* h4
        let row = b &* hidden
        // 8 units at a time; a last partial group is padded with zeros (same arithmetic).
        var j = 0
        while j < hidden {
            let width = min(8, hidden &- j)
            let i = V.sigmoid(V.load(g + j, count: width))
            let f = V.sigmoid(V.load(g + (hidden &+ j), count: width))
            let candidate = V.tanh(V.load(g + (2 &* hidden &+ j), count: width))
            let o = V.sigmoid(V.load(g + (3 &* hidden &+ j), count: width))
            V.store(i, g + j, count: width)
            V.store(f, g + (hidden &+ j), count: width)
            V.store(candidate, g + (2 &* hidden &+ j), count: width)
            V.store(o, g + (3 &* hidden &+ j), count: width)
            let previous = cPrevious.map { V.load($0 + (row &+ j), count: width) } ?? V.Lanes()
            let cell = f * previous + i * candidate
            let t = V.tanh(cell)
            V.store(cell, c + (row &+ j), count: width)
            V.store(t, tanhC + (row &+ j), count: width)
            V.store(o * t, h + (row &+ j), count: width)
            j &+= 8
        }
    }
}

/// Backward of `lstmCellForward` for one step.
///
/// - `gateGradients`: `[B, 4H]` out, dLoss/d(pre-activations) in the order i, f, g, o.
/// - `cellGradient`: `[B, H]` in: dLoss/dc_t arriving from step t+1; out: dLoss/dc_{t−1}.
/// - `hiddenGradient`: `[B, H]` dLoss/dh_t (all routes summed).
/// - `gates`: `[B, 4H]` the activations saved by forward; `tanhC`: `[B, H]`; `cPrevious` or nil.
@inline(__always)
public func lstmCellBackward(
    gateGradients: UnsafeMutablePointer<Float>, cellGradient: UnsafeMutablePointer<Float>,
    hiddenGradient: UnsafePointer<Float>, gates: UnsafePointer<Float>,
    tanhC: UnsafePointer<Float>, cPrevious: UnsafePointer<Float>?,
    batch: Int, hidden: Int
) {
    let h4 = 4 &* hidden
    lstmForEachRow(batch, elementsPerRow: h4) { b in
        let g = gates + b &* h4
        let d = gateGradients + b &* h4
        for j in 0..<hidden {
            let index = b &* hidden &+ j
            let i = g[j], f = g[hidden &+ j], candidate = g[2 &* hidden &+ j], o = g[3 &* hidden &+ j]
            let t = tanhC[index]
            let dh = hiddenGradient[index]
            let dc = cellGradient[index] + dh * o * (1 - t * t)
            let previous = cPrevious.map { $0[index] } ?? 0
            d[j] = dc * candidate * i * (1 - i)
            d[hidden &+ j] = dc * previous * f * (1 - f)
            d[2 &* hidden &+ j] = dc * i * (1 - candidate * candidate)
            d[3 &* hidden &+ j] = dh * t * o * (1 - o)
            cellGradient[index] = dc * f
        }
    }
}

/// An LSTM layer that caches h of every remembered step, `[slots, B, H]` (both layer kinds).
public protocol LSTMHiddenStates: AnyObject {
    var hiddenSize: Int { get }
    /// B, rows per step.
    var batch: Int { get }
    /// h of all cached steps, `[slots, B, H]`.
    var hiddenStates: UnsafeMutablePointer<Float> { get }
}

extension LSTMHiddenStates {
    /// h of the step held in `slot`: `[B, H]`.
    public func hiddenState(slot: Int) -> UnsafeMutablePointer<Float> { hiddenStates + slot * batch * hiddenSize }
}
