// shapes: K = grid size (the cube is K×K locations), S = K·K, N = channels; a location's index
// is i = row·K + column (the `[K, K, N]` channels-last layout of one cube step). One pyramid row
// maps attention `[S]` and features `[S, N]` to `[5N]` = [full, q1, q2, q3, q4].

/// The spatial pyramid of paper §3.4 / docs/DESIGN.md §4: the attention-weighted sum over the whole grid,
/// followed by the attention-weighted means of the four quadrants.
///
///     full = Σ_i att_i X_i,    q = Σ_{i∈q} att_i X_i / Σ_{i∈q} att_i
///
/// Quadrants, in output order: q1 top-left, q2 top-right, q3 bottom-left, q4 bottom-right. The
/// top (left) half is rows (columns) `0 ..< (K+1)/2`, the bottom (right) half `K/2 ..< K`; for even
/// K the halves are disjoint, for odd K both contain the middle row (column) K/2, so the
/// quadrants share it (K = 11: rows 0…5 and 5…10). Each branch's LSTM input is therefore 5·N.
/// With `pyramid: false` only `full` is produced (N values), as in Sharma et al.
public enum SpatialPyramid {
    /// The two halves of `0..<gridSize` (shared middle for odd sizes), see the type's documentation.
    public static func halves(gridSize: Int) -> (first: Range<Int>, second: Range<Int>) {
        (0..<((gridSize + 1) / 2), (gridSize / 2)..<gridSize)
    }

    /// Rows and columns of q1…q4 (top-left, top-right, bottom-left, bottom-right).
    public static func quadrants(gridSize: Int) -> [(rows: Range<Int>, columns: Range<Int>)] {
        let (first, second) = halves(gridSize: gridSize)
        return [(first, first), (first, second), (second, first), (second, second)]
    }

    /// The per-branch LSTM input size: 5·N with the pyramid, N without.
    public static func outputSize(channels: Int, pyramid: Bool) -> Int {
        pyramid ? 5 * channels : channels
    }

    // MARK: Array API (batches of rows)

    /// Forward over `rows` independent rows.
    ///
    /// - `attention`: `[rows, S]`, positive weights (a softmax or uniform map).
    /// - `features`: `[rows, S, N]`.
    /// - Returns `[rows, 5N]` (`[rows, N]` without the pyramid).
    public static func forward(
        attention: [Float], features: [Float], gridSize: Int, channels: Int, pyramid: Bool = true
    ) -> [Float] {
        let s = gridSize * gridSize
        let rows = attention.count / s
        precondition(attention.count == rows * s && features.count == rows * s * channels,
                     "SpatialPyramid.forward: attention \(attention.count) / features \(features.count) do not fit K=\(gridSize), N=\(channels)")
        let width = outputSize(channels: channels, pyramid: pyramid)
        var output = [Float](repeating: 0, count: rows * width)
        var mass = [Float](repeating: 0, count: 4)
        attention.withUnsafeBufferPointer { a in
            features.withUnsafeBufferPointer { x in
                output.withUnsafeMutableBufferPointer { out in
                    mass.withUnsafeMutableBufferPointer { m in
                        for r in 0..<rows {
                            forwardRow(output: out.baseAddress! + r * width, quadrantMass: m.baseAddress!,
                                       attention: a.baseAddress! + r * s,
                                       features: x.baseAddress! + r * s * channels,
                                       gridSize: gridSize, channels: channels, pyramid: pyramid)
                        }
                    }
                }
            }
        }
        return output
    }

