// Tests: Tests/JAMStagesTests/PipelineTests.swift (jam-eval end to end: metrics.json, predictions.h5, the report's pictures, same metrics after a killed pipeline)
import Foundation
import JAMArtifacts
import JAMConfig
import JAMCore
import JAMDatasets
import JAMEval
import JAMTraining

/// Stage 5, `jam-eval`: applies the prediction rule to the per-clip probabilities the last
/// LSTM round exported for each split's test videos, and writes
///
///     <artifacts_root>/<dataset>/eval/<eval digest>/<rule>/split<N>/predictions.h5   kind `predictions`
///     <artifacts_root>/<dataset>/eval/<eval digest>/<rule>/metrics.json              per split and mean
///     <artifacts_root>/<dataset>/eval/<eval digest>/<rule>/report/index.html         figures and tables
///
/// Nothing here trains; rerunning is cheap, so every run rewrites its outputs.
public enum EvalStage {
    /// What one evaluation produced.
    public struct Result: Sendable {
        public var summary: MetricsSummary
        public var folder: URL
        public var report: URL
        public var failures: [UnitFailure]
    }

    public static func run(
        config: PipelineConfig, rule: PredictionRule, variant: String, attentionExamples: Int = 4
    ) throws -> Result {
        let layout = try ArtifactLayout(config)
        let round = config.c3d.rounds
        let attentionRoot = try layout.attentionFolder(round: round)
        let out = try layout.evalFolder(rule: rule.rawValue)
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        try layout.eval(rule: rule.rawValue).record(in: out.deletingLastPathComponent())
        let lastSteps = min(config.lstm.voteSteps, config.lstm.clipLength)
        try SystemError.createFolder(out, purpose: "jam-eval's output folder")
        // Temporaries of killed runs: this stage's own (predictions, report pictures) and the LSTM folder's.
        removeStaleTemporaries(under: out)
        removeStaleTemporaries(under: try layout.lstmFolder(round: round))
        let classWarnings = DecodeStage.emptyClassWarnings(config: config)
        for warning in classWarnings { writeStandardError("jam-eval: WARNING: \(warning)\n") }

        var splits: [SplitMetrics] = []
        var misclassified: [MisclassifiedVideo] = []
        var failures: [UnitFailure] = []
        var classNames: [String] = []
        var examples: [(split: Int, label: Int, url: URL)] = []
        var tracking: [SplitAttentionTracking] = []
        for split in config.dataset.splits {
            var splitScore = AttentionTrackingScore(), trackedVideos = 0
            let dataset = try DatasetReader.read(config.dataset.format, root: config.datasetRoot, split: split,
                                                 checkFiles: false).split
            classNames = dataset.classNames
            let folder = attentionRoot.appendingPathComponent("split\(split)", isDirectory: true)
            try ExportRecord.require(epochs: config.lstm.epochs, in: folder, what: "attention artifacts", setting: "lstm.epochs",
                                     rerun: "run jam-lstm --round \(round)")
            var outcomes: [PredictionOutcome] = []
            var rows: [(video: String, outcome: PredictionOutcome, probabilities: [Float])] = []
            var predictions: [(video: String, trueLabel: Int, prediction: VideoPrediction)] = []
            for entry in dataset.test {
                let url = PipelineConfig.artifactURL(forVideo: entry.relativePath, in: folder)
                do {
                    let (probabilities, clips, steps) = try AttentionArtifact.readClipProbabilities(
                        url, classes: dataset.classNames.count, rerun: "run jam-lstm --round \(round)")
                    let prediction = try predictVideo(
                        clipProbabilities: probabilities, clips: clips, steps: steps, classes: dataset.classNames.count,
                        rule: rule, lastSteps: min(lastSteps, steps))
                    let outcome = PredictionOutcome(trueLabel: entry.label, prediction: prediction)
                    outcomes.append(outcome)
                    rows.append((entry.relativePath, outcome, prediction.meanProbabilities))
                    predictions.append((entry.relativePath, entry.label, prediction))
                    if config.lstm.attention != .none {
                        do {
                            if let score = try trackingScore(entry, attention: url, config: config) {
                                splitScore = splitScore + score
                                trackedVideos += 1
                            }
                        } catch {
                            failures.append(UnitFailure(unit: "split\(split)/\(entry.relativePath) (object track)",
                                                        error: error, file: url.path))
                        }
                    }
                    // Figure 6: the first split's first test video of each of a few classes.
                    if split == config.dataset.splits[0], examples.count < attentionExamples,
                       !examples.contains(where: { $0.label == entry.label }) {
                        examples.append((split, entry.label, url))
                    }
                } catch {
                    failures.append(UnitFailure(unit: "split\(split)/\(entry.relativePath)", error: error, file: url.path))
                }
            }
            guard !outcomes.isEmpty else {
                throw JAMError("split \(split): no test video could be evaluated (\(failures.count) failed); "
                               + "run jam-lstm --round \(round) first", file: folder.path)
            }
            splits.append(try SplitMetrics(split: "split\(split)", outcomes: outcomes, classes: dataset.classNames.count))
            if trackedVideos > 0 {
                tracking.append(SplitAttentionTracking(split: "split\(split)", videos: trackedVideos, score: splitScore))
            }
            misclassified += MisclassifiedVideo.list(split: "split\(split)", videos: predictions)
            try writePredictions(rows, classNames: dataset.classNames, rule: rule, lastSteps: lastSteps,
                                 to: out.appendingPathComponent("split\(split)/predictions.h5"),
                                 source: folder.path, settings: try layout.eval(rule: rule.rawValue))
        }
        var summary = try MetricsSummary(variant: variant, classNames: classNames, rule: rule, lastSteps: lastSteps, splits: splits)
        summary.attentionTracking = tracking.isEmpty ? nil : tracking
        try summary.write(to: out.appendingPathComponent("metrics.json"))
        let meanPooling = config.lstm.attention == .none
        let report = try Report.write(
            to: out.appendingPathComponent("report", isDirectory: true),
            content: ReportContent(
                title: "JAM: \(variant) on \(config.dataset.name)", summaries: [summary],
                curves: try curves(layout: layout),
                attention: meanPooling ? [] : try attentionFigures(examples.map { ($0.split, $0.url) },
                                                                   framesFolder: layout.framesFolder, config: config),
                attentionKind: meanPooling ? .meanPooling(locations: locations(examples.first?.url)) : .learned,
                misclassified: misclassified,
                featuresWeights: layout.features.settings["weights"]?.stringValue,
                configJSON: config.effectiveSettings.prettyString,
                notes: classWarnings.map { "Warning: \($0)." } + failures.map(\.description)))
        return Result(summary: summary, folder: out, report: report, failures: failures)
    }

