// Tests: Tests/JAMStagesTests/StatusTests.swift (finished, half-finished, failed, sharded and mid-training runs, through jam-status)
import Foundation
import JAMArtifacts
import JAMConfig
import JAMCore
import JAMDatasets
import JAMTraining
import JAMVideo

/// Where a config's pipeline stands: every stage of every round in run order (jam-synth for a
/// synthetic dataset, jam-decode, jam-features, jam-c3d and jam-lstm per round, jam-eval), read
/// from the artifacts folders without writing anything, so it can be asked while stages run.
///
/// A unit is done when its output file exists under its final name: outputs are published by
/// rename, so such a file was complete when published. The stages' quick check (open the HDF5
/// file, read its last slice) is not repeated: it costs an open per file, minutes for a dataset
/// on a network file system, and a stage redoes a damaged output itself before skipping it. A
/// trained stage's exports count only when the split's `export.json` names the configured epochs
/// (others are stale and will be redone). Failures come from the stage reports (every shard's
/// merged), leaving out units done since; a temporary beside an output (`*.tmp-*`) marks a unit
/// being written (or left by a killed run, until the stage's next run sweeps it).
public struct PipelineStatus: Sendable {
    public var stages: [StageStatus]
    /// Reports that could not be read, and the like: said, never fatal.
    public var warnings: [String]

    /// Every stage done, jam-eval's metrics included, and nothing failed.
    public var complete: Bool { stages.allSatisfy { $0.state == .done } }

    /// The first stage with work left to run (pending, in progress or waiting); nil when every
    /// stage is done or only failed units are left (those need their files fixed first).
    public var next: StageStatus? {
        stages.first { [.pending, .inProgress, .waiting].contains($0.state) }
    }

    /// Reads the state of every stage of `config`; `evalRule` names jam-eval's folder (`vote`
    /// unless `jam-eval --rule` says otherwise). Throws only when the config's folders cannot be
    /// resolved (the VGG16 weights file it names cannot be read).
    public static func read(config: PipelineConfig, evalRule: String = "vote") throws -> PipelineStatus {
        let layout = try ArtifactLayout(config)
        var reader = StatusReader(config: config, layout: layout)
        if config.dataset.synthetic { reader.add(reader.synth()) }
        reader.add(reader.perVideo(stage: "jam-decode", folder: layout.framesFolder))
        reader.add(reader.perVideo(stage: "jam-features", folder: layout.featuresFolder))
        for round in 1...max(1, config.c3d.rounds) {
            reader.add(try reader.trained(c3dRound: round))
            reader.add(try reader.trained(lstmRound: round))
        }
        reader.add(try reader.eval(rule: evalRule))
        return PipelineStatus(stages: reader.stages, warnings: reader.warnings)
    }
}

/// One stage (of one round): its units and, for a trained stage, each split's training.
public struct StageStatus: Sendable {
    public enum State: String, Sendable {
        /// Every unit done (and every split trained).
        case done
        /// Nothing left to run, but some units failed: fix the files named, then rerun the stage.
        case failed
        /// Units are being written now (temporaries beside their outputs).
        case inProgress = "in_progress"
        /// Work left, and its inputs are there.
        case pending
        /// Nothing done yet, and the stage before it is not finished.
        case waiting
    }

    /// `jam-decode`, `jam-c3d`, …
    public var stage: String
    /// The round, for jam-c3d and jam-lstm.
    public var round: Int?
    /// The stage's digest folder (where its report is).
    public var folder: URL
    public var state: State = .pending
    /// The command of the unfinished stage before it, when `state` is `waiting`.
    public var waitingFor: String?
    /// Why the units could not be listed (no split files yet, …), when they could not.
    public var problem: String?
    public var total = 0
    public var done = 0
    /// Units not done whose last attempt failed (`failures`, one per unit).
    public var failed = 0
    /// Units not done with a temporary beside their output.
    public var inProgress = 0
    /// The training of each split (jam-c3d, jam-lstm); empty for the other stages.
    public var training: [SplitTraining] = []
    public var failures: [UnitFailure] = []
    /// The shard count of the latest sharded run over the folder (from its report names).
    public var shardCount: Int?
    /// With `shardCount`, the shards (by `Shard`'s rule over the unit names) that still have pending units.
    public var pendingShards: [Int] = []

    /// Units neither done nor failed (in progress included).
    public var pending: Int { max(0, total - done - failed) }

    /// `jam-c3d --round 2`: how the stage is run (without the config options).
    public var command: String { round.map { "\(stage) --round \($0)" } ?? stage }
}

/// The training of one split of a trained stage, read from its checkpoint and `export.json`.
public struct SplitTraining: Sendable {
    public enum Checkpoint: String, Sendable {
        /// Nothing to train (`c3d.middle = none`).
        case notTrained = "not_trained"
        case absent
        /// Part way: `epochsDone` of `epochs`, `step` optimizer steps.
        case training
        case finished
        /// More epochs done than configured: the stage refuses it (raise epochs, or --force).
        case beyond
        /// Exists but cannot be read: the stage removes it and trains afresh.
        case unreadable
    }