    /// Backward over `rows` rows: dLoss/dattention `[rows, S]` and dLoss/dfeatures `[rows, S, N]`
    /// from dLoss/doutput `[rows, 5N]`.
    public static func backward(
        outputGradient: [Float], attention: [Float], features: [Float],
        gridSize: Int, channels: Int, pyramid: Bool = true
    ) -> (attention: [Float], features: [Float]) {
        let s = gridSize * gridSize
        let rows = attention.count / s
        let width = outputSize(channels: channels, pyramid: pyramid)
        precondition(outputGradient.count == rows * width && features.count == rows * s * channels,
                     "SpatialPyramid.backward: sizes do not fit K=\(gridSize), N=\(channels)")
        var output = [Float](repeating: 0, count: width)
        var mass = [Float](repeating: 0, count: 4)
        var dAttention = [Float](repeating: 0, count: rows * s)
        var dFeatures = [Float](repeating: 0, count: rows * s * channels)
        attention.withUnsafeBufferPointer { a in
            features.withUnsafeBufferPointer { x in
                outputGradient.withUnsafeBufferPointer { g in
                    for r in 0..<rows {
                        let ar = a.baseAddress! + r * s
                        let xr = x.baseAddress! + r * s * channels
                        output.withUnsafeMutableBufferPointer { out in
                            mass.withUnsafeMutableBufferPointer { m in
                                forwardRow(output: out.baseAddress!, quadrantMass: m.baseAddress!,
                                           attention: ar, features: xr,
                                           gridSize: gridSize, channels: channels, pyramid: pyramid)
                                dAttention.withUnsafeMutableBufferPointer { da in
                                    dFeatures.withUnsafeMutableBufferPointer { dx in
                                        backwardRow(
                                            attentionGradient: da.baseAddress! + r * s,
                                            featureGradient: dx.baseAddress! + r * s * channels,
                                            outputGradient: g.baseAddress! + r * width,
                                            output: out.baseAddress!, quadrantMass: m.baseAddress!,
                                            attention: ar, features: xr,
                                            gridSize: gridSize, channels: channels, pyramid: pyramid)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return (dAttention, dFeatures)
    }

    // MARK: Row kernels

    /// One row forward.
    ///
    /// - `output`: `[5N]` (or `[N]`), overwritten.
    /// - `quadrantMass`: `[4]` out, Σ_{i∈q} att_i (kept for backward); unused without the pyramid.
    /// - `attention`: `[S]`; `features`: `[S, N]`.
    @inline(__always)
    public static func forwardRow(
        output: UnsafeMutablePointer<Float>, quadrantMass: UnsafeMutablePointer<Float>,
        attention: UnsafePointer<Float>, features: UnsafePointer<Float>,
        gridSize: Int, channels: Int, pyramid: Bool
    ) {
        let k = gridSize, n = channels
        output.update(repeating: 0, count: pyramid ? 5 * n : n)
        let (first, second) = halves(gridSize: k)
        if pyramid { quadrantMass.update(repeating: 0, count: 4) }
        for row in 0..<k {
            for column in 0..<k {
                let i = row &* k &+ column
                let a = attention[i]
                let x = features + i &* n
                for c in 0..<n { output[c] += a * x[c] }
                guard pyramid else { continue }
                for q in 0..<4 where (q < 2 ? first : second).contains(row)
                    && (q % 2 == 0 ? first : second).contains(column) {
                    let out = output + (q &+ 1) &* n
                    for c in 0..<n { out[c] += a * x[c] }
                    quadrantMass[q] += a
                }
            }
        }
        guard pyramid else { return }
        for q in 0..<4 {
            let out = output + (q + 1) * n
            let inverse = 1 / quadrantMass[q]
            for c in 0..<n { out[c] *= inverse }
        }
    }

    /// One row backward; ACCUMULATES into `attentionGradient` `[S]` and, when given,
    /// `featureGradient` `[S, N]`.
    ///
    /// With e_i = g_full + Σ_{q∋i} g_q / m_q (g = `outputGradient`, m = `quadrantMass`):
    /// d att_i = e_i · X_i − Σ_{q∋i} (g_q · q) / m_q, because ∂q/∂att_i = (X_i − q) / m_q;
    /// dX_i = att_i e_i.
    @inline(__always)
    public static func backwardRow(
        attentionGradient: UnsafeMutablePointer<Float>, featureGradient: UnsafeMutablePointer<Float>?,
        outputGradient: UnsafePointer<Float>, output: UnsafePointer<Float>,
        quadrantMass: UnsafePointer<Float>, attention: UnsafePointer<Float>,
        features: UnsafePointer<Float>, gridSize: Int, channels: Int, pyramid: Bool
    ) {
        let k = gridSize, n = channels
        let (first, second) = halves(gridSize: k)
        // Per quadrant: g_q / m_q (`scaled`, [4, N]) and (g_q · q) / m_q (`dots`, [4]).
        let workspace = UnsafeMutablePointer<Float>.allocate(capacity: 6 * n + 4)
        defer { workspace.deallocate() }
        let effective = workspace, scaled = workspace + n, dots = workspace + 5 * n
        if pyramid {
            for q in 0..<4 {
                let inverse = 1 / quadrantMass[q]
                let g = outputGradient + (q + 1) * n
                let out = output + (q + 1) * n
                var dot: Float = 0
                for c in 0..<n {
                    scaled[q &* n &+ c] = g[c] * inverse
                    dot += g[c] * out[c]
                }
                dots[q] = dot * inverse
            }
        }
        for row in 0..<k {
            for column in 0..<k {
                let i = row &* k &+ column
                effective.update(from: outputGradient, count: n)
                var correction: Float = 0
                if pyramid {
                    for q in 0..<4 where (q < 2 ? first : second).contains(row)
                        && (q % 2 == 0 ? first : second).contains(column) {
                        let s = scaled + q &* n
                        for c in 0..<n { effective[c] += s[c] }
                        correction += dots[q]
                    }
                }
                let x = features + i &* n
                var dot: Float = 0
                for c in 0..<n { dot += effective[c] * x[c] }
                attentionGradient[i] += dot - correction
                if let featureGradient {
                    let a = attention[i]
                    let dx = featureGradient + i &* n
                    for c in 0..<n { dx[c] += a * effective[c] }
                }
            }
        }
    }
}
