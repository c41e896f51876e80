// shapes: cube x [S, L, N] (S = B·T steps, L = K·K locations, N channels, non-negative),
// target att [S, L] (the LSTM's attention; a constant), shares p [S, L], totals [S].

/// The attention-regularisation term of the 3D-convnet loss (paper eq. 1, docs/DESIGN.md §4):
///
///     p_{t,i} = Σ_k x_{t,i,k} / Σ_j Σ_k x_{t,j,k}
///     loss    = λ Σ_t Σ_i (p_{t,i} − att_{t,i})²
///
/// It pulls the share of the cube's total activation at each location towards the attention
/// map the LSTM produced for that step. No gradient flows into `att`.
///
/// All-zero steps: when a step's total `Σ_j Σ_k x` is at most `epsilon` the share is undefined
/// (and its gradient, which scales as 1/total, would explode), so that step gets `p = 0`,
/// contributes `λ Σ_i att_i²` to the loss, and passes no gradient. After a ReLU this only
/// happens when every unit of the step is dead, where the ReLU would block the gradient anyway.
public enum CubeAttentionRegularizer {
    /// Totals at or below this are treated as an all-zero step.
    public static let defaultEpsilon: Float = 1e-6

    /// Returns `weight · Σ_t Σ_i (p − att)²` and saves `shares` and `totals` for backward.
    ///
    /// - Parameters:
    ///   - shares: `[S, L]`, overwritten with `p`.
    ///   - totals: `[S]`, overwritten with `Σ_j Σ_k x` per step.
    ///   - cube: `[S, L, N]`, non-negative.
    ///   - target: `[S, L]`, the attention maps (each normally sums to 1).
    ///   - weight: λ (times any batch normalisation the caller wants).
    public static func forward(
        shares: UnsafeMutablePointer<Float>, totals: UnsafeMutablePointer<Float>,
        cube: UnsafePointer<Float>, target: UnsafePointer<Float>, weight: Float,
        steps: Int, locations: Int, channels: Int, epsilon: Float = defaultEpsilon
    ) -> Double {
        var loss = 0.0
        for t in 0..<steps {
            let p = shares + t &* locations
            let a = target + t &* locations
            var total = 0.0
            for i in 0..<locations {
                let x = cube + (t &* locations &+ i) &* channels
                var s = 0.0
                for k in 0..<channels { s += Double(x[k]) }
                p[i] = Float(s)
                total += s
            }
            totals[t] = Float(total)
            let valid = totals[t] > epsilon
            var stepLoss = 0.0
            for i in 0..<locations {
                p[i] = valid ? Float(Double(p[i]) / total) : 0
                let d = Double(p[i]) - Double(a[i])
                stepLoss += d * d
            }
            loss += stepLoss
        }
        return Double(weight) * loss
    }

    /// Accumulates dLoss/dx: for a step with total `S`, every channel at location `i` gets
    /// `(2λ/S) · ((p_i − att_i) − Σ_j (p_j − att_j) p_j)` (from `∂p_j/∂s_i = (δ_ij − p_j)/S`).
    ///
    /// - Parameters:
    ///   - cubeGradient: `[S, L, N]`, accumulated.
    ///   - shares, totals: from `forward`.
    ///   - target: `[S, L]`.
    public static func backward(
        cubeGradient: UnsafeMutablePointer<Float>,
        shares: UnsafePointer<Float>, totals: UnsafePointer<Float>,
        target: UnsafePointer<Float>, weight: Float,
        steps: Int, locations: Int, channels: Int, epsilon: Float = defaultEpsilon
    ) {
        for t in 0..<steps where totals[t] > epsilon {
            let p = shares + t &* locations
            let a = target + t &* locations
            var centre = 0.0
            for j in 0..<locations { centre += (Double(p[j]) - Double(a[j])) * Double(p[j]) }
            let scale = 2 * Double(weight) / Double(totals[t])
            for i in 0..<locations {
                let g = Float(scale * (Double(p[i]) - Double(a[i]) - centre))
                let dx = cubeGradient + (t &* locations &+ i) &* channels
                for k in 0..<channels { dx[k] += g }
            }
        }
    }
}