    public enum Exports: String, Sendable {
        /// No `export.json`: nothing exported yet.
        case none
        /// `export.json` names the configured epochs.
        case current
        /// `export.json` names other epochs: the exports are redone after training.
        case stale
    }

    public var split: Int
    public var checkpoint: Checkpoint
    /// Epochs completed (the checkpoint's `epoch`), when there is a readable checkpoint.
    public var epochsDone: Int?
    public var step: Int?
    /// The configured epochs.
    public var epochs: Int
    public var exports: Exports
    /// The epochs `export.json` names, when it exists.
    public var exportEpochs: Int?

    public var finished: Bool { checkpoint == .finished || checkpoint == .notTrained }
}

/// Builds the stages in run order, sharing one listing per folder.
struct StatusReader {
    let config: PipelineConfig
    let layout: ArtifactLayout
    var stages: [StageStatus] = []
    var warnings: [String] = []
    let files = FolderListing()

    init(config: PipelineConfig, layout: ArtifactLayout) {
        (self.config, self.layout) = (config, layout)
    }

    /// Appends `stage`, deciding its state from its counts and the stage before it.
    mutating func add(_ stage: StageStatus) {
        var stage = stage
        let upstream = stages.last
        let upstreamFinished = upstream.map { $0.state == .done || $0.state == .failed } ?? true
        let started = stage.done > 0 || stage.inProgress > 0 || stage.training.contains { $0.epochsDone != nil }
        let trained = stage.training.allSatisfy(\.finished)
        if stage.problem == nil && stage.done == stage.total && trained {
            stage.state = .done
        } else if stage.problem == nil && stage.pending == 0 && stage.failed > 0 && trained {
            stage.state = .failed
        } else if stage.inProgress > 0 {
            stage.state = .inProgress
        } else if !started && !upstreamFinished, let upstream {
            stage.state = .waiting
            stage.waitingFor = upstream.command
        } else {
            stage.state = .pending
        }
        stages.append(stage)
    }

    /// Counts `units` (name, output, whether an existing output counts) against the outputs on
    /// disk, and takes the failures from the reports in `reportFolder` plus `known` ones.
    /// `shardGroups`: the lists of unit names a sharded run splits by `Shard`'s rule, each on its
    /// own (all units and known failures of a per-video stage; each split of a trained stage's export).
    mutating func count(_ status: inout StageStatus, units: [(name: String, output: URL, counts: Bool)],
                        reportFolder: URL, known: [UnitFailure] = [], shardGroups: [[String]] = []) {
        var doneUnits = Set<String>()
        var writing = Set<String>()
        for unit in units {
            if unit.counts && files.exists(unit.output) { doneUnits.insert(unit.name) }
            else if files.isBeingWritten(unit.output) { writing.insert(unit.name) }
        }
        let reports = StageReports.read(in: reportFolder)
        warnings += reports.unreadable
        var failures = reports.mergedFailures { doneUnits.contains($0) }
        // A video missing from several split lists is one unit: its first problem stands for it.
        var listed = Set(failures.map(\.unit)).union(doneUnits)
        failures += known.filter { listed.insert($0.unit).inserted }
        failures.sort { ($0.unit, $0.file) < ($1.unit, $1.file) }
        let unitNames = Set(units.map(\.name))
        status.total = units.count + Set(known.map(\.unit)).subtracting(unitNames).count
        status.done = doneUnits.count
        status.failures = failures
        // A unit being written again after a failure counts as in progress, not failed.
        let failedUnits = Set(failures.map(\.unit)).subtracting(writing)
        status.failed = failedUnits.count
        status.inProgress = writing.count
        status.shardCount = reports.shardCount
        if let n = status.shardCount {
            let shards = (0..<n).filter { index in
                shardGroups.contains { group in
                    Shard(index: index, count: n).select(group) { $0 }
                        .contains { !doneUnits.contains($0) && !failedUnits.contains($0) }
                }
            }
            status.pendingShards = shards
        }
    }

    /// jam-synth: one video per unit under the dataset root, its report there.
    mutating func synth() -> StageStatus {
        let root = config.datasetRoot
        var status = StageStatus(stage: "jam-synth", folder: root)
        let codec: VideoCodec = config.synth.container == .mp4 ? .h264 : .mpeg4
        let videos = SynthStage.entries(settings: config.synth, container: codec).videos
        count(&status, units: videos.map { ($0.relativePath, $0.url(root: root), true) }, reportFolder: root)
        return status
    }

    /// jam-decode or jam-features: one artifact per video of the configured splits; the videos
    /// the split files name but that are missing are failures of both (as the stages report them).
    mutating func perVideo(stage: String, folder: URL) -> StageStatus {
        var status = StageStatus(stage: stage, folder: folder)
        do {
            let (videos, _, problems) = try DecodeStage.videos(config: config)
            let units = videos.map { ($0.relativePath, PipelineConfig.artifactURL(forVideo: $0.relativePath, in: folder), true) }
            // As the stage shards them: its units and the listed-but-missing videos, together.
            let names = Array(Set(units.map(\.0) + problems.map(\.unit)))
            count(&status, units: units, reportFolder: folder, known: problems, shardGroups: [names])
        } catch {
            status.problem = "\(error)"
        }
        return status
    }

