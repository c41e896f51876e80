// shapes: cubes per branch [B, T, K, K, N_k]; probabilities [B, T, C]; attention maps [B, T, K·K].
//
// An independent Double implementation of the joint-attention LSTM classifier's forward pass,
// written from docs/DESIGN.md §4 with plain loops, one clip and one step at a time, no BLAS and no shared
// code with JAMNN or JAMModel. It reads the parameters by name from a `ParameterStore`, following the layouts
// documented on `SoftAttention`, `JointLSTMLayer`, `LSTMLayer` and `SequenceClassifier`.

import Foundation
import JAMModel
import JAMNN

/// A seeded generator for test data (SplitMix64), independent of the model's own.
public struct LSTMTestRandom {
    public var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [low, high).
    public mutating func uniform(_ low: Double, _ high: Double) -> Double {
        low + (high - low) * Double(next() >> 11) / Double(1 << 53)
    }
    public mutating func floats(_ count: Int, _ low: Double, _ high: Double) -> [Float] {
        (0..<count).map { _ in Float(uniform(low, high)) }
    }
}

public struct LSTMReferenceResult {
    public var loss: Double
    public var crossEntropy: Double
    public var probabilities: [Double]  // [B, T, C]
    public var attention: [[Double]]  // M maps [B, T, S]
}

