// Tests: Tests/JAMEvalTests/AttentionTrackingTests.swift
// shapes: attention maps [T2, K·K] (row-major cells, row r = top to bottom); frame_index [T2].
import Foundation
import JAMCore

/// Does the attention follow the object? For a synthetic dataset, whose object tracks jam-synth
/// writes (`ObjectTrack`), the attention mass each step puts on the grid cells the object's
/// box overlaps, next to the share of the grid those cells are (what a uniform map would put
/// there). A ratio of mass to baseline above 1 means the attention prefers the object.
///
/// The K×K grid is taken to tile the S×S frame evenly (cell (r, c) covers columns
/// [c·S/K, (c+1)·S/K) and likewise rows) — the 3D convnet's cells are about that, within half a
/// cell where spatially valid convolutions trim the border — and the frame is the source frame
/// after `decode.resize`.
public struct AttentionTrackingScore: Sendable, Hashable, Codable {
    /// Sum over steps of the attention on the object's cells.
    public var massSum: Double
    /// Sum over steps of (object's cells) / K².
    public var baselineSum: Double
    /// Steps counted.
    public var steps: Int

    public init(massSum: Double = 0, baselineSum: Double = 0, steps: Int = 0) {
        self.massSum = massSum
        self.baselineSum = baselineSum
        self.steps = steps
    }

    /// Mean attention mass on the object's cells.
    public var mass: Double { steps > 0 ? massSum / Double(steps) : .nan }
    /// Mean share of the grid the object's cells are.
    public var baseline: Double { steps > 0 ? baselineSum / Double(steps) : .nan }
    /// mass / baseline.
    public var ratio: Double { mass / baseline }

    public static func + (a: Self, b: Self) -> Self {
        Self(massSum: a.massSum + b.massSum, baselineSum: a.baselineSum + b.baselineSum, steps: a.steps + b.steps)
    }
}

public enum AttentionTracking {
    /// The part of a `width` × `height` source frame that becomes the S×S frame: origin and extent.
    static func sourceRegion(width: Int, height: Int, resize: ResizeMode) -> (left: Double, top: Double, width: Double, height: Double) {
        switch resize {
        case .stretch: return (0, 0, Double(width), Double(height))
        case .centerCrop:
            let m = Double(min(width, height))
            return ((Double(width) - m) / 2, (Double(height) - m) / 2, m, m)
        }
    }

    /// The cells (row-major indices into K×K) that the box `[x0, y0, x1, y1]` of a
    /// `width` × `height` source frame overlaps once resized to a square; an empty box (or
    /// one outside a centre crop) gives the cell of its corner, clamped into the grid.
    public static func cells(box: [Int], width: Int, height: Int, resize: ResizeMode, grid k: Int) -> [Int] {
        let (left, top, sideX, sideY) = sourceRegion(width: width, height: height, resize: resize)
        func span(_ a: Int, _ b: Int, origin: Double, side: Double) -> ClosedRange<Int> {
            let u0 = (Double(a) - origin) / side * Double(k), u1 = (Double(b) - origin) / side * Double(k)
            let first = min(max(Int(u0.rounded(.down)), 0), k - 1)
            let last = min(max(Int(u1.rounded(.up)) - 1, first), k - 1)
            return first...last
        }
        let columns = span(box[0], box[2], origin: left, side: sideX)
        let rows = span(box[1], box[3], origin: top, side: sideY)
        return rows.flatMap { r in columns.map { c in r * k + c } }
    }

    /// One video's score: every step whose source frame the track has.
    ///
    /// - Parameters:
    ///   - maps: `[T2, K·K]`, each row summing to 1.
    ///   - frameIndex: the source frame of each step.
    public static func score(maps: [Float], frameIndex: [Int32], track: ObjectTrack, resize: ResizeMode,
                             grid k: Int) -> AttentionTrackingScore {
        let cellCount = k * k
        var score = AttentionTrackingScore()
        for (step, frame) in frameIndex.enumerated() where Int(frame) < track.frames.count && frame >= 0 {
            let cells = Self.cells(box: track.frames[Int(frame)].box, width: track.width, height: track.height,
                                   resize: resize, grid: k)
            let row = step * cellCount
            score.massSum += cells.reduce(0.0) { $0 + Double(maps[row + $1]) }
            score.baselineSum += Double(cells.count) / Double(cellCount)
            score.steps += 1
        }
        return score
    }
}

/// One split's attention-tracking score, as metrics.json and the report carry it.
public struct SplitAttentionTracking: Sendable, Hashable, Codable {
    public var split: String
    /// Test videos with a track and attention maps.
    public var videos: Int
    public var score: AttentionTrackingScore

    public init(split: String, videos: Int, score: AttentionTrackingScore) {
        self.split = split
        self.videos = videos
        self.score = score
    }

    /// `split1: 0.412 of the attention on the object's cells, uniform 0.198, ratio 2.08 (36 videos)`.
    public var line: String {
        String(format: "%@: %.3f of the attention on the object's cells, uniform %.3f, ratio %.2f (%d videos)",
               split, score.mass, score.baseline, score.ratio, videos)
    }

    /// The lines jam-eval prints, with the mean ratio over splits when there are several.
    public static func lines(_ splits: [SplitAttentionTracking]) -> [String] {
        var lines = ["attention on the moving object (object tracks of the synthetic dataset):"]
        lines += splits.map { "  " + $0.line }
        if splits.count > 1 {
            let ratio = splits.map(\.score.ratio).reduce(0, +) / Double(splits.count)
            lines.append(String(format: "  mean ratio over splits %.2f", ratio))
        }
        return lines
    }
}

extension AttentionTracking {
    /// The box `[x0, y0, x1, y1]` of a `width` × `height` source frame in the S×S frame it
    /// becomes after `resize`, clamped to the frame.
    public static func frameBox(_ box: [Int], width: Int, height: Int, resize: ResizeMode, side: Int) -> [Int] {
        let (left, top, sideX, sideY) = sourceRegion(width: width, height: height, resize: resize)
        func map(_ v: Int, _ origin: Double, _ extent: Double) -> Int {
            min(max(Int(((Double(v) - origin) / extent * Double(side)).rounded()), 0), side)
        }
        return [map(box[0], left, sideX), map(box[1], top, sideY), map(box[2], left, sideX), map(box[3], top, sideY)]
    }
}

extension RGBImage {
    /// Draws the outline of `[x0, y0, x1, y1]` (x1, y1 exclusive), `thickness` pixels wide, inside it.
    public mutating func strokeRectangle(_ box: [Int], color: RGB, thickness: Int = 1) {
        let (x0, y0) = (max(box[0], 0), max(box[1], 0))
        let (x1, y1) = (min(box[2], width), min(box[3], height))
        guard x0 < x1, y0 < y1 else { return }
        for y in y0..<y1 {
            for x in x0..<x1 where x - x0 < thickness || x1 - 1 - x < thickness || y - y0 < thickness || y1 - 1 - y < thickness {
                let o = (y * width + x) * 3
                (pixels[o], pixels[o + 1], pixels[o + 2]) = (color.r, color.g, color.b)
            }
        }
    }
}
