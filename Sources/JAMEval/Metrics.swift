// shapes: confusion [C, C] (rows: true class, columns: predicted class); perClassAccuracy [C];
//         C = classes. Accuracies are fractions in [0, 1].
import Foundation
import JAMCore

/// One test video's outcome: its true class, the predicted class and the best five classes.
public struct PredictionOutcome: Sendable, Equatable, Codable {
    public var trueLabel: Int
    public var predictedLabel: Int
    /// Best first; only the first five entries count.
    public var top5: [Int]

    public init(trueLabel: Int, predictedLabel: Int, top5: [Int]) {
        (self.trueLabel, self.predictedLabel, self.top5) = (trueLabel, predictedLabel, top5)
    }

    /// The outcome of a `VideoPrediction` against the video's true class.
    public init(trueLabel: Int, prediction: VideoPrediction) {
        self.init(trueLabel: trueLabel, predictedLabel: prediction.label, top5: prediction.top5)
    }
}

/// The metrics of one split's test set.
///
/// - top-1: the fraction of videos whose predicted class is the true one.
/// - top-5: the fraction whose true class is the predicted one or among the first five of `top5`.
/// - mean class accuracy: the mean over classes of per-class recall (correct / videos of that
///   class), over the classes that have at least one test video; classes without any are
///   left out (their `perClassAccuracy` is `nil`), not counted as 0.
public struct SplitMetrics: Sendable, Equatable, Codable {
    /// The split's name as shown in tables (`"split1"`).
    public var split: String
    public var videoCount: Int
    public var classCount: Int
    public var top1: Double
    public var top5: Double
    public var meanClassAccuracy: Double
    /// 1/C: what guessing uniformly at random would score on top-1.
    public var chance: Double
    /// Per class recall, `nil` for classes with no test video. `[C]`.
    public var perClassAccuracy: [Double?]
    /// `[C, C]`: `confusion[t][p]` counts videos of true class t predicted as p.
    public var confusion: [[Int]]

    /// Computes a split's metrics from its outcomes. Throws a `JAMError` when there are no
    /// outcomes, `classes < 1`, or a label (true, predicted or in top-5) is outside `0..<classes`.
    public init(split: String, outcomes: [PredictionOutcome], classes: Int) throws {
        guard classes >= 1 else { throw JAMError("split \(split): metrics need at least one class") }
        guard !outcomes.isEmpty else { throw JAMError("split \(split): no test videos to evaluate") }
        var confusion = [[Int]](repeating: [Int](repeating: 0, count: classes), count: classes)
        var top5Hits = 0
        for (i, o) in outcomes.enumerated() {
            for label in [o.trueLabel, o.predictedLabel] + o.top5.prefix(5) where !(0..<classes).contains(label) {
                throw JAMError("split \(split): test video \(i) has label \(label), outside 0..<\(classes)")
            }
            confusion[o.trueLabel][o.predictedLabel] += 1
            if o.trueLabel == o.predictedLabel || o.top5.prefix(5).contains(o.trueLabel) { top5Hits += 1 }
        }
        var perClass = [Double?](repeating: nil, count: classes)
        var correct = 0
        for t in 0..<classes {
            correct += confusion[t][t]
            let videos = confusion[t].reduce(0, +)
            if videos > 0 { perClass[t] = Double(confusion[t][t]) / Double(videos) }
        }
        let present = perClass.compactMap { $0 }
        self.split = split
        videoCount = outcomes.count
        classCount = classes
        top1 = Double(correct) / Double(outcomes.count)
        top5 = Double(top5Hits) / Double(outcomes.count)
        meanClassAccuracy = present.reduce(0, +) / Double(present.count)
        chance = 1 / Double(classes)
        perClassAccuracy = perClass
        self.confusion = confusion
    }

    /// The same from `(trueLabel, predictedLabel, top5)` triples.
    public init(split: String, outcomes: [(trueLabel: Int, predictedLabel: Int, top5: [Int])], classes: Int) throws {
        try self.init(
            split: split,
            outcomes: outcomes.map { PredictionOutcome(trueLabel: $0.trueLabel, predictedLabel: $0.predictedLabel, top5: $0.top5) },
            classes: classes)
    }
}