    /// The attention-tracking score of one test video (`AttentionTracking`), or nil when the
    /// video has no object track beside it (only jam-synth writes them).
    static func trackingScore(_ entry: VideoEntry, attention url: URL, config: PipelineConfig) throws -> AttentionTrackingScore? {
        guard let track = try ObjectTrack.read(ObjectTrack.sidecarURL(forVideo: entry.url(root: config.datasetRoot))) else {
            return nil
        }
        let (maps, frameIndex, grid) = try AttentionArtifact.readMapsAndFrames(url)
        return AttentionTracking.score(maps: maps, frameIndex: frameIndex, track: track, resize: config.decode.resize, grid: grid)
    }

    /// One `predictions` artifact per split: per test video the true and predicted label, the
    /// top 5 and the class probabilities averaged over the voting window.
    static func writePredictions(
        _ rows: [(video: String, outcome: PredictionOutcome, probabilities: [Float])], classNames: [String],
        rule: PredictionRule, lastSteps: Int, to url: URL, source: String, settings: StageSettings
    ) throws {
        try PredictionsArtifact.write(
            rows.map { PredictionsArtifact.Row(video: $0.video, trueLabel: $0.outcome.trueLabel,
                                               predictedLabel: $0.outcome.predictedLabel, top5: $0.outcome.top5,
                                               probabilities: $0.probabilities) },
            classNames: classNames, rule: rule.rawValue, voteSteps: lastSteps, to: url,
            header: ArtifactHeader(kind: .predictions, producer: "jam-eval \(jamVersion)", configDigest: settings.digest,
                                   config: settings.canonicalJSON, source: source))
    }

