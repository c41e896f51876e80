// shapes: one video's attention maps [T, K·K] (softmax weights over the K² locations, each row
//         sums to 1); a colour bar is an SVG document (text).
import Foundation

/// The colour scale of one video's attention pictures: `low` is painted in the first colour of
/// the jet map (dark blue), `high` in the last (dark red), linearly between.
///
/// The report gives every video its own scale, the min..max of all its maps, and prints the
/// range beside a colour bar: a map that is nearly uniform (0.00819–0.00836, where uniform is
/// 1/K²) then shows its small differences *and* says how small they are, instead of being
/// painted solid red as a per-frame 0..max scale did.
public struct AttentionColorScale: Sendable, Equatable {
    public var low: Float
    public var high: Float

    public init(low: Float, high: Float) {
        (self.low, self.high) = (low, high)
    }

    /// The scale spanning every finite value of `values` (a video's maps, `[T, K·K]` flattened);
    /// nil when there is none.
    public init?(spanning values: [Float]) {
        let finite = values.filter(\.isFinite)
        guard let low = finite.min(), let high = finite.max() else { return nil }
        self.init(low: low, high: high)
    }

    /// Where `value` falls on the scale, clamped to [0, 1]. A degenerate scale (every value
    /// equal) puts everything in the middle: no location stands out.
    public func fraction(_ value: Float) -> Double {
        guard high > low else { return 0.5 }
        return min(max(Double(value - low) / Double(high - low), 0), 1)
    }

    /// The colour of `value`: `jetColor(fraction(value))`.
    public func color(_ value: Float) -> RGB { jetColor(fraction(value)) }

    /// `(high − low) / high`: 0 for a uniform map, 1 when some location has no weight at all.
    public var relativeSpread: Double {
        high > 0 ? Double(high - low) / Double(high) : 0
    }

    /// Below this relative spread the report calls a video's maps nearly uniform.
    public static let nearlyUniformSpread = 0.1

    /// The two ends as text, with the fewest significant digits (3 to 7) that tell them apart:
    /// `(0.00819, 0.00836)` → `("0.00819", "0.00836")`.
    public var labels: (low: String, high: String) { (label(Double(low)), label(Double(high))) }

    /// `value` with as many significant digits as `labels` uses.
    public func label(_ value: Double) -> String {
        func text(_ v: Double, _ digits: Int) -> String { String(format: "%.\(digits)g", v) }
        let digits = (3...7).first { text(Double(low), $0) != text(Double(high), $0) } ?? 3
        return text(value, digits)
    }

    /// One sentence for a caption: the range, what uniform would be, and a warning when the
    /// maps are nearly uniform (their colours then exaggerate differences).
    ///
    /// - Parameter locations: K², the number of locations a map weighs (uniform = 1/K²).
    public func describe(locations: Int?) -> String {
        let (lo, hi) = labels
        var text = "Colour scale of this video: \(lo) (dark blue) to \(hi) (dark red), the minimum and maximum "
            + "attention weight over all its frames"
        if let locations, locations > 0 {
            text += String(format: "; a uniform map would be 1/%d = %.3g everywhere", locations, 1 / Double(locations))
        }
        text += "."
        if high == low {
            text += " Every weight is equal: the map is uniform."
        } else if relativeSpread < Self.nearlyUniformSpread {
            text += String(format: " Nearly uniform: the weights differ by only %.1f%% of the largest, so the colours "
                           + "exaggerate small differences.", relativeSpread * 100)
        }
        return text
    }
}

/// A horizontal colour bar for `scale` as an SVG document: the jet map from `low` (left) to
/// `high` (right) with both ends and the middle labelled, and `title` above.
public func colorBar(scale: AttentionColorScale, title: String, width: Int = 420, height: Int = 58) -> String {
    var svg = SVGDocument(width: width, height: height)
    let (left, right, top, barHeight) = (12.0, Double(width) - 12, 22.0, 14.0)
    svg.text(title, x: left, y: 14)
    let stops = (0...10).map { (Double($0) / 10, jetColor(Double($0) / 10).hex) }
    svg.horizontalGradient(left, top, right - left, barHeight, stops: stops)
    let (lo, hi) = scale.labels
    let middle = scale.label((Double(scale.low) + Double(scale.high)) / 2)
    for (text, x, anchor) in [(lo, left, "start"), (middle, (left + right) / 2, "middle"), (hi, right, "end")] {
        svg.line(x, top + barHeight, x, top + barHeight + 4, stroke: "black")
        svg.text(text, x: x, y: top + barHeight + 16, anchor: anchor)
    }
    return svg.finished
}
