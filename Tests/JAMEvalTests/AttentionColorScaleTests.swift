import Foundation
import JAMEval
import JAMTestSupport
import Testing

@Suite struct AttentionColorScaleTests {
    /// The nearly uniform map the issue met: 36 locations, weights 0.00819 … 0.00836.
    static let nearlyUniform: [Float] = (0..<36).map { 0.00819 + 0.00017 * Float($0) / 35 }

    @Test func endsMapToTheFirstAndLastColours() throws {
        let scale = try #require(AttentionColorScale(spanning: Self.nearlyUniform + [.nan]))
        #expect(scale.low == Self.nearlyUniform.min()! && scale.high == Self.nearlyUniform.max()!)
        #expect(scale.color(scale.low) == jetColor(0) && scale.color(scale.high) == jetColor(1))
        #expect(scale.color(scale.low) == RGB(0, 0, 128) && scale.color(scale.high) == RGB(128, 0, 0))
        // Linear in between; outside the range clamped.
        expectClose([scale.fraction((scale.low + scale.high) / 2)], [0.5], rtol: 1e-4, "middle")
        #expect(scale.fraction(1) == 1 && scale.fraction(0) == 0)
        // A uniform map has no colour that stands out: every location in the middle.
        #expect(AttentionColorScale(low: 0.25, high: 0.25).fraction(0.25) == 0.5)
        #expect(AttentionColorScale(spanning: [.nan]) == nil)
    }

    @Test func rangeTextTellsANearlyUniformMapApart() throws {
        let scale = try #require(AttentionColorScale(spanning: Self.nearlyUniform))
        #expect(scale.labels == ("0.00819", "0.00836"))
        let text = scale.describe(locations: 36)
        #expect(text.contains("0.00819 (dark blue) to 0.00836 (dark red)"))
        #expect(text.contains("1/36 = 0.0278"))
        #expect(text.contains("Nearly uniform") && text.contains("2.0%"))
        // A peaked map is not called nearly uniform; close ends get more digits.
        #expect(!AttentionColorScale(low: 0.001, high: 0.5).describe(locations: 36).contains("Nearly uniform"))
        #expect(AttentionColorScale(low: 0.123451, high: 0.123459).labels == ("0.12345", "0.12346"))
    }

    @Test func colourBarShowsTheMapAndTheRange() throws {
        let scale = AttentionColorScale(low: 0.00819, high: 0.00836)
        let svg = colorBar(scale: scale, title: "attention weight")
        #expect(svg.hasPrefix("<svg xmlns=\"http://www.w3.org/2000/svg\""))
        #expect(svg.contains(">0.00819</text>") && svg.contains(">0.00836</text>"))
        #expect(svg.contains(">\(scale.label((Double(scale.low) + Double(scale.high)) / 2))</text>"), "the middle")
        // The gradient runs from the first colour to the last.
        let stops = try NSRegularExpression(pattern: "stop-color=\"(#[0-9a-f]{6})\"")
            .matches(in: svg, range: NSRange(svg.startIndex..., in: svg))
            .map { String(svg[Range($0.range(at: 1), in: svg)!]) }
        #expect(stops.first == jetColor(0).hex && stops.last == jetColor(1).hex && stops.count == 11)
    }

    @Test func aNearlyUniformMapIsNotPaintedSolid() throws {
        // 2×2 map, nearly uniform; per-frame 0..max painted every pixel near the top colour.
        let map: [Float] = [0.2495, 0.2495, 0.2505, 0.2505]
        let frame = RGBImage(width: 4, height: 4, background: RGB(100, 100, 100))
        let scale = try #require(AttentionColorScale(spanning: map))
        let overlay = try attentionOverlay(frame: frame, attention: map, gridSize: 2, style: .heat(opacity: 0.5),
                                           colorScale: scale)
        // Top rows hold the minimum (jet(0) = (0, 0, 128)), bottom rows the maximum (128, 0, 0).
        #expect(overlay[0, 0] == RGB(50, 50, 114) && overlay[3, 3] == RGB(114, 50, 50))
        let solid = try attentionOverlay(frame: frame, attention: map, gridSize: 2, style: .heat(opacity: 0.5))
        #expect(solid[0, 0].r > 110 && solid[0, 0].b == 50, "0..max paints the minimum red too: \(solid[0, 0])")
    }
}