    /// The training curves of both trained stages, every round, per split, from each split
    /// folder's `training-log.json` (read tolerantly), or the checkpoint's log when a run
    /// predates that file.
    static func curves(layout: ArtifactLayout) throws -> [CurveFigure] {
        let config = layout.config
        let rounds = Array(1...max(1, config.c3d.rounds))
        let stages: [(name: String, folder: (Int) throws -> URL, kind: ArtifactKind)] = [
            ("3D convnet", { try layout.cubesFolder(round: $0) }, .c3dCheckpoint),
            (config.lstm.attention == .none ? "LSTM (mean pooling)" : "attention LSTM",
             { try layout.lstmFolder(round: $0) }, .lstmCheckpoint),
        ]
        var figures: [CurveFigure] = []
        for stage in stages {
            for split in config.dataset.splits {
                let logs = try rounds.map { round in
                    (round: round, epochs: trainingLog(ArtifactLayout.splitFolder(try stage.folder(round), split: split),
                                                       kind: stage.kind))
                }
                figures += TrainingCurves.figures(StageTrainingLogs(
                    stage: stage.name, split: config.dataset.splits.count > 1 ? "split \(split)" : nil, rounds: logs))
            }
        }
        return figures
    }

    /// One split folder's epoch records; empty when the stage has not trained there.
    static func trainingLog(_ folder: URL, kind: ArtifactKind) -> [TrainingLogEpoch] {
        if let epochs = try? TrainingLogReader.read(folder.appendingPathComponent(ArtifactLayout.trainingLogFileName)),
           !epochs.isEmpty {
            return epochs
        }
        let url = folder.appendingPathComponent(ArtifactLayout.checkpointFileName)
        guard FileManager.default.fileExists(atPath: url.path),
              let (checkpoint, _) = try? TrainingCheckpoint.read(from: url, expecting: kind) else { return [] }
        return checkpoint.log.map { TrainingLogEpoch(epoch: $0.epoch, train: $0.train, validation: $0.validation) }
    }

    /// K², read off an attention artifact (nil when there is none to read: the note then
    /// leaves the number out).
    static func locations(_ url: URL?) -> Int? {
        guard let url, let figure = try? AttentionArtifact.readForFigure(url) else { return nil }
        return figure.grid * figure.grid
    }

    /// Attention over frames (the paper's Figure 6) for a few test videos: every few frames,
    /// the frame with its attention map overlaid, raw frames below. One colour scale per video,
    /// the min..max of all its maps, which the report prints beside a colour bar.
    /// With an object track beside the video (synthetic datasets), the object's box is drawn
    /// in white on every picked frame.
    static func attentionFigures(_ examples: [(split: Int, url: URL)], framesFolder: URL,
                                 config: PipelineConfig) throws -> [ReportImage] {
        var images: [ReportImage] = []
        for (split, url) in examples {
            guard let (maps, steps, grid, video) = try AttentionArtifact.readForFigure(url),
                  let frames = try? FramesArtifact.Reader(url: PipelineConfig.artifactURL(forVideo: video, in: framesFolder))
            else { continue }
            let t = min(steps, frames.frameCount), s = frames.size
            let picks = Array(Set((0..<6).map { $0 * max(1, t - 1) / 5 })).sorted()
            var pictures: [RGBImage] = []
            var pictureMaps: [[Float]] = []
            let track = try? ObjectTrack.read(ObjectTrack.sidecarURL(forVideo: config.datasetRoot.appendingPathComponent(video)))
            let sourceFrames = track == nil ? [] : try frames.frameIndex()
            for frame in picks {
                var pixels = [UInt8](repeating: 0, count: s * s * 3)
                try pixels.withUnsafeMutableBufferPointer { try frames.readFrames(into: $0, start: frame, count: 1) }
                var picture = RGBImage(width: s, height: s, pixels: pixels)
                if let track, frame < sourceFrames.count, track.frames.indices.contains(Int(sourceFrames[frame])) {
                    let box = AttentionTracking.frameBox(track.frames[Int(sourceFrames[frame])].box, width: track.width,
                                                         height: track.height, resize: config.decode.resize, side: s)
                    picture.strokeRectangle(box, color: RGB(255, 255, 255), thickness: max(1, s / 96))
                }
                pictures.append(picture)
                pictureMaps.append(Array(maps[(frame * grid * grid)..<((frame + 1) * grid * grid)]))
            }
            let scale = AttentionColorScale(spanning: maps)
            let strip = try attentionStrip(frames: pictures, attention: pictureMaps, gridSize: grid, colorScale: scale)
            images.append(ReportImage(
                caption: "split \(split): \(video); frames t = \(picks.map(String.init).joined(separator: ", ")), "
                    + "attention over the frame (top), the frame (bottom)"
                    + (track == nil ? "" : "; white: the object's box from its track"), image: strip, colorScale: scale,
                locations: grid * grid))
        }
        return images
    }
}
