// shapes: kernel HWIO [3, 3, Cin, Cout] → transformed U [36, Cin, Cout]; one input tile 6×6×C
// (row stride given) → V [36 planes, ..., C]; M [36 planes, ..., Cout] → one output tile 4×4×Cout.
// Transform position p = 6·i + j for row i, column j of the 6×6 transform domain.
// Tests: Tests/JAMTensorTests/Convolution3x3Tests.swift (private and shared Winograd schemes and the fused max-pool against naive loops), Tests/JAMModelTests/VGG16FeatureExtractorTests.swift, Tests/JAMNNTests/WinogradConv3DTests.swift (the backward transforms, through WinogradConv3D)

// Winograd F(4×4, 3×3) for cross-correlation (Lavin & Gray, "Fast Algorithms for Convolutional
// Neural Networks", 2016): Y = Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A with
//
//   Bᵀ = | 4  0 -5  0  1  0 |   G = | 1/4     0     0 |   Aᵀ = | 1  1  1  1  1  0 |
//        | 0 -4 -4  1  1  0 |       | -1/6 -1/6  -1/6 |        | 0  1 -1  2 -2  0 |
//        | 0  4 -4 -1  1  0 |       | -1/6  1/6  -1/6 |        | 0  1  1  4  4  0 |
//        | 0 -2 -1  2  1  0 |       | 1/24 1/12   1/6 |        | 0  1 -1  8 -8  1 |
//        | 0  2 -1 -2  1  0 |       | 1/24 -1/12  1/6 |
//        | 0  4  0 -5  0  1 |       | 0       0     1 |
//
// The elementwise product summed over input channels is, per position, a GEMM. The transforms
// work on vectors of channels (channels last makes each tile element a contiguous vector).

typealias WinogradVector = SIMD8<Float>
let winogradLanes = 8

/// G's rows, (g0, g1, g2), in Double (each converts to the nearest Float exactly as the same
/// fraction written in Float would).
let winogradG: [(Double, Double, Double)] = [
    (1.0 / 4, 0, 0),
    (-1.0 / 6, -1.0 / 6, -1.0 / 6),
    (-1.0 / 6, 1.0 / 6, -1.0 / 6),
    (1.0 / 24, 1.0 / 12, 1.0 / 6),
    (1.0 / 24, -1.0 / 12, 1.0 / 6),
    (0, 0, 1),
]

/// U[p, i, o] = (G g Gᵀ)[p] for g = kernel[:, :, i, o]; computed in Double, stored as Float.
/// `table` is G by rows: `winogradG` (6 rows, U `[36, Cin, Cout]`) or `winogradF6G` (8 rows,
/// U `[64, Cin, Cout]`, WinogradF6x6.swift).
func winogradTransformKernel(_ u: UnsafeMutablePointer<Float>, _ kernel: UnsafePointer<Float>,
                             inputChannels cin: Int, outputChannels cout: Int,
                             g table: [(Double, Double, Double)] = winogradG) {
    let plane = cin * cout
    let n = table.count
    table.withUnsafeBufferPointer { g in
        withUnsafeTemporaryAllocation(of: Double.self, capacity: 9 + 3 * n) { scratch in
            let w = scratch.baseAddress!, gw = w + 9  // g [3, 3] and G g [n, 3]
            for i in 0..<cin {
                for o in 0..<cout {
                    for k in 0..<9 { w[k] = Double(kernel[k &* plane &+ i &* cout &+ o]) }
                    for r in 0..<n {
                        for c in 0..<3 {
                            gw[r &* 3 &+ c] = g[r].0 * w[c] + g[r].1 * w[3 &+ c] + g[r].2 * w[6 &+ c]
                        }
                    }
                    for r in 0..<n {
                        let row = gw + r &* 3
                        for c in 0..<n {
                            let value = row[0] * g[c].0 + row[1] * g[c].1 + row[2] * g[c].2
                            u[(r &* n &+ c) &* plane &+ i &* cout &+ o] = Float(value)
                        }
                    }
                }
            }
        }
    }
}

/// `lanes` floats `stride` apart from `p` as one vector (the rest zero).
@inline(__always)
func loadLanes(_ p: UnsafePointer<Float>, _ lanes: Int, stride: Int = 1) -> WinogradVector {
    if lanes == winogradLanes && stride == 1 { return UnsafeRawPointer(p).loadUnaligned(as: WinogradVector.self) }
    var v = WinogradVector()
    for l in 0..<lanes { v[l] = p[l &* stride] }
    return v
}

/// The first `lanes` values of `v` to `lanes` floats `stride` apart from `p`.
@inline(__always)
func storeLanes(_ v: WinogradVector, _ p: UnsafeMutablePointer<Float>, _ lanes: Int, stride: Int = 1) {
    if lanes == winogradLanes && stride == 1 {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: WinogradVector.self)
        return
    }
    for l in 0..<lanes { p[l &* stride] = v[l] }
}

