// shapes: kernel HWIO [3, 3, Cin, Cout] → transformed U [64, Cin, Cout]; one input tile 8×8×C
// (row stride given) → V [64 planes, ..., C]; M [64 planes, ..., Cout] → one output tile 6×6×Cout.
// Transform position p = 8·i + j for row i, column j of the 8×8 transform domain.
// Tests: Tests/JAMTensorTests/Convolution3x3Tests.swift (both schemes, every padding case, odd sizes and channel counts against a Double reference), Tests/JAMModelTests/VGG16FeatureExtractorTests.swift (the whole network with F(6×6, 3×3) layers)

// Winograd F(6×6, 3×3) for cross-correlation, interpolation points 0, ±1, ±2, ±1/2, ∞ (Lavin &
// Gray 2016; the matrices of the `wincnn` generator, also NNPACK's): Y = Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A
//
//   Bᵀ = | 1   0    -21/4   0     21/4   0    -1  0 |   G = | 1      0      0    |
//        | 0   1     1     -17/4 -17/4   1     1  0 |       | -2/9  -2/9   -2/9  |
//        | 0  -1     1      17/4 -17/4  -1     1  0 |       | -2/9   2/9   -2/9  |
//        | 0   1/2   1/4   -5/2  -5/4    2     1  0 |       | 1/90   1/45   2/45 |
//        | 0  -1/2   1/4    5/2  -5/4   -2     1  0 |       | 1/90  -1/45   2/45 |
//        | 0   2     4     -5/2  -5      1/2   1  0 |       | 32/45  16/45  8/45 |
//        | 0  -2     4      5/2  -5     -1/2   1  0 |       | 32/45 -16/45  8/45 |
//        | 0  -1     0      21/4   0   -21/4   0  1 |       | 0      0      1    |
//
//   Aᵀ = | 1  1  1   1    1    1     1     0 |
//        | 0  1 -1   2   -2   1/2  -1/2    0 |
//        | 0  1  1   4    4   1/4   1/4    0 |
//        | 0  1 -1   8   -8   1/8  -1/8    0 |
//        | 0  1  1  16   16   1/16  1/16   0 |
//        | 0  1 -1  32  -32   1/32 -1/32   1 |
//
// 64 multiplies per 6×6 output tile and channel pair instead of 324 (5.06× fewer; F(4×4, 3×3):
// 4×), and V and M hold 64/36 = 1.78 floats per output pixel instead of 36/16 = 2.25. The price
// is accuracy: the larger constants (up to 32 and 21/4) give rounding errors about 2-3× those of
// F(4×4, 3×3) in the tests (7e-6 to 1.1e-5 of a layer's largest output instead of 4e-6 to 8e-6;
// 1.0e-5 after VGG16's 13 layers instead of 2.9e-6).

/// G's rows for F(6×6, 3×3), in Double (U is computed in Double and rounded once).
let winogradF6G: [(Double, Double, Double)] = [
    (1, 0, 0),
    (-2.0 / 9, -2.0 / 9, -2.0 / 9),
    (-2.0 / 9, 2.0 / 9, -2.0 / 9),
    (1.0 / 90, 1.0 / 45, 2.0 / 45),
    (1.0 / 90, -1.0 / 45, 2.0 / 45),
    (32.0 / 45, 16.0 / 45, 8.0 / 45),
    (32.0 / 45, -16.0 / 45, 8.0 / 45),
    (0, 0, 1),
]

typealias EightVectors = (WinogradVector, WinogradVector, WinogradVector, WinogradVector,
                          WinogradVector, WinogradVector, WinogradVector, WinogradVector)

/// Bᵀ applied to eight values along one axis, with NNPACK's shared subexpressions.
@inline(__always)
private func inputTransformF6(
    _ d0: WinogradVector, _ d1: WinogradVector, _ d2: WinogradVector, _ d3: WinogradVector,
    _ d4: WinogradVector, _ d5: WinogradVector, _ d6: WinogradVector, _ d7: WinogradVector
) -> EightVectors {
    let c525: Float = 5.25, c425: Float = 4.25, c125: Float = 1.25, c25: Float = 2.5
    let quarter: Float = 0.25, half: Float = 0.5, two: Float = 2, four: Float = 4
    let w0 = d0 - d6 + c525 * (d4 - d2)
    let w7 = d7 - d1 + c525 * (d3 - d5)
    let t1 = d2 + d6 - c425 * d4, t2 = d1 + d5 - c425 * d3
    let t3 = d6 + quarter * d2 - c125 * d4, t4 = half * d1 - c25 * d3 + two * d5
    let t5 = d6 + four * (d2 - c125 * d4), t6 = two * d1 - c25 * d3 + half * d5
    return (w0, t1 + t2, t1 - t2, t3 + t4, t3 - t4, t5 + t6, t5 - t6, w7)
}

