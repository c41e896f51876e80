// shapes: attention map [K, K] (row-major, row = image y); frame [H, W, 3] RGB24 (paper: H = W = S);
//         upsampled map [H, W].
import JAMCore

/// How an attention map is painted over its frame.
public enum AttentionStyle: Sendable, Equatable {
    /// A jet colour map (blue = little attention, red = most) blended over the frame:
    /// `(1 − opacity)·frame + opacity·jet(a)`.
    case heat(opacity: Double)
    /// As in the paper's Figure 6: brighter where attention is high, darker where low:
    /// `frame·(floor + (1 − floor)·a)`.
    case brightness(floor: Double)

    public static let `default` = AttentionStyle.heat(opacity: 0.5)
}

/// Upsamples a `[K, K]` map to `[height, width]` bilinearly, with pixel centres aligned as in
/// image resizing (align-corners off): output pixel (x, y) samples the map at
/// `u = (x + 0.5)·K/width − 0.5`, `v = (y + 0.5)·K/height − 0.5`, clamped to `[0, K − 1]`, so
/// each map cell covers an equal block of the frame and the edges hold the border cells' values.
public func upsampleBilinear(map: [Float], gridSize: Int, width: Int, height: Int) throws -> [Float] {
    guard gridSize >= 1, map.count == gridSize * gridSize else {
        throw JAMError("attention map has \(map.count) values, expected K·K with K = \(gridSize)")
    }
    guard width >= 1, height >= 1 else { throw JAMError("cannot upsample to \(width)x\(height)") }
    let k = gridSize
    // Per output column (and row): the two source indices and the weight of the second.
    func taps(_ n: Int) -> [(Int, Int, Float)] {
        (0..<n).map { i in
            let u = min(max((Double(i) + 0.5) * Double(k) / Double(n) - 0.5, 0), Double(k - 1))
            let i0 = Int(u.rounded(.down))
            return (i0, min(i0 + 1, k - 1), Float(u - Double(i0)))
        }
    }
    let columns = taps(width), rows = taps(height)
    var result = [Float](repeating: 0, count: width * height)
    for (y, (r0, r1, wy)) in rows.enumerated() {
        for (x, (c0, c1, wx)) in columns.enumerated() {
            let top = map[r0 * k + c0] * (1 - wx) + map[r0 * k + c1] * wx
            let bottom = map[r1 * k + c0] * (1 - wx) + map[r1 * k + c1] * wx
            result[y * width + x] = top * (1 - wy) + bottom * wy
        }
    }
    return result
}

/// The jet colour map at `t` in [0, 1] (clamped): dark blue, blue, cyan, yellow, red, dark red.
public func jetColor(_ t: Double) -> RGB {
    let t = min(max(t, 0), 1)
    func channel(_ centre: Double) -> UInt8 {
        UInt8((min(max(1.5 - abs(4 * t - centre), 0), 1) * 255).rounded())
    }
    return RGB(channel(3), channel(2), channel(1))
}

/// Paints an attention map over its frame (the paper's Figure 6).
///
/// The `[K, K]` map is upsampled to the frame's size (`upsampleBilinear`), placed on
/// `colorScale` (its `low` ↦ 0, its `high` ↦ 1; default: 0 to the map's own maximum, so the most
/// attended cell is full strength), clamped to [0, 1], and painted in `style`.
///
/// - Parameters:
///   - frame: `[H, W, 3]` RGB24 (the paper's S×S frame).
///   - attention: `[K, K]`, row-major, non-negative (softmax weights over the K² locations).
public func attentionOverlay(
    frame: RGBImage, attention: [Float], gridSize: Int,
    style: AttentionStyle = .default, colorScale: AttentionColorScale? = nil
) throws -> RGBImage {
    let upsampled = try upsampleBilinear(map: attention, gridSize: gridSize, width: frame.width, height: frame.height)
    let scale = colorScale ?? AttentionColorScale(low: 0, high: max(attention.max() ?? 0, 0))
    var result = frame
    for i in 0..<(frame.width * frame.height) {
        let a = scale.fraction(upsampled[i])
        let p = i * 3
        switch style {
        case .heat(let opacity):
            let c = jetColor(a)
            for (j, channel) in [c.r, c.g, c.b].enumerated() {
                result.pixels[p + j] = UInt8((Double(frame.pixels[p + j]) * (1 - opacity) + Double(channel) * opacity).rounded())
            }
        case .brightness(let floor):
            let gain = floor + (1 - floor) * a
            for j in 0..<3 { result.pixels[p + j] = UInt8((Double(frame.pixels[p + j]) * gain).rounded()) }
        }
    }
    return result
}

/// Several frames of a video side by side, as in the paper's Figure 6: the top row with their
/// attention painted over, the bottom row (with `includeRawFrames`) the frames as they are. (The
/// report names the frames in the figure's caption, set by the browser.)
///
/// - Parameters:
///   - frames: n frames, each `[H, W, 3]` RGB24, all the same size.
///   - attention: n maps, each `[K, K]`.
///   - colorScale: `nil`: each map from 0 to its own maximum; a scale: one for every frame, so
///     that strengths compare across frames (the report uses the video's min..max, see
///     `AttentionColorScale(spanning:)`).
public func attentionStrip(
    frames: [RGBImage], attention: [[Float]], gridSize: Int,
    style: AttentionStyle = .default, colorScale: AttentionColorScale? = nil,
    includeRawFrames: Bool = true, spacing: Int = 4
) throws -> RGBImage {
    guard !frames.isEmpty, frames.count == attention.count else {
        throw JAMError("an attention strip needs as many maps as frames (at least one), got \(frames.count) frames and \(attention.count) maps")
    }
    let overlays = try zip(frames, attention).map {
        try attentionOverlay(frame: $0, attention: $1, gridSize: gridSize, style: style, colorScale: colorScale)
    }
    var columns: [RGBImage] = []
    for (i, overlay) in overlays.enumerated() {
        var parts = [overlay]
        if includeRawFrames { parts.append(frames[i]) }
        columns.append(RGBImage.verticalStack(parts, spacing: spacing))
    }
    return RGBImage.horizontalStack(columns, spacing: spacing)
}
