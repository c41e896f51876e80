import JAMEval
import JAMTestSupport
import Testing

@Suite struct AttentionOverlayTests {
    @Test func bilinearUpsamplingMatchesHandValues() throws {
        // K = 2 → 4×4: sample positions u, v = clamp((i + 0.5)·2/4 − 0.5) = 0, 0.25, 0.75, 1.
        // Map rows [1, 5], [2, 0]. At (x = 1, y = 2): u = 0.25, v = 0.75:
        //   top = 1·0.75 + 5·0.25 = 2, bottom = 2·0.75 + 0·0.25 = 1.5, value = 2·0.25 + 1.5·0.75 = 1.625.
        let up = try upsampleBilinear(map: [1, 5, 2, 0], gridSize: 2, width: 4, height: 4)
        expectClose([up[2 * 4 + 1]], [1.625], "(1, 2)")
        // Corners hold the corner cells; (x = 2, y = 0): u = 0.75, v = 0 → 1·0.25 + 5·0.75 = 4.
        expectClose([up[0], up[3], up[12], up[15], up[2]], [1, 5, 2, 0, 4], "corners and (2, 0)")

        // K = 3 → 7: x = 2 samples u = 2.5·3/7 − 0.5 = 4/7; x = 3 the centre cell exactly.
        // Middle map row [0, 7, 14] at v = 1: 0·(3/7) + 7·(4/7) = 4.
        let up3 = try upsampleBilinear(map: [9, 9, 9, 0, 7, 14, 9, 9, 9], gridSize: 3, width: 7, height: 7)
        expectClose([up3[3 * 7 + 2], up3[3 * 7 + 3]], [4, 7], rtol: 1e-6, "K = 3, row 3")
    }

    @Test func jetColourMapEnds() {
        #expect(jetColor(0) == RGB(0, 0, 128))
        #expect(jetColor(0.5) == RGB(128, 255, 128))
        #expect(jetColor(1) == RGB(128, 0, 0))
    }

    @Test func heatBlendOverUniformFrame() throws {
        // A 1×1 map is the maximum everywhere: jet(1) = (128, 0, 0) over grey 100, half and half.
        let frame = RGBImage(width: 5, height: 3, background: RGB(100, 100, 100))
        let overlay = try attentionOverlay(frame: frame, attention: [0.3], gridSize: 1, style: .heat(opacity: 0.5))
        #expect(overlay == RGBImage(width: 5, height: 3, background: RGB(114, 50, 50)))
    }

    @Test func brightnessFollowsUpsampledAttention() throws {
        // Map [0, 0; 0, 1] over grey 200 with floor 0.25: gain 0.25 + 0.75·a.
        let frame = RGBImage(width: 4, height: 4, background: RGB(200, 200, 200))
        let overlay = try attentionOverlay(frame: frame, attention: [0, 0, 0, 1], gridSize: 2, style: .brightness(floor: 0.25))
        #expect(overlay[3, 3] == RGB(200, 200, 200))  // a = 1
        #expect(overlay[0, 0] == RGB(50, 50, 50))     // a = 0
        // (1, 1): u = v = 0.25, a = 0.0625, 200·0.296875 = 59.375.
        #expect(overlay[1, 1] == RGB(59, 59, 59))
    }

    @Test func stripLaysFramesOutInColumns() throws {
        let frames = (0..<3).map { RGBImage(width: 8, height: 8, background: RGB(UInt8($0 * 50), 0, 0)) }
        let maps = [[Float]](repeating: [0.25, 0.25, 0.25, 0.25], count: 3)
        let strip = try attentionStrip(frames: frames, attention: maps, gridSize: 2)
        #expect(strip.width == 3 * 8 + 2 * 4)
        #expect(strip.height == 8 + 4 + 8)
        #expect(strip[12, 12] == RGB(50, 0, 0))  // second column, raw frame row
        #expect(throws: (any Error).self) { try attentionStrip(frames: frames, attention: [], gridSize: 2) }
        #expect(throws: (any Error).self) { try attentionOverlay(frame: frames[0], attention: [1, 2, 3], gridSize: 2) }
    }
}
