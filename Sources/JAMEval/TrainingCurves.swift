// shapes: a training log is a list of epoch records (metric name → value); a curve has one
//         point per logged epoch, x = the epoch counted from 1.
import Foundation
import JAMCore

/// One epoch of a training log as the report reads it: the epoch's mean training metrics and
/// its validation metrics by name (what `training-log.json` records per epoch).
public struct TrainingLogEpoch: Sendable, Equatable {
    /// 0-based, as logged.
    public var epoch: Int
    public var train: [String: Double]
    public var validation: [String: Double]

    public init(epoch: Int, train: [String: Double], validation: [String: Double] = [:]) {
        (self.epoch, self.train, self.validation) = (epoch, train, validation)
    }
}

/// Reading `training-log.json` tolerantly, so that the report survives what a log may gain.
public enum TrainingLogReader {
    /// The epoch records of a training log, in epoch order.
    ///
    /// Accepted layouts: one JSON array of records (what `TrainingLoop.writeLog` writes), an
    /// object holding such an array under any key, or one JSON value per line (JSON Lines).
    /// Any element that is not an epoch record — an object with an integer `epoch` and an
    /// object `train` — is skipped: per-step progress lines, for example. A metric written as a
    /// string (`"nan"`, `"inf"`) becomes NaN or ±infinity; other non-numbers are dropped. A later
    /// record of the same epoch replaces an earlier one (a resumed run logs it again).
    public static func parse(_ data: Data, file: String) throws -> [TrainingLogEpoch] {
        var values: [JSONValue]
        do {
            values = [try JSONValue.parse(data, file: file)]
        } catch let whole {
            // JSON Lines: every non-empty line a document of its own.
            let lines = String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline)
                .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            values = lines.compactMap { try? JSONValue.parse(String($0), file: file) }
            guard !values.isEmpty else { throw whole }
        }
        var byEpoch: [Int: TrainingLogEpoch] = [:]
        func collect(_ value: JSONValue) {
            if let record = epochRecord(value) {
                byEpoch[record.epoch] = record
            } else if let array = value.arrayValue {
                array.forEach(collect)
            } else if let object = value.objectValue {
                for key in object.keys.sorted() where object[key]?.arrayValue != nil { collect(object[key]!) }
            }
        }
        values.forEach(collect)
        return byEpoch.keys.sorted().map { byEpoch[$0]! }
    }

    /// Reads and parses `url`; errors name the file.
    public static func read(_ url: URL) throws -> [TrainingLogEpoch] {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw JAMError("cannot read the training log: \(error.localizedDescription)", file: url.path)
        }
        return try parse(data, file: url.path)
    }

    private static func epochRecord(_ value: JSONValue) -> TrainingLogEpoch? {
        guard let object = value.objectValue, let epoch = object["epoch"]?.intValue,
              let train = object["train"]?.objectValue else { return nil }
        return TrainingLogEpoch(epoch: epoch, train: metrics(train), validation: metrics(object["validation"]?.objectValue ?? [:]))
    }

    private static func metrics(_ object: [String: JSONValue]) -> [String: Double] {
        object.compactMapValues { value in
            if let number = value.doubleValue { return number }
            switch value.stringValue?.lowercased() {
            case "nan": return .nan
            case "inf", "+inf", "infinity": return .infinity
            case "-inf", "-infinity": return -.infinity
            default: return nil
            }
        }
    }
}

/// One trained stage's logs for one split, every round: what `TrainingCurves.figures` draws.
public struct StageTrainingLogs: Sendable, Equatable {
    /// The stage as the report names it (`"3D convnet"`, `"joint LSTM"`).
    public var stage: String
    /// `"split1"`, shown in titles when there are several splits (nil: not shown).
    public var split: String?
    /// `(round, epochs)` in round order; rounds count from 1.
    public var rounds: [(round: Int, epochs: [TrainingLogEpoch])]

    public init(stage: String, split: String?, rounds: [(round: Int, epochs: [TrainingLogEpoch])]) {
        (self.stage, self.split, self.rounds) = (stage, split, rounds)
    }

