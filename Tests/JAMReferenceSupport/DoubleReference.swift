// shapes: the same channels-last layouts as the layers; everything here is an independent,
// straightforward Double implementation used as the reference for the Float layers.
import Foundation
import JAMCore
import JAMNN

// MARK: - Data

/// Deterministic test data in [lo, hi).
public func randomArray(_ count: Int, seed: UInt64, in range: ClosedRange<Double> = -1...1) -> [Float] {
    var random = SplitMix64(seed: seed)
    return (0..<count).map { _ in Float(range.lowerBound + (range.upperBound - range.lowerBound) * random.nextUniform()) }
}

public func doubles(_ a: [Float]) -> [Double] { a.map(Double.init) }

/// A normalised random attention map per step, `[steps, locations]`, each row summing to 1.
public func randomAttentionTargets(steps: Int, locations: Int, seed: UInt64) -> [Float] {
    let raw = randomArray(steps * locations, seed: seed, in: 0.1...1)
    return (0..<steps).flatMap { t -> [Float] in
        let row = raw[(t * locations)..<((t + 1) * locations)]
        let sum = row.reduce(0, +)
        return row.map { $0 / sum }
    }
}

/// Central differences of `f` at `x` for the coordinates `indices` (all by default), step `h`.
public func centralDifferences(
    _ x: [Double], indices: [Int]? = nil, h: Double = 1e-5, _ f: ([Double]) -> Double
) -> [Double] {
    var probe = x
    return (indices ?? Array(x.indices)).map { i in
        probe[i] = x[i] + h
        let up = f(probe)
        probe[i] = x[i] - h
        let down = f(probe)
        probe[i] = x[i]
        return (up - down) / (2 * h)
    }
}

/// `Σ r·y`: turns a layer output into a scalar whose gradient w.r.t. y is `r`.
public func dot(_ r: [Double], _ y: [Double]) -> Double {
    precondition(r.count == y.count)
    var s = 0.0
    for i in r.indices { s += r[i] * y[i] }
    return s
}

// MARK: - Layers

/// The output lengths and the zeros before each axis of the reference convolutions, worked out
/// from the padding modes here (not taken from `Conv3DGeometry`, whose arithmetic is under test).
func referenceConvExtents(_ g: Conv3DGeometry) -> (To: Int, Ho: Int, Wo: Int, pt: Int, ph: Int, pw: Int) {
    func before(_ k: Int, _ p: ConvPadding) -> Int { p == .same ? (k - 1) / 2 : 0 }
    let (kt, kh, kw) = (g.kernelTime, g.kernelHeight, g.kernelWidth)
    return (g.temporalPadding == .same ? g.time : g.time - kt + 1,
            g.spatialPadding == .same ? g.height : g.height - kh + 1,
            g.spatialPadding == .same ? g.width : g.width - kw + 1,
            before(kt, g.temporalPadding), before(kh, g.spatialPadding), before(kw, g.spatialPadding))
}

/// Naive 3D convolution, one loop per index, explicit bounds checks for the padding.
public func referenceConv3D(
    _ x: [Double], _ kernel: [Double], _ bias: [Double], _ g: Conv3DGeometry
) -> [Double] {
    let (B, T, H, W, Ci, Co) = (g.batch, g.time, g.height, g.width, g.inputChannels, g.outputChannels)
    let (kt, kh, kw) = (g.kernelTime, g.kernelHeight, g.kernelWidth)
    let (To, Ho, Wo, pt, ph, pw) = referenceConvExtents(g)
    var y = [Double](repeating: 0, count: B * To * Ho * Wo * Co)
    for b in 0..<B { for t in 0..<To { for h in 0..<Ho { for w in 0..<Wo { for co in 0..<Co {
        var s = bias[co]
        for dt in 0..<kt { for dh in 0..<kh { for dw in 0..<kw {
            let (ti, hi, wi) = (t + dt - pt, h + dh - ph, w + dw - pw)
            if ti < 0 || ti >= T || hi < 0 || hi >= H || wi < 0 || wi >= W { continue }
            for ci in 0..<Ci {
                s += x[(((b * T + ti) * H + hi) * W + wi) * Ci + ci]
                    * kernel[(((dt * kh + dh) * kw + dw) * Ci + ci) * Co + co]
            }
        } } }
        y[(((b * To + t) * Ho + h) * Wo + w) * Co + co] = s
    } } } } }
    return y
}

