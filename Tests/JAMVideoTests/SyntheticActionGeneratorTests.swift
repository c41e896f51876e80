import Foundation
import JAMCore
import JAMTestSupport
import JAMVideo
import Testing

@Suite struct SyntheticActionGeneratorTests {
    // libx264 prints its settings at info level when writing MP4.
    init() { setFFmpegLogLevel(.error) }

    static let generator = try! SyntheticActionGenerator(width: 160, height: 120, frames: 20, fps: 25, classes: 10, seed: 42)

    /// Coverage-weighted centroid of a `[H, W]` mask.
    static func centroid(_ mask: [UInt8], width: Int) -> (x: Double, y: Double) {
        var sx = 0.0, sy = 0.0, s = 0.0
        for (i, m) in mask.enumerated() where m > 0 {
            let w = Double(m)
            sx += w * (Double(i % width) + 0.5)
            sy += w * (Double(i / width) + 0.5)
            s += w
        }
        return (sx / s, sy / s)
    }

    /// Least-squares slope of `values` against 0, 1, 2, ...
    static func slope(_ values: [Double]) -> Double {
        let n = Double(values.count), tMean = (n - 1) / 2, vMean = values.reduce(0, +) / n
        var num = 0.0, den = 0.0
        for (t, v) in values.enumerated() {
            num += (Double(t) - tMean) * (v - vMean)
            den += (Double(t) - tMean) * (Double(t) - tMean)
        }
        return num / den
    }

    @Test func rendersArePureFunctionsOfSeedClassAndVideo() throws {
        let g = Self.generator
        let again = try SyntheticActionGenerator(width: 160, height: 120, frames: 20, fps: 25, classes: 10, seed: 42)
        let a = g.render(classIndex: 3, videoIndex: 5)
        #expect(a.count == 20 && a.allSatisfy { $0.count == 160 * 120 * 3 })
        #expect(again.render(classIndex: 3, videoIndex: 5) == a)
        #expect(g.render(classIndex: 3, videoIndex: 6) != a)
        #expect(g.render(classIndex: 2, videoIndex: 5) != a)
        let otherSeed = try SyntheticActionGenerator(width: 160, height: 120, frames: 20, fps: 25, classes: 10, seed: 43)
        #expect(otherSeed.render(classIndex: 3, videoIndex: 5) != a)
        // The camera jitters: consecutive frames are not mere copies.
        #expect(a[0] != a[1])
    }

    @Test(arguments: VideoCodec.allCases)
    func encodedFilesAreByteIdenticalForTheSameSeed(codec: VideoCodec) throws {
        try withTemporaryDirectory { dir in
            let g = try SyntheticActionGenerator(width: 96, height: 72, frames: 12, classes: 6, seed: 9)
            let h = try SyntheticActionGenerator(width: 96, height: 72, frames: 12, classes: 6, seed: 10)
            let a = dir.appendingPathComponent("a.\(codec.fileExtension)")
            let b = dir.appendingPathComponent("b.\(codec.fileExtension)")
            let c = dir.appendingPathComponent("c.\(codec.fileExtension)")
            try g.writeVideo(classIndex: 4, videoIndex: 1, to: a, codec: codec)
            try g.writeVideo(classIndex: 4, videoIndex: 1, to: b, codec: codec)
            try h.writeVideo(classIndex: 4, videoIndex: 1, to: c, codec: codec)
            let bytesA = try Data(contentsOf: a)
            #expect(bytesA.count > 1000)
            #expect(bytesA == (try Data(contentsOf: b)))
            #expect(bytesA != (try Data(contentsOf: c)))
        }
    }