    public static func == (a: StageTrainingLogs, b: StageTrainingLogs) -> Bool {
        a.stage == b.stage && a.split == b.split && a.rounds.count == b.rounds.count
            && zip(a.rounds, b.rounds).allSatisfy { $0.round == $1.round && $0.epochs == $1.epochs }
    }
}

/// The training curves of the report, from the metric names the trained stages log:
///
/// - cross-entropy: training `cross_entropy_<tap>` summed over the taps when logged (the 3D
///   convnet's branches), else training `loss` (the LSTM logs its cross-entropy as `loss`);
///   validation `loss` (cross-entropy only in both stages);
/// - attention term: training `attention_<tap>`, the attention-regularisation term λ·Σ(p − att)²
///   of each branch, plotted apart because its scale has nothing to do with the cross-entropy's
///   (logged only in rounds with λ > 0);
/// - accuracy: training and validation `accuracy` (per step), validation `clip_accuracy`.
///
/// Every round is drawn in its own colour, labelled `r1`, `r2`, …; training solid, validation dashed.
public enum TrainingCurves {
    public static func figures(_ logs: StageTrainingLogs) -> [CurveFigure] {
        let suffix = logs.split.map { " (\($0))" } ?? ""
        var crossEntropy: [PlotSeries] = [], attention: [PlotSeries] = [], accuracy: [PlotSeries] = []
        for (index, (round, epochs)) in logs.rounds.enumerated() where !epochs.isEmpty {
            let color = RGB.series(index)
            func series(_ name: String, dashed: Bool = false, color: RGB = color,
                        _ value: (TrainingLogEpoch) -> Double?) -> PlotSeries? {
                let points = epochs.compactMap { e in value(e).map { (Double(e.epoch + 1), $0) } }
                return points.isEmpty ? nil : PlotSeries(name: "r\(round) \(name)", points: points, color: color, dashed: dashed)
            }
            crossEntropy += [
                series("train") { e in
                    let parts = e.train.filter { $0.key.hasPrefix("cross_entropy_") }
                    return parts.isEmpty ? e.train["loss"] : parts.values.reduce(0, +)
                },
                series("validation", dashed: true) { $0.validation["cross_entropy"] ?? $0.validation["loss"] },
            ].compactMap { $0 }
            let taps = Set(epochs.flatMap { $0.train.keys.filter { $0.hasPrefix("attention_") } }).sorted()
            for (t, tap) in taps.enumerated() {
                // The round's colour, lighter for each further tap: taps of a round stay apart,
                // and a round keeps its colour across charts.
                let shade = RGB.mix(color, .white, min(0.2 * Double(t), 0.6))
                attention += [series("train " + String(tap.dropFirst("attention_".count)), color: shade) {
                    $0.train[tap]
                }].compactMap { $0 }
            }
            accuracy += [
                series("train") { $0.train["accuracy"] },
                series("validation", dashed: true) { $0.validation["accuracy"] },
                series("validation per clip", dashed: true, color: RGB.mix(color, .white, 0.45)) {
                    $0.validation["clip_accuracy"]
                },
            ].compactMap { $0 }
        }
        var figures: [CurveFigure] = []
        if !crossEntropy.isEmpty {
            figures.append(CurveFigure(title: "\(logs.stage): cross-entropy\(suffix)", yLabel: "cross-entropy per clip",
                                       series: crossEntropy))
        }
        if !attention.isEmpty {
            let silent = logs.rounds.filter { round in
                !round.epochs.isEmpty && !round.epochs.contains { $0.train.keys.contains { $0.hasPrefix("attention_") } }
            }.map { "r\($0.round)" }
            figures.append(CurveFigure(
                title: "\(logs.stage): attention term\(suffix)", yLabel: "λ·attention loss per clip", series: attention,
                caption: "The attention-regularisation term λ·Σ(p − att)² of each branch (training, per clip, summed "
                    + "over its steps), apart from the cross-entropy"
                    + (silent.isEmpty ? "." : "; \(silent.joined(separator: ", ")) trained with λ = 0 and logged none.")))
        }
        if !accuracy.isEmpty {
            figures.append(CurveFigure(title: "\(logs.stage): accuracy\(suffix)", yLabel: "accuracy", series: accuracy))
        }
        return figures
    }
}