/// The whole forward in Double: loss = (1/B) Σ_b Σ_t −log p_t(label_b) + ζ Σ θ².
public func lstmReferenceForward(
    configuration cfg: SequenceClassifierShape, store: ParameterStore, theta: [Double],
    cubes: [[Double]], labels: [Int]
) -> LSTMReferenceResult {
    func param(_ name: String) -> (offset: Int, shape: [Int]) {
        guard let view = store.view(named: name) else { fatalError("reference: no parameter \(name)") }
        return (view.offset, view.shape)
    }
    // Matrix entry [row, column] of a parameter with shape [rows, columns].
    func entry(_ p: (offset: Int, shape: [Int]), _ row: Int, _ column: Int) -> Double {
        theta[p.offset + row * p.shape[1] + column]
    }
    func sigmoid(_ x: Double) -> Double { 1 / (1 + exp(-x)) }
    func softmax(_ z: [Double]) -> [Double] {
        let m = z.max()!
        let e = z.map { exp($0 - m) }
        let s = e.reduce(0, +)
        return e.map { $0 / s }
    }

    let kb = cfg.branchChannels.count
    let k = cfg.gridSize, s = k * k, h = cfg.hiddenSize, c = cfg.classCount, layers = cfg.layerCount
    let batch = labels.count
    let steps = cubes[0].count / (batch * s * cfg.branchChannels[0])
    let mapCount = cfg.attention == .perBranch ? kb : 1
    // Quadrant rows/columns: for odd K the middle index belongs to both halves.
    let middle = k / 2
    let firstHalf = Array(0..<(k % 2 == 1 ? middle + 1 : middle))
    let secondHalf = Array(middle..<k)
    let quadrants = [(firstHalf, firstHalf), (firstHalf, secondHalf), (secondHalf, firstHalf), (secondHalf, secondHalf)]

    var probabilities = [Double](repeating: 0, count: batch * steps * c)
    var maps = [[Double]](repeating: [Double](repeating: 0, count: batch * steps * s), count: mapCount)
    var crossEntropy = 0.0

    for b in 0..<batch {
        var hidden = [[Double]](repeating: [Double](repeating: 0, count: h), count: layers)
        var cell = [[Double]](repeating: [Double](repeating: 0, count: h), count: layers)
        for t in 0..<steps {
            // Attention from the top layer's h_{t−1}.
            var attention: [[Double]] = []
            for m in 0..<mapCount {
                if cfg.attention == .none {
                    attention.append([Double](repeating: 1 / Double(s), count: s))
                    continue
                }
                let prefix = mapCount == 1 ? "lstm.attention" : "lstm.attention.branch\(m)"
                let w = param("\(prefix).W"), bias = param("\(prefix).b")
                var scores = [Double](repeating: 0, count: s)
                for i in 0..<s {
                    scores[i] = theta[bias.offset + i]
                    for j in 0..<h { scores[i] += hidden[layers - 1][j] * entry(w, j, i) }
                }
                attention.append(softmax(scores))
            }
            for m in 0..<mapCount {
                for i in 0..<s { maps[m][(b * steps + t) * s + i] = attention[m][i] }
            }

            // Spatial pyramid per branch.
            var x: [[Double]] = []
            for branch in 0..<kb {
                let n = cfg.branchChannels[branch]
                let att = attention[mapCount == 1 ? 0 : branch]
                func feature(_ row: Int, _ column: Int, _ channel: Int) -> Double {
                    cubes[branch][(((b * steps + t) * k + row) * k + column) * n + channel]
                }
                var full = [Double](repeating: 0, count: n)
                for row in 0..<k {
                    for column in 0..<k {
                        for ch in 0..<n { full[ch] += att[row * k + column] * feature(row, column, ch) }
                    }
                }
                var xb = full
                if cfg.spatialPyramid {
                    for (rows, columns) in quadrants {
                        var numerator = [Double](repeating: 0, count: n)
                        var mass = 0.0
                        for row in rows {
                            for column in columns {
                                mass += att[row * k + column]
                                for ch in 0..<n { numerator[ch] += att[row * k + column] * feature(row, column, ch) }
                            }
                        }
                        xb += numerator.map { $0 / mass }
                    }
                }
                x.append(xb)
            }

            // Layer 1.
            let hPrevious = hidden[0]
            var gateI = [Double](repeating: 0, count: h), gateF = gateI, gateO = gateI, candidate = gateI
            if cfg.firstLayer == .joint {
                var candidatePre = [Double](repeating: 0, count: h)
                let cellW = param("lstm.joint.W_cell"), cellB = param("lstm.joint.b_cell")
                var cellRowOffset = 0
                var iPre = [Double](repeating: 0, count: h), fPre = iPre, oPre = iPre
                for branch in 0..<kb {
                    let d = x[branch].count
                    let w = param("lstm.joint.branch\(branch).W_sub"), bs = param("lstm.joint.branch\(branch).b_sub")
                    let a = param("lstm.joint.branch\(branch).A"), bb = param("lstm.joint.branch\(branch).B")
                    let cc = param("lstm.joint.branch\(branch).C")
                    // Sub-gates i_tk, f_tk, o_tk = tanh(W x_tk + U h_{t−1} + b): columns g·D + j.
                    var sub = [[Double]](repeating: [Double](repeating: 0, count: d), count: 3)
                    for g in 0..<3 {
                        for j in 0..<d {
                            var z = theta[bs.offset + g * d + j]
                            for q in 0..<d { z += x[branch][q] * entry(w, q, g * d + j) }
                            for q in 0..<h { z += hPrevious[q] * entry(w, d + q, g * d + j) }
                            sub[g][j] = tanh(z)
                        }
                    }
                    for j in 0..<h {
                        for q in 0..<d {
                            iPre[j] += sub[0][q] * entry(a, q, j)
                            fPre[j] += sub[1][q] * entry(bb, q, j)
                            oPre[j] += sub[2][q] * entry(cc, q, j)
                        }
                    }
                    let u = cfg.fusion == .early ? x[branch] : (0..<d).map { x[branch][$0] * sub[0][$0] }
                    for j in 0..<h {
                        for q in 0..<d { candidatePre[j] += u[q] * entry(cellW, cellRowOffset + q, j) }
                    }
                    cellRowOffset += d
                }
                for j in 0..<h {
                    var z = candidatePre[j] + theta[cellB.offset + j]
                    for q in 0..<h { z += hPrevious[q] * entry(cellW, cellRowOffset + q, j) }
                    candidate[j] = tanh(z)
                    gateI[j] = sigmoid(iPre[j])
                    gateF[j] = sigmoid(fPre[j])
                    gateO[j] = sigmoid(oPre[j])
                }
            } else {
                let input = x.flatMap { $0 }
                (gateI, gateF, candidate, gateO) = referenceStandardGates(
                    theta: theta, weights: param("lstm.layer1.W"), bias: param("lstm.layer1.b"),
                    input: input, hPrevious: hPrevious, hidden: h)
            }
            for j in 0..<h {
                cell[0][j] = gateF[j] * cell[0][j] + gateI[j] * candidate[j]
                hidden[0][j] = gateO[j] * tanh(cell[0][j])
            }

            // Layers 2..L.
            for l in 1..<layers {
                let (i, f, g, o) = referenceStandardGates(
                    theta: theta, weights: param("lstm.layer\(l + 1).W"), bias: param("lstm.layer\(l + 1).b"),
                    input: hidden[l - 1], hPrevious: hidden[l], hidden: h)
                for j in 0..<h {
                    cell[l][j] = f[j] * cell[l][j] + i[j] * g[j]
                    hidden[l][j] = o[j] * tanh(cell[l][j])
                }
            }

            // Output.
            let w = param("lstm.output.W"), bias = param("lstm.output.b")
            var logits = [Double](repeating: 0, count: c)
            for j in 0..<c {
                logits[j] = theta[bias.offset + j]
                for q in 0..<h { logits[j] += hidden[layers - 1][q] * entry(w, q, j) }
            }
            let p = softmax(logits)
            for j in 0..<c { probabilities[(b * steps + t) * c + j] = p[j] }
            crossEntropy -= log(p[labels[b]])
        }
    }
    crossEntropy /= Double(batch)
    var penalty = 0.0
    for view in store.views where view.decays {
        for e in view.offset..<(view.offset + view.count) { penalty += theta[e] * theta[e] }
    }
    let loss = crossEntropy + Double(cfg.weightDecay) * penalty
    return LSTMReferenceResult(loss: loss, crossEntropy: crossEntropy, probabilities: probabilities, attention: maps)
}

/// Standard LSTM gates (i, f, g, o) from W [In + H, 4H] (x rows, then h rows) and b [4H].
public func referenceStandardGates(
    theta: [Double], weights: (offset: Int, shape: [Int]), bias: (offset: Int, shape: [Int]),
    input: [Double], hPrevious: [Double], hidden h: Int
) -> ([Double], [Double], [Double], [Double]) {
    let columns = weights.shape[1]
    var z = [Double](repeating: 0, count: 4 * h)
    for j in 0..<(4 * h) {
        z[j] = theta[bias.offset + j]
        for q in 0..<input.count { z[j] += input[q] * theta[weights.offset + q * columns + j] }
        for q in 0..<h { z[j] += hPrevious[q] * theta[weights.offset + (input.count + q) * columns + j] }
    }
    let sigmoid = { (v: Double) in 1 / (1 + exp(-v)) }
    return ((0..<h).map { sigmoid(z[$0]) }, (0..<h).map { sigmoid(z[h + $0]) },
            (0..<h).map { tanh(z[2 * h + $0]) }, (0..<h).map { sigmoid(z[3 * h + $0]) })
}