    /// jam-c3d of `round`: per split, the training and one cubes artifact per video.
    mutating func trained(c3dRound round: Int) throws -> StageStatus {
        let folder = try layout.cubesFolder(round: round)
        let epochs = config.c3d.middle == .none ? 0 : config.c3d.epochs
        return trained(stage: "jam-c3d", round: round, reportFolder: folder, checkpointFolder: { ArtifactLayout.splitFolder(folder, split: $0) },
                       exportFolder: { ArtifactLayout.splitFolder(folder, split: $0) }, kind: .c3dCheckpoint, epochs: epochs)
    }

    /// jam-lstm of `round`: per split, the training and one attention artifact per video.
    mutating func trained(lstmRound round: Int) throws -> StageStatus {
        let folder = try layout.lstmFolder(round: round)
        let attention = try layout.attentionFolder(round: round)
        return trained(stage: "jam-lstm", round: round, reportFolder: folder, checkpointFolder: { ArtifactLayout.splitFolder(folder, split: $0) },
                       exportFolder: { ArtifactLayout.splitFolder(attention, split: $0) }, kind: .lstmCheckpoint,
                       epochs: config.lstm.epochs)
    }

    mutating func trained(stage: String, round: Int, reportFolder: URL, checkpointFolder: (Int) -> URL,
                          exportFolder: (Int) -> URL, kind: ArtifactKind, epochs: Int) -> StageStatus {
        var status = StageStatus(stage: stage, round: round, folder: reportFolder)
        var units: [(name: String, output: URL, counts: Bool)] = []
        var groups: [[String]] = []
        for split in config.dataset.splits {
            let exports = exportFolder(split)
            let record = ExportRecord.read(in: exports)
            let current = record?.epochs == epochs
            status.training.append(Self.training(split: split, checkpoint: checkpointFolder(split), kind: kind, epochs: epochs,
                                                 record: record))
            do {
                let dataset = try C3DStage.readSplit(config: config, split: split)
                let splitUnits = dataset.allVideos.map {
                    ("split\(split)/\($0.relativePath)", PipelineConfig.artifactURL(forVideo: $0.relativePath, in: exports), current)
                }
                units += splitUnits
                groups.append(splitUnits.map(\.0))
            } catch {
                status.problem = "\(error)"
            }
        }
        count(&status, units: units, reportFolder: reportFolder, shardGroups: groups)
        return status
    }

    static func training(split: Int, checkpoint folder: URL, kind: ArtifactKind, epochs: Int, record: ExportRecord?) -> SplitTraining {
        let exports: SplitTraining.Exports = record == nil ? .none : record?.epochs == epochs ? .current : .stale
        var result = SplitTraining(split: split, checkpoint: .absent, epochs: epochs, exports: exports, exportEpochs: record?.epochs)
        guard epochs > 0 else {
            result.checkpoint = .notTrained
            return result
        }
        let url = folder.appendingPathComponent(ArtifactLayout.checkpointFileName)
        guard FileManager.default.fileExists(atPath: url.path) else { return result }
        guard let position = TrainingCheckpoint.position(at: url, kind: kind) else {
            result.checkpoint = .unreadable
            return result
        }
        (result.epochsDone, result.step) = (position.epoch, position.step)
        result.checkpoint = position.epoch < epochs ? .training : position.epoch == epochs ? .finished : .beyond
        return result
    }

    /// jam-eval: one unit, its `metrics.json` (it has no per-video units and no report file).
    mutating func eval(rule: String) throws -> StageStatus {
        let folder = try layout.evalFolder(rule: rule)
        var status = StageStatus(stage: "jam-eval", folder: folder)
        count(&status, units: [("metrics.json", folder.appendingPathComponent("metrics.json"), true)], reportFolder: folder)
        return status
    }
}

/// The names in each folder, read once: existence and temporaries by set lookups, one directory
/// read per folder however many units it holds.
final class FolderListing: @unchecked Sendable {
    private var names: [String: (files: Set<String>, temporaries: Set<String>)] = [:]

    private func listing(_ folder: URL) -> (files: Set<String>, temporaries: Set<String>) {
        if let known = names[folder.path] { return known }
        var files = Set<String>(), temporaries = Set<String>()
        for name in (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? [] {
            if let marker = name.range(of: AtomicFile.temporaryMarker) {
                temporaries.insert(String(name[..<marker.lowerBound]))
            } else {
                files.insert(name)
            }
        }
        names[folder.path] = (files, temporaries)
        return (files, temporaries)
    }

    func exists(_ url: URL) -> Bool { listing(url.deletingLastPathComponent()).files.contains(url.lastPathComponent) }

    /// Whether a temporary of `url` (`<name>.tmp-…`) is in its folder.
    func isBeingWritten(_ url: URL) -> Bool {
        listing(url.deletingLastPathComponent()).temporaries.contains(url.lastPathComponent)
    }
}