/// The metrics averaged over the splits that were run: each figure is the plain mean of the
/// splits' figures (as the papers report "mean accuracy over the three splits"), not a pooled
/// count. `confusion` is the sum of the splits' matrices.
public struct AveragedMetrics: Sendable, Equatable, Codable {
    public var splitCount: Int
    public var videoCount: Int
    public var top1: Double
    public var top5: Double
    public var meanClassAccuracy: Double
    public var chance: Double
    /// `[C, C]`, summed over splits (rows: true class, columns: predicted).
    public var confusion: [[Int]]
}

/// Everything measured for one variant (a named configuration): per split and averaged.
/// Encodes to JSON with `jsonData()`; `write(to:)` writes it atomically.
public struct MetricsSummary: Sendable, Equatable, Codable {
    /// The variant's name (`"joint-late-3d"`).
    public var variant: String
    /// Class names, index = label. `[C]`.
    public var classNames: [String]
    /// The prediction rule and window the outcomes came from.
    public var rule: PredictionRule
    public var lastSteps: Int
    public var splits: [SplitMetrics]
    public var mean: AveragedMetrics
    /// Per split, how much attention falls on the moving object (`AttentionTracking`); nil
    /// when the dataset has no object tracks (only synthetic datasets have them).
    public var attentionTracking: [SplitAttentionTracking]?

    /// Averages `splits` (at least one, all with `classNames.count` classes).
    public init(variant: String, classNames: [String], rule: PredictionRule, lastSteps: Int, splits: [SplitMetrics]) throws {
        guard !splits.isEmpty else { throw JAMError("variant \(variant): no split was evaluated") }
        let classes = classNames.count
        for s in splits where s.classCount != classes {
            throw JAMError("variant \(variant): split \(s.split) has \(s.classCount) classes, the class list \(classes)")
        }
        var confusion = [[Int]](repeating: [Int](repeating: 0, count: classes), count: classes)
        for s in splits {
            for t in 0..<classes { for p in 0..<classes { confusion[t][p] += s.confusion[t][p] } }
        }
        let n = Double(splits.count)
        self.variant = variant
        self.classNames = classNames
        self.rule = rule
        self.lastSteps = lastSteps
        self.splits = splits
        mean = AveragedMetrics(
            splitCount: splits.count,
            videoCount: splits.reduce(0) { $0 + $1.videoCount },
            top1: splits.reduce(0) { $0 + $1.top1 } / n,
            top5: splits.reduce(0) { $0 + $1.top5 } / n,
            meanClassAccuracy: splits.reduce(0) { $0 + $1.meanClassAccuracy } / n,
            chance: 1 / Double(classes),
            confusion: confusion)
    }

    /// Pretty-printed JSON with sorted keys (stable across runs).
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }

    /// Writes `jsonData()` to `url` atomically.
    public func write(to url: URL) throws {
        try AtomicFile.write(jsonData(), to: url)
    }

    /// Reads a summary written by `write(to:)`.
    public static func read(from url: URL) throws -> MetricsSummary {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw JAMError("cannot read: \(error.localizedDescription)", file: url.path)
        }
        do { return try JSONDecoder().decode(MetricsSummary.self, from: data) } catch {
            throw JAMError("not a metrics summary: \(error)", file: url.path)
        }
    }
}

/// One row of the accuracy table.
public struct AccuracyRow: Sendable, Equatable {
    /// What the row is: `"joint-late / split1"`, `"joint-late / mean of 3"`.
    public var label: String
    public var top1: Double
    /// nil where it says nothing: with 5 classes or fewer every video's true class is among
    /// its top 5 (`AccuracyTable.rows` leaves it out then).
    public var top5: Double?
    public var meanClassAccuracy: Double
    public var chance: Double
    /// Test videos behind the row (`nil`: not known, e.g. a figure quoted from a paper).
    public var videoCount: Int?