/// The six values of one transform row to positions p, p + 1, …, p + 5 (`planeStride` apart).
@inline(__always)
private func storeSixPlanes(
    _ t: (WinogradVector, WinogradVector, WinogradVector, WinogradVector, WinogradVector, WinogradVector),
    _ out: UnsafeMutablePointer<Float>, planeStride: Int, _ lanes: Int
) {
    storeLanes(t.0, out, lanes)
    storeLanes(t.1, out + planeStride, lanes)
    storeLanes(t.2, out + 2 &* planeStride, lanes)
    storeLanes(t.3, out + 3 &* planeStride, lanes)
    storeLanes(t.4, out + 4 &* planeStride, lanes)
    storeLanes(t.5, out + 5 &* planeStride, lanes)
}

/// Bᵀ applied to six values along one axis, with shared subexpressions.
@inline(__always)
private func inputTransform(
    _ d0: WinogradVector, _ d1: WinogradVector, _ d2: WinogradVector,
    _ d3: WinogradVector, _ d4: WinogradVector, _ d5: WinogradVector
) -> (WinogradVector, WinogradVector, WinogradVector, WinogradVector, WinogradVector, WinogradVector) {
    let four: Float = 4, five: Float = 5, two: Float = 2
    let a = d4 - four * d2, b = d3 - four * d1
    let c = d4 - d2, e = two * (d3 - d1)
    return (four * d0 - five * d2 + d4, a + b, a - b, c + e, c - e, four * d1 - five * d3 + d5)
}

/// Aᵀ applied to six values along one axis.
@inline(__always)
private func outputTransform(
    _ m0: WinogradVector, _ m1: WinogradVector, _ m2: WinogradVector,
    _ m3: WinogradVector, _ m4: WinogradVector, _ m5: WinogradVector
) -> (WinogradVector, WinogradVector, WinogradVector, WinogradVector) {
    let two: Float = 2, four: Float = 4, eight: Float = 8
    let sum12 = m1 + m2, diff12 = m1 - m2, sum34 = m3 + m4, diff34 = m3 - m4
    return (m0 + sum12 + sum34, diff12 + two * diff34, sum12 + four * sum34, diff12 + eight * diff34 + m5)
}

/// V = Bᵀ d B for one 6×6 tile `d` (element (i, j) at `d + i·rowStride + j·channels`), written
/// to `v + p·planeStride` for the 36 positions p; all channels, 8 at a time.
@inline(__always)
func winogradInputTile(
    _ v: UnsafeMutablePointer<Float>, planeStride: Int,
    _ d: UnsafePointer<Float>, rowStride: Int, channels: Int,
    temp: UnsafeMutablePointer<WinogradVector>
) {
    var c = 0
    while c < channels {
        let lanes = min(winogradLanes, channels &- c)
        // Columns: temp[i, j] = (Bᵀ d)[i, j].
        for j in 0..<6 {
            let column = d + (j &* channels &+ c)
            let t = inputTransform(
                loadLanes(column, lanes), loadLanes(column + rowStride, lanes),
                loadLanes(column + 2 &* rowStride, lanes), loadLanes(column + 3 &* rowStride, lanes),
                loadLanes(column + 4 &* rowStride, lanes), loadLanes(column + 5 &* rowStride, lanes))
            temp[j] = t.0; temp[6 &+ j] = t.1; temp[12 &+ j] = t.2
            temp[18 &+ j] = t.3; temp[24 &+ j] = t.4; temp[30 &+ j] = t.5
        }
        // Rows: V[i, k] = Σ_j (Bᵀ d)[i, j] B[j, k].
        for i in 0..<6 {
            let row = temp + i &* 6
            let t = inputTransform(row[0], row[1], row[2], row[3], row[4], row[5])
            storeSixPlanes(t, v + ((i &* 6) &* planeStride &+ c), planeStride: planeStride, lanes)
        }
        c &+= winogradLanes
    }
}

