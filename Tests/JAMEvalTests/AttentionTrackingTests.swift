import JAMCore
import JAMEval
import Testing

@Suite struct AttentionTrackingTests {
    /// Hand-worked: a 160×120 frame on a 4×4 grid, stretched: cells are 40 px wide and 30 px tall.
    @Test func cellsTheBoxOverlaps() {
        // x 30..<90 overlaps columns 0, 1, 2 (0..<40, 40..<80, 80..<120); y 0..<30 only row 0.
        #expect(AttentionTracking.cells(box: [30, 0, 90, 30], width: 160, height: 120, resize: .stretch, grid: 4) == [0, 1, 2])
        // A box ending exactly on a cell edge does not reach the next cell.
        #expect(AttentionTracking.cells(box: [40, 30, 80, 60], width: 160, height: 120, resize: .stretch, grid: 4) == [5])
        // The bottom-right corner.
        #expect(AttentionTracking.cells(box: [150, 110, 160, 120], width: 160, height: 120, resize: .stretch, grid: 4) == [15])
        // Centre crop keeps x 20..<140 (the central 120×120): x 20..<50 is column 0 (30 px per cell) and
        // column 1 starts at x 50.
        #expect(AttentionTracking.cells(box: [20, 0, 50, 30], width: 160, height: 120, resize: .centerCrop, grid: 4) == [0])
        #expect(AttentionTracking.cells(box: [20, 0, 51, 30], width: 160, height: 120, resize: .centerCrop, grid: 4) == [0, 1])
        // Outside the crop: clamped to the border cell.
        #expect(AttentionTracking.cells(box: [0, 0, 10, 10], width: 160, height: 120, resize: .centerCrop, grid: 4) == [0])
        // An empty box: the cell of its corner.
        #expect(AttentionTracking.cells(box: [85, 65, 85, 65], width: 160, height: 120, resize: .stretch, grid: 4) == [10])
    }

    @Test func scoreIsTheMassOnTheObjectAgainstItsShareOfTheGrid() {
        // 2×2 grid on an 80×80 frame; the object sits in the top-left cell in frame 0 and the
        // bottom-right one in frame 2. Steps read frames 0 and 2.
        let track = ObjectTrack(width: 80, height: 80, frames: [
            .init(center: [20, 20], box: [10, 10, 30, 30]),
            .init(center: [40, 40], box: [30, 30, 50, 50]),
            .init(center: [60, 60], box: [50, 50, 70, 70]),
        ])
        let following: [Float] = [0.7, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.7]
        let s = AttentionTracking.score(maps: following, frameIndex: [0, 2], track: track, resize: .stretch, grid: 2)
        #expect(s.steps == 2 && abs(s.mass - 0.7) < 1e-6 && abs(s.baseline - 0.25) < 1e-12)
        #expect(abs(s.ratio - 2.8) < 1e-5)
        // A map that stays top-left misses the object in frame 2.
        let staying: [Float] = [0.7, 0.1, 0.1, 0.1, 0.7, 0.1, 0.1, 0.1]
        let t = AttentionTracking.score(maps: staying, frameIndex: [0, 2], track: track, resize: .stretch, grid: 2)
        #expect(abs(t.mass - 0.4) < 1e-6)
        // Uniform attention scores exactly the baseline; frame 1's box covers all four cells.
        let uniform = [Float](repeating: 0.25, count: 12)
        let u = AttentionTracking.score(maps: uniform, frameIndex: [0, 1, 2], track: track, resize: .stretch, grid: 2)
        #expect(abs(u.ratio - 1) < 1e-6 && abs(u.baseline - (0.25 + 1 + 0.25) / 3) < 1e-12)
        // Steps whose frame the track lacks are not counted; scores add.
        let v = AttentionTracking.score(maps: following, frameIndex: [0, 9], track: track, resize: .stretch, grid: 2)
        #expect(v.steps == 1)
        #expect((s + v).steps == 3)
    }

    /// The box in the S×S frame: stretched, each axis scales on its own; centre-cropped, the
    /// crop's origin comes off first. Then drawn as an outline.
    @Test func boxesLandOnTheResizedFrameAndAreOutlined() {
        #expect(AttentionTracking.frameBox([40, 30, 80, 60], width: 160, height: 120, resize: .stretch, side: 96) == [24, 24, 48, 48])
        // Crop keeps x 20..<140: x 20 → 0, 80 → 48 (× 96/120); y unchanged but scaled.
        #expect(AttentionTracking.frameBox([20, 30, 80, 60], width: 160, height: 120, resize: .centerCrop, side: 96) == [0, 24, 48, 48])
        #expect(AttentionTracking.frameBox([0, 0, 160, 120], width: 160, height: 120, resize: .centerCrop, side: 96) == [0, 0, 96, 96])
        var image = RGBImage(width: 6, height: 5, background: RGB(0, 0, 0))
        image.strokeRectangle([1, 1, 5, 4], color: RGB(255, 255, 255))
        let white = (0..<5).map { y in (0..<6).map { x in image.pixels[(y * 6 + x) * 3] == 255 ? "#" : "." }.joined() }
        #expect(white == ["......", ".####.", ".#..#.", ".####.", "......"])
    }
}