/// The input and kernel gradients of `referenceConv3D` for output gradient `r`, by the same
/// naive loops run backwards: every product `x·k` that made an output sends `r` to both factors.
public func referenceConv3DGradients(
    _ x: [Double], _ kernel: [Double], _ r: [Double], _ g: Conv3DGeometry
) -> (input: [Double], kernel: [Double]) {
    let (B, T, H, W, Ci, Co) = (g.batch, g.time, g.height, g.width, g.inputChannels, g.outputChannels)
    let (kt, kh, kw) = (g.kernelTime, g.kernelHeight, g.kernelWidth)
    let (To, Ho, Wo, pt, ph, pw) = referenceConvExtents(g)
    var dx = [Double](repeating: 0, count: x.count)
    var dk = [Double](repeating: 0, count: kernel.count)
    for b in 0..<B { for t in 0..<To { for h in 0..<Ho { for w in 0..<Wo { for co in 0..<Co {
        let dy = r[(((b * To + t) * Ho + h) * Wo + w) * Co + co]
        for dt in 0..<kt { for dh in 0..<kh { for dw in 0..<kw {
            let (ti, hi, wi) = (t + dt - pt, h + dh - ph, w + dw - pw)
            if ti < 0 || ti >= T || hi < 0 || hi >= H || wi < 0 || wi >= W { continue }
            for ci in 0..<Ci {
                let xi = (((b * T + ti) * H + hi) * W + wi) * Ci + ci
                let ki = (((dt * kh + dh) * kw + dw) * Ci + ci) * Co + co
                dx[xi] += dy * kernel[ki]
                dk[ki] += dy * x[xi]
            }
        } } }
    } } } } }
    return (dx, dk)
}

public func referenceReLU(_ x: [Double]) -> [Double] { x.map { max(0, $0) } }

/// `[N, H, W, C] → [N, H/2, W/2, C]`, max over each 2×2 window.
public func referenceMaxPool(_ x: [Double], frames: Int, height: Int, width: Int, channels: Int) -> [Double] {
    let (ho, wo) = (height / 2, width / 2)
    var y = [Double](repeating: 0, count: frames * ho * wo * channels)
    for n in 0..<frames { for i in 0..<ho { for j in 0..<wo { for c in 0..<channels {
        var m = -Double.infinity
        for dy in 0..<2 { for dx in 0..<2 {
            m = max(m, x[((n * height + 2 * i + dy) * width + 2 * j + dx) * channels + c])
        } }
        y[((n * ho + i) * wo + j) * channels + c] = m
    } } } }
    return y
}

/// `[N, P, C] → [N, C]`.
public func referenceSpatialMean(_ x: [Double], frames: Int, positions: Int, channels: Int) -> [Double] {
    var y = [Double](repeating: 0, count: frames * channels)
    for n in 0..<frames { for p in 0..<positions { for c in 0..<channels {
        y[n * channels + c] += x[(n * positions + p) * channels + c] / Double(positions)
    } } }
    return y
}

/// `[M, In] · [In, Out] + [Out]`.
public func referenceFullyConnected(_ x: [Double], _ w: [Double], _ b: [Double], rows: Int, inputs: Int, outputs: Int) -> [Double] {
    var y = [Double](repeating: 0, count: rows * outputs)
    for r in 0..<rows { for o in 0..<outputs {
        var s = b[o]
        for i in 0..<inputs { s += x[r * inputs + i] * w[i * outputs + o] }
        y[r * outputs + o] = s
    } }
    return y
}

/// `Σ_rows −log softmax(z)[label]`, computed directly as `−log(exp(z_y) / Σ exp(z))` in Double.
public func referenceCrossEntropy(_ z: [Double], labels: [Int], classes: Int) -> Double {
    var loss = 0.0
    for (r, label) in labels.enumerated() {
        let row = Array(z[(r * classes)..<((r + 1) * classes)])
        let sum = row.reduce(0) { $0 + exp($1) }
        loss -= log(exp(row[label]) / sum)
    }
    return loss
}

/// `λ Σ_t Σ_i (s_i/Σ_j s_j − att_i)²` with `s_i = Σ_k x_{t,i,k}`.
public func referenceAttentionTerm(_ x: [Double], _ att: [Double], weight: Double, steps: Int, locations: Int, channels: Int) -> Double {
    var loss = 0.0
    for t in 0..<steps {
        var s = [Double](repeating: 0, count: locations)
        for i in 0..<locations { for k in 0..<channels { s[i] += x[(t * locations + i) * channels + k] } }
        let total = s.reduce(0, +)
        for i in 0..<locations {
            let p = total > 0 ? s[i] / total : 0
            loss += (p - att[t * locations + i]) * (p - att[t * locations + i])
        }
    }
    return weight * loss
}

/// Adaptive average pooling with PyTorch's bins, spelled out with floor/ceil on Doubles.
public func referenceAdaptivePool(_ x: [Double], frames: Int, height: Int, width: Int, channels: Int, outputHeight: Int, outputWidth: Int) -> [Double] {
    var y = [Double](repeating: 0, count: frames * outputHeight * outputWidth * channels)
    for n in 0..<frames { for i in 0..<outputHeight { for j in 0..<outputWidth {
        let y0 = Int((Double(i * height) / Double(outputHeight)).rounded(.down))
        let y1 = Int((Double((i + 1) * height) / Double(outputHeight)).rounded(.up))
        let x0 = Int((Double(j * width) / Double(outputWidth)).rounded(.down))
        let x1 = Int((Double((j + 1) * width) / Double(outputWidth)).rounded(.up))
        for c in 0..<channels {
            var s = 0.0
            for yy in y0..<y1 { for xx in x0..<x1 { s += x[((n * height + yy) * width + xx) * channels + c] } }
            y[((n * outputHeight + i) * outputWidth + j) * channels + c] = s / Double((y1 - y0) * (x1 - x0))
        }
    } } }
    return y
}