/// Aᵀ applied to eight values along one axis.
@inline(__always)
private func outputTransformF6(
    _ m0: WinogradVector, _ m1: WinogradVector, _ m2: WinogradVector, _ m3: WinogradVector,
    _ m4: WinogradVector, _ m5: WinogradVector, _ m6: WinogradVector, _ m7: WinogradVector
) -> (WinogradVector, WinogradVector, WinogradVector, WinogradVector, WinogradVector, WinogradVector) {
    let a12 = m1 + m2, s12 = m1 - m2, a34 = m3 + m4, s34 = m3 - m4, a56 = m5 + m6, s56 = m5 - m6
    let two: Float = 2, four: Float = 4, eight: Float = 8, sixteen: Float = 16, thirtyTwo: Float = 32
    let half: Float = 0.5, quarter: Float = 0.25, eighth: Float = 0.125
    let sixteenth: Float = 0.0625, thirtySecond: Float = 0.03125
    return (m0 + a12 + a34 + a56,
            s12 + two * s34 + half * s56,
            a12 + four * a34 + quarter * a56,
            s12 + eight * s34 + eighth * s56,
            a12 + sixteen * a34 + sixteenth * a56,
            s12 + thirtyTwo * s34 + thirtySecond * s56 + m7)
}

/// V = Bᵀ d B for one 8×8 tile `d` (element (i, j) at `d + i·rowStride + j·channels`), written
/// to `v + p·planeStride` for the 64 positions p; all channels, 8 at a time. `temp`: 64 vectors.
@inline(__always)
func winogradF6InputTile(
    _ v: UnsafeMutablePointer<Float>, planeStride: Int,
    _ d: UnsafePointer<Float>, rowStride: Int, channels: Int,
    temp: UnsafeMutablePointer<WinogradVector>
) {
    var c = 0
    while c < channels {
        let lanes = min(winogradLanes, channels &- c)
        // Columns: temp[i, j] = (Bᵀ d)[i, j].
        for j in 0..<8 {
            let column = d + (j &* channels &+ c)
            let t = inputTransformF6(
                loadLanes(column, lanes), loadLanes(column + rowStride, lanes),
                loadLanes(column + 2 &* rowStride, lanes), loadLanes(column + 3 &* rowStride, lanes),
                loadLanes(column + 4 &* rowStride, lanes), loadLanes(column + 5 &* rowStride, lanes),
                loadLanes(column + 6 &* rowStride, lanes), loadLanes(column + 7 &* rowStride, lanes))
            temp[j] = t.0; temp[8 &+ j] = t.1; temp[16 &+ j] = t.2; temp[24 &+ j] = t.3
            temp[32 &+ j] = t.4; temp[40 &+ j] = t.5; temp[48 &+ j] = t.6; temp[56 &+ j] = t.7
        }
        // Rows: V[i, k] = Σ_j (Bᵀ d)[i, j] B[j, k].
        for i in 0..<8 {
            let row = temp + i &* 8
            let t = inputTransformF6(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7])
            let out = v + ((i &* 8) &* planeStride &+ c)
            storeLanes(t.0, out, lanes)
            storeLanes(t.1, out + planeStride, lanes)
            storeLanes(t.2, out + 2 &* planeStride, lanes)
            storeLanes(t.3, out + 3 &* planeStride, lanes)
            storeLanes(t.4, out + 4 &* planeStride, lanes)
            storeLanes(t.5, out + 5 &* planeStride, lanes)
            storeLanes(t.6, out + 6 &* planeStride, lanes)
            storeLanes(t.7, out + 7 &* planeStride, lanes)
        }
        c &+= winogradLanes
    }
}

/// The 6×6 output tile Aᵀ M A + bias (then ReLU) of channels [c, c + lanes) into
/// `temp[0..<36]` (row-major 6×6); nil `bias` adds nothing. `temp`: 84 vectors.
@inline(__always)
func outputTileValuesF6(
    _ m: UnsafePointer<Float>, planeStride: Int, bias: UnsafePointer<Float>?, channel c: Int,
    lanes: Int, relu: Bool, temp: UnsafeMutablePointer<WinogradVector>
) {
    // Rows: s[a, j] = Σ_b M[a, b] A[b, j], kept in temp[36 + 6a + j].
    let s = temp + 36
    for a in 0..<8 {
        let row = m + ((a &* 8) &* planeStride &+ c)
        let t = outputTransformF6(
            loadLanes(row, lanes), loadLanes(row + planeStride, lanes), loadLanes(row + 2 &* planeStride, lanes),
            loadLanes(row + 3 &* planeStride, lanes), loadLanes(row + 4 &* planeStride, lanes),
            loadLanes(row + 5 &* planeStride, lanes), loadLanes(row + 6 &* planeStride, lanes),
            loadLanes(row + 7 &* planeStride, lanes))
        let r = s + a &* 6
        r[0] = t.0; r[1] = t.1; r[2] = t.2; r[3] = t.3; r[4] = t.4; r[5] = t.5
    }
    let b = bias.map { loadLanes($0 + c, lanes) } ?? WinogradVector()
    for j in 0..<6 {
        let t = outputTransformF6(s[j], s[6 &+ j], s[12 &+ j], s[18 &+ j], s[24 &+ j], s[30 &+ j],
                                  s[36 &+ j], s[42 &+ j])
        var y0 = t.0 + b, y1 = t.1 + b, y2 = t.2 + b, y3 = t.3 + b, y4 = t.4 + b, y5 = t.5 + b
        if relu {
            y0.replace(with: 0, where: y0 .< 0); y1.replace(with: 0, where: y1 .< 0)
            y2.replace(with: 0, where: y2 .< 0); y3.replace(with: 0, where: y3 .< 0)
            y4.replace(with: 0, where: y4 .< 0); y5.replace(with: 0, where: y5 .< 0)
        }
        temp[j] = y0; temp[6 &+ j] = y1; temp[12 &+ j] = y2
        temp[18 &+ j] = y3; temp[24 &+ j] = y4; temp[30 &+ j] = y5
    }
}