    /// The object's centroid, measured on the debug masks, travels the class's direction:
    /// x grows for Right, y shrinks for Up (image rows grow downwards), and the other axis stays put.
    @Test func translationClassesMoveTheirWay() {
        let g = Self.generator
        let expected: [String: (Double, Double)] = [
            "MoveRight": (1, 0), "MoveLeft": (-1, 0), "MoveUp": (0, -1), "MoveDown": (0, 1),
            "MoveUpRight": (1, -1), "MoveDownLeft": (-1, 1), "MoveUpLeft": (-1, -1), "MoveDownRight": (1, 1),
        ]
        // Travel is at least 0.4·min(W, H) over the video, split over both axes on diagonals.
        let minimumSpeed = 0.4 * 120 / 2.0.squareRoot() / 19
        for (classIndex, name) in g.classNames.enumerated() where name.hasPrefix("Move") {
            let (ex, ey) = expected[name]!
            for video in 0..<3 {
                let centres = g.renderObjectMasks(classIndex: classIndex, videoIndex: video).map { Self.centroid($0, width: 160) }
                let vx = Self.slope(centres.map(\.x)), vy = Self.slope(centres.map(\.y))
                for (speed, direction, axis) in [(vx, ex, "x"), (vy, ey, "y")] {
                    if direction == 0 {
                        #expect(abs(speed) < 0.3, "\(name) video \(video): \(axis) drifts at \(speed) px/frame")
                    } else {
                        #expect(speed * direction > minimumSpeed * 0.8,
                                "\(name) video \(video): \(axis) moves at \(speed) px/frame, expected sign \(direction)")
                    }
                }
            }
        }
    }

    /// With a motion period P, a long video moves at one pass per P frames: its frame-to-frame
    /// steps equal those of the same video spread over P + 1 frames (P steps), in the class's
    /// direction, with a jump back to the start once per pass; rotation keeps turning.
    @Test func aMotionPeriodKeepsTheSpeedOfAShortVideoInALongOne() throws {
        let short = try SyntheticActionGenerator(width: 160, height: 120, frames: 17, classes: 6, seed: 42)
        let long = try SyntheticActionGenerator(width: 160, height: 120, frames: 40, classes: 6, seed: 42, motionPeriod: 16)
        for (classIndex, video) in [(0, 0), (1, 1), (2, 2), (3, 0)] {
            let name = short.classNames[classIndex]
            let axis = name.contains("Up") || name.contains("Down") ? 1 : 0
            let sign: Double = name.contains("Left") || name.contains("Up") ? -1 : 1
            let a = short.objectTrack(classIndex: classIndex, videoIndex: video).frames.map { $0.center[axis] * sign }
            let b = long.objectTrack(classIndex: classIndex, videoIndex: video).frames.map { $0.center[axis] * sign }
            let shortSpeed = (a.last! - a.first!) / 16
            let steps = zip(b.dropFirst(), b).map { $0 - $1 }
            let jumps = steps.filter { $0 < -8 * shortSpeed }
            let forward = steps.filter { $0 >= -8 * shortSpeed }.sorted()
            #expect(shortSpeed > 2, "\(name): \(shortSpeed) px per frame")
            #expect((2...3).contains(jumps.count), "\(name): \(jumps.count) jumps back in 39 steps of a 16-frame pass")
            // Camera jitter moves single steps by a few pixels; the median step is the speed.
            #expect(abs(forward[forward.count / 2] - shortSpeed) < 0.25 * shortSpeed,
                    "\(name): median step \(forward[forward.count / 2]) px, the 16-step video's \(shortSpeed)")
        }
        #expect(throws: SyntheticActionGenerator.InvalidSettings.self) { try SyntheticActionGenerator(motionPeriod: 1) }
        #expect(throws: SyntheticActionGenerator.InvalidSettings.self) { try SyntheticActionGenerator(motionPeriod: -2) }
    }

    /// The object's centroid circles its pivot: the signed area swept by the centroid path
    /// (shoelace formula, y pointing down) is positive for clockwise on screen, negative for
    /// counterclockwise, and large compared with jitter.
    @Test func rotationClassesTurnTheirWay() {
        let g = Self.generator
        for (classIndex, name) in g.classNames.enumerated() where name.hasPrefix("Rotate") {
            for video in 0..<3 {
                let c = g.renderObjectMasks(classIndex: classIndex, videoIndex: video).map { Self.centroid($0, width: 160) }
                var area = 0.0
                for i in 0..<c.count {
                    let j = (i + 1) % c.count
                    area += c[i].x * c[j].y - c[j].x * c[i].y
                }
                area /= 2
                let expectedSign: Double = name == "RotateClockwise" ? 1 : -1
                #expect(area * expectedSign > 100, "\(name) video \(video): signed area \(area) px²")
            }
        }
    }

    /// The object is drawn where the mask says: covered pixels change when the object moves on,
    /// and it is large enough to survive downscaling to 64 px (dozens of pixels at that size).
    @Test func maskMatchesTheRenderedObject() {
        let g = Self.generator
        let frames = g.render(classIndex: 0, videoIndex: 2)
        let masks = g.renderObjectMasks(classIndex: 0, videoIndex: 2)
        let covered = masks[0].indices.filter { masks[0][$0] == 255 && masks[19][$0] == 0 }
        #expect(covered.count > 100)
        let changed = covered.filter { i in (0..<3).contains { frames[0][3 * i + $0] != frames[19][3 * i + $0] } }
        #expect(Double(changed.count) > 0.95 * Double(covered.count))
        let area = masks[0].filter { $0 > 127 }.count
        let areaAt64 = Double(area) * (64.0 / 160) * (64.0 / 120)
        #expect(areaAt64 > 40, "object covers \(areaAt64) px at 64x64")
    }

    @Test func settingsAreValidated() {
        #expect(throws: SyntheticActionGenerator.InvalidSettings.self) { try SyntheticActionGenerator(classes: 1) }
        #expect(throws: SyntheticActionGenerator.InvalidSettings.self) { try SyntheticActionGenerator(classes: 11) }
        #expect(throws: SyntheticActionGenerator.InvalidSettings.self) { try SyntheticActionGenerator(frames: 1) }
        #expect(throws: SyntheticActionGenerator.InvalidSettings.self) { try SyntheticActionGenerator(width: 8) }
        let six = try? SyntheticActionGenerator(classes: 6)
        #expect(six?.classNames == ["MoveRight", "MoveLeft", "MoveUp", "MoveDown", "RotateClockwise", "RotateCounterclockwise"])
        #expect(SyntheticActionGenerator.motionNames.count == 10 && Set(SyntheticActionGenerator.motionNames).count == 10)
    }

    /// Produced by the pre-unification JAMVideo `SplitMix64.uniform` and `.integer` (seed 42):
    /// every synthetic video's geometry and colours depend on these derivations.
    @Test func randomDerivationsMatchThePreUnificationGenerator() {
        var g = SplitMix64(seed: 42)
        #expect((0..<3).map { _ in g.uniform(0.65, 1) } == [0.9095477075701381, 0.7059686375069221, 0.7475103955892985])
        var h = SplitMix64(seed: 42)
        #expect((0..<8).map { _ in h.integer(2...4) } == [3, 3, 2, 2, 3, 2, 3, 4])
        var k = SplitMix64(seed: 42)
        #expect((0..<8).map { _ in k.integer(-3...3) } == [2, 2, -3, -1, 3, 1, -1, 3])
    }

    /// The track against the rendered masks (an independent route: the box of the pixels the
    /// mask covers at least half, and the mask-weighted centre), and the motion it follows.
    @Test func objectTrackFollowsTheRenderedObject() throws {
        let g = try SyntheticActionGenerator(width: 96, height: 72, frames: 12, classes: 6, seed: 5)
        for (classIndex, videoIndex) in [(0, 0), (1, 2), (2, 1), (4, 0)] {
            let track = g.objectTrack(classIndex: classIndex, videoIndex: videoIndex)
            let masks = g.renderObjectMasks(classIndex: classIndex, videoIndex: videoIndex)
            #expect(track.width == 96 && track.height == 72 && track.frames.count == 12)
            for (t, mask) in masks.enumerated() {
                var (x0, y0, x1, y1) = (Int.max, Int.max, Int.min, Int.min)
                var (sx, sy, w) = (0.0, 0.0, 0.0)
                for y in 0..<72 {
                    for x in 0..<96 where mask[y * 96 + x] > 0 {
                        let a = Double(mask[y * 96 + x]) / 255
                        (sx, sy, w) = (sx + a * (Double(x) + 0.5), sy + a * (Double(y) + 0.5), w + a)
                        if mask[y * 96 + x] >= 128 { (x0, y0, x1, y1) = (min(x0, x), min(y0, y), max(x1, x + 1), max(y1, y + 1)) }
                    }
                }
                #expect(track.frames[t].box == [x0, y0, x1, y1], "class \(classIndex) frame \(t)")
                // The mask is quantised to 8 bits; the centre agrees to a small fraction of a pixel.
                #expect(abs(track.frames[t].center[0] - sx / w) < 0.05 && abs(track.frames[t].center[1] - sy / w) < 0.05)
            }
        }
        // MoveRight (class 0) goes right, MoveLeft (1) left, MoveUp (2) up; RotateClockwise (4) stays put.
        let dx = { (c: Int) in g.objectTrack(classIndex: c, videoIndex: 0).frames.last!.center[0]
            - g.objectTrack(classIndex: c, videoIndex: 0).frames.first!.center[0] }
        #expect(dx(0) > 20 && dx(1) < -20)
        let up = g.objectTrack(classIndex: 2, videoIndex: 0)
        #expect(up.frames.last!.center[1] < up.frames.first!.center[1] - 20)
    }
}