/// The 4×4 output tile Aᵀ M A + bias (then ReLU) of channels [c, c + lanes) into
/// `temp[0..<16]` (row-major 4×4); nil `bias` adds nothing.
@inline(__always)
private func outputTileValues(
    _ m: UnsafePointer<Float>, planeStride: Int, bias: UnsafePointer<Float>?, channel c: Int,
    lanes: Int, relu: Bool, temp: UnsafeMutablePointer<WinogradVector>
) {
    // Rows: s[a, j] = Σ_b M[a, b] A[b, j], kept in temp[16 + 4a + j].
    let s = temp + 16
    for a in 0..<6 {
        let row = m + ((a &* 6) &* planeStride &+ c)
        let t = outputTransform(
            loadLanes(row, lanes), loadLanes(row + planeStride, lanes), loadLanes(row + 2 &* planeStride, lanes),
            loadLanes(row + 3 &* planeStride, lanes), loadLanes(row + 4 &* planeStride, lanes),
            loadLanes(row + 5 &* planeStride, lanes))
        s[a &* 4] = t.0; s[a &* 4 &+ 1] = t.1; s[a &* 4 &+ 2] = t.2; s[a &* 4 &+ 3] = t.3
    }
    let b = bias.map { loadLanes($0 + c, lanes) } ?? WinogradVector()
    for j in 0..<4 {
        let t = outputTransform(s[j], s[4 &+ j], s[8 &+ j], s[12 &+ j], s[16 &+ j], s[20 &+ j])
        var y0 = t.0 + b, y1 = t.1 + b, y2 = t.2 + b, y3 = t.3 + b
        if relu {
            y0.replace(with: 0, where: y0 .< 0); y1.replace(with: 0, where: y1 .< 0)
            y2.replace(with: 0, where: y2 .< 0); y3.replace(with: 0, where: y3 .< 0)
        }
        temp[j] = y0; temp[4 &+ j] = y1; temp[8 &+ j] = y2; temp[12 &+ j] = y3
    }
}

/// The output tile values of either size into `temp` (row-major side×side): `outputTileValues`
/// for side 4, `outputTileValuesF6` for side 6.
@inline(__always)
private func outputTileValues(
    side: Int, _ m: UnsafePointer<Float>, planeStride: Int, bias: UnsafePointer<Float>?, channel c: Int,
    lanes: Int, relu: Bool, temp: UnsafeMutablePointer<WinogradVector>
) {
    if side == 6 {
        outputTileValuesF6(m, planeStride: planeStride, bias: bias, channel: c, lanes: lanes, relu: relu, temp: temp)
    } else {
        outputTileValues(m, planeStride: planeStride, bias: bias, channel: c, lanes: lanes, relu: relu, temp: temp)
    }
}

/// Writes the side×side output tile (side 4: F(4×4, 3×3); 6: F(6×6, 3×3)) whose top-left pixel
/// is (y0, x0) into `frame` `[height, width, C]`, clipped at the image edge. `m + p·planeStride`
/// holds the tile's channels at position p.
@inline(__always)
func winogradOutputTile(
    side: Int, _ frame: UnsafeMutablePointer<Float>, height: Int, width: Int, y0: Int, x0: Int,
    _ m: UnsafePointer<Float>, planeStride: Int, bias: UnsafePointer<Float>, channels: Int,
    relu: Bool, temp: UnsafeMutablePointer<WinogradVector>
) {
    let rows = min(side, height &- y0), columns = min(side, width &- x0)
    var c = 0
    while c < channels {
        let lanes = min(winogradLanes, channels &- c)
        outputTileValues(side: side, m, planeStride: planeStride, bias: bias, channel: c, lanes: lanes, relu: relu,
                         temp: temp)
        for i in 0..<rows {
            let out = frame + (((y0 &+ i) &* width &+ x0) &* channels &+ c)
            for j in 0..<columns { storeLanes(temp[i &* side &+ j], out + j &* channels, lanes) }
        }
        c &+= winogradLanes
    }
}

/// Like `winogradOutputTile`, then the 2×2 stride-2 max-pool: writes the (side/2)×(side/2)
/// pooled tile whose top-left pooled pixel is (y0, x0) into `frame` `[height, width, C]` (the
/// pooled sizes). Bias and ReLU are applied after the max, to a quarter of the values: the same
/// bits, since rounding x + b is monotonic in x and ReLU is monotonic, so both commute with the max.
@inline(__always)
func winogradOutputTilePooled(
    side: Int, _ frame: UnsafeMutablePointer<Float>, height: Int, width: Int, y0: Int, x0: Int,
    _ m: UnsafePointer<Float>, planeStride: Int, bias: UnsafePointer<Float>, channels: Int,
    relu: Bool, temp: UnsafeMutablePointer<WinogradVector>
) {
    let half = side / 2
    let rows = min(half, height &- y0), columns = min(half, width &- x0)
    guard rows > 0, columns > 0 else { return }
    var c = 0
    while c < channels {
        let lanes = min(winogradLanes, channels &- c)
        outputTileValues(side: side, m, planeStride: planeStride, bias: nil, channel: c, lanes: lanes, relu: false,
                         temp: temp)
        let b = loadLanes(bias + c, lanes)
        for i in 0..<rows {
            let out = frame + (((y0 &+ i) &* width &+ x0) &* channels &+ c)
            for j in 0..<columns {
                let top = 2 &* side &* i &+ 2 &* j
                var pooled = maximum(maximum(temp[top], temp[top &+ 1]),
                                     maximum(temp[top &+ side], temp[top &+ side &+ 1])) + b
                if relu { pooled.replace(with: 0, where: pooled .< 0) }
                storeLanes(pooled, out + j &* channels, lanes)
            }
        }
        c &+= winogradLanes
    }
}