    public init(label: String, top1: Double, top5: Double?, meanClassAccuracy: Double, chance: Double, videoCount: Int? = nil) {
        self.label = label
        self.top1 = top1
        self.top5 = top5
        self.meanClassAccuracy = meanClassAccuracy
        self.chance = chance
        self.videoCount = videoCount
    }
}

/// The accuracy table the pipeline prints at the end: rows are variants and splits, columns
/// top-1, top-5, mean class accuracy and chance level 1/C, in percent. Top-5 is left out for a
/// variant with 5 classes or fewer (it is 100% by construction), and the column with it when no
/// row has one; `top5Note` says so under the table.
public enum AccuracyTable {
    public static let columnTitles = ["top-1", "top-5", "mean class", "chance"]

    /// Per variant, one row per split, then (with more than one split) the mean over splits.
    public static func rows(_ summaries: [MetricsSummary]) -> [AccuracyRow] {
        var rows: [AccuracyRow] = []
        for s in summaries {
            let top5 = s.classNames.count > 5
            for split in s.splits {
                rows.append(AccuracyRow(
                    label: "\(s.variant) / \(split.split)", top1: split.top1, top5: top5 ? split.top5 : nil,
                    meanClassAccuracy: split.meanClassAccuracy, chance: split.chance, videoCount: split.videoCount))
            }
            if s.splits.count > 1 {
                rows.append(AccuracyRow(
                    label: "\(s.variant) / mean of \(s.mean.splitCount)", top1: s.mean.top1, top5: top5 ? s.mean.top5 : nil,
                    meanClassAccuracy: s.mean.meanClassAccuracy, chance: s.mean.chance,
                    videoCount: s.mean.videoCount))
            }
        }
        return rows
    }

    /// A fixed-width plain-text table, one line per row, ending in a newline:
    ///
    ///     variant / split      top-1   top-5  mean class  chance
    ///     joint / split1       81.2%   97.0%       80.9%   10.0%
    ///
    /// Without a top-5 column when no row has top-5, and with `top5Note` as a last line when
    /// some row has none.
    public static func render(_ rows: [AccuracyRow]) -> String {
        let header = "variant / split"
        let top5 = showsTop5(rows)
        let titles = columnTitles.filter { top5 || $0 != "top-5" }
        let labelWidth = max(header.count, rows.map(\.label.count).max() ?? 0)
        let widths = titles.map { max($0.count, 7) }
        func pad(_ s: String, _ width: Int, left: Bool) -> String {
            let fill = String(repeating: " ", count: max(0, width - s.count))
            return left ? s + fill : fill + s
        }
        var lines = [pad(header, labelWidth, left: true) + zip(titles, widths)
            .map { "  " + pad($0, $1, left: false) }.joined()]
        for r in rows {
            let values: [Double?] = top5 ? [r.top1, r.top5, r.meanClassAccuracy, r.chance] : [r.top1, r.meanClassAccuracy, r.chance]
            let cells = values.map { $0.map(percent) ?? "-" }
            lines.append(pad(r.label, labelWidth, left: true) + zip(cells, widths)
                .map { "  " + pad($0, $1, left: false) }.joined())
        }
        if let note = top5Note(rows) { lines.append(note) }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Whether any row has a top-5 figure (else the column is left out).
    public static func showsTop5(_ rows: [AccuracyRow]) -> Bool {
        rows.contains { $0.top5 != nil }
    }

    /// The line under the table when some row has no top-5 figure, else nil.
    public static func top5Note(_ rows: [AccuracyRow]) -> String? {
        guard rows.contains(where: { $0.top5 == nil }) else { return nil }
        return "Top-5 omitted: with 5 classes or fewer every video's true class is among its top 5, so it is 100% by construction."
    }

    /// The table of `rows(summaries)`.
    public static func render(_ summaries: [MetricsSummary]) -> String {
        render(rows(summaries))
    }

    /// `0.8125` → `"81.2%"`.
    public static func percent(_ fraction: Double) -> String {
        fraction.isFinite ? String(format: "%.1f%%", fraction * 100) : "n/a"
    }
}