/// Lane-wise maximum (the generic `pointwiseMax` was not inlined here).
@inline(__always)
func maximum(_ a: WinogradVector, _ b: WinogradVector) -> WinogradVector {
    a.replacing(with: b, where: a .< b)
}

// MARK: - Backward transforms (the adjoints, for the kernel gradient)

/// Like `winogradOutputTile` without bias or ReLU, adding the clipped 4×4 tile onto `frame`
/// instead of overwriting it (input gradients accumulate).
@inline(__always)
func winogradOutputTileAdding(
    _ frame: UnsafeMutablePointer<Float>, height: Int, width: Int, y0: Int, x0: Int,
    _ m: UnsafePointer<Float>, planeStride: Int, channels: Int, temp: UnsafeMutablePointer<WinogradVector>
) {
    let rows = min(4, height &- y0), columns = min(4, width &- x0)
    var c = 0
    while c < channels {
        let lanes = min(winogradLanes, channels &- c)
        outputTileValues(m, planeStride: planeStride, bias: nil, channel: c, lanes: lanes, relu: false, temp: temp)
        for i in 0..<rows {
            let out = frame + (((y0 &+ i) &* width &+ x0) &* channels &+ c)
            for j in 0..<columns {
                let target = out + j &* channels
                storeLanes(loadLanes(target, lanes) + temp[i &* 4 &+ j], target, lanes)
            }
        }
        c &+= winogradLanes
    }
}

/// A applied to four values along one axis (A = (Aᵀ)ᵀ, 6×4): the adjoint of `outputTransform`.
@inline(__always)
private func outputTransformAdjoint(
    _ y0: WinogradVector, _ y1: WinogradVector, _ y2: WinogradVector, _ y3: WinogradVector
) -> (WinogradVector, WinogradVector, WinogradVector, WinogradVector, WinogradVector, WinogradVector) {
    let two: Float = 2, four: Float = 4, eight: Float = 8
    let even = y0 + y2, odd = y1 + y3
    let evenScaled = y0 + four * y2, oddScaled = two * y1 + eight * y3
    return (y0, even + odd, even - odd, evenScaled + oddScaled, evenScaled - oddScaled, y3)
}

/// dM = A dY Aᵀ for the 4×4 output-gradient tile whose top-left pixel is (y0, x0) of `frame`
/// `[height, width, C]` (zero beyond the image edge), written to `dm + p·planeStride` for the 36
/// positions p. The adjoint of `winogradOutputTile`'s transform: it carries dLoss/dY back to the
/// transform domain, where dU_p = Σ_tiles V_pᵀ · dM_p.
@inline(__always)
func winogradOutputGradientTile(
    _ dm: UnsafeMutablePointer<Float>, planeStride: Int,
    _ frame: UnsafePointer<Float>, height: Int, width: Int, y0: Int, x0: Int, channels: Int,
    temp: UnsafeMutablePointer<WinogradVector>
) {
    let rows = min(4, height &- y0), columns = min(4, width &- x0)
    var c = 0
    while c < channels {
        let lanes = min(winogradLanes, channels &- c)
        // Load the clipped tile into temp[0..<16] (row-major 4×4), zeros outside.
        for i in 0..<4 {
            for j in 0..<4 {
                temp[i &* 4 &+ j] = i < rows && j < columns
                    ? loadLanes(frame + (((y0 &+ i) &* width &+ x0 &+ j) &* channels &+ c), lanes) : WinogradVector()
            }
        }
        // Columns: s[a, j] = Σ_i A[a, i] dY[i, j], in temp[16 + 4a + j].
        let s = temp + 16
        for j in 0..<4 {
            let t = outputTransformAdjoint(temp[j], temp[4 &+ j], temp[8 &+ j], temp[12 &+ j])
            s[j] = t.0; s[4 &+ j] = t.1; s[8 &+ j] = t.2; s[12 &+ j] = t.3; s[16 &+ j] = t.4; s[20 &+ j] = t.5
        }
        // Rows: dM[a, b] = Σ_j s[a, j] A[b, j].
        for a in 0..<6 {
            let row = s + a &* 4
            let t = outputTransformAdjoint(row[0], row[1], row[2], row[3])
            storeSixPlanes(t, dm + ((a &* 6) &* planeStride &+ c), planeStride: planeStride, lanes)
        }
        c &+= winogradLanes
    }
}
