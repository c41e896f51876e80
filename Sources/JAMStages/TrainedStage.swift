// Tests: Tests/JAMStagesTests/C3DStageTests.swift, Tests/JAMStagesTests/LSTMStageTests.swift (training per split, bit-identical resume, divergence keeps the last good checkpoint, bad inputs reported)
import Foundation
import JAMArtifacts
import JAMConfig
import JAMCore
import JAMDatasets
import JAMModel
import JAMNN
import JAMTensor
import JAMTraining

/// What one trained stage (jam-c3d, jam-lstm) supplies to the skeleton they share,
/// `TrainedStage.runSplit`: how to check an input video, how to train, how to export a video.
/// Everything else — the split's folders, `--force`, reading the split, collecting bad inputs,
/// `--strict`, the resumable export and its report — is the skeleton's.
protocol TrainedStage {
    /// A checked input video (`C3DVideo`, `LSTMVideo`), which knows its split entry.
    associatedtype Video: TrainedStageVideo
    /// What every video of a run must share to be batched (map shape, cube geometry).
    associatedtype Shape: Equatable
    /// The trained model the export reads (nil where nothing is trained).
    associatedtype Model

    /// `jam-c3d`, `jam-lstm`.
    var stage: String { get }
    /// The round of the c3d → lstm pipeline (messages name it in the commands they suggest).
    var round: Int { get }
    /// The settings that determine this run's outputs (their digest names its folders).
    var settings: StageSettings { get }
    /// The folders of split `split` the stage owns: `--force` empties them, and the first holds
    /// the checkpoint and log.
    func ownedFolders(split: Int) -> [URL]
    /// The folder the split's per-video artifacts are exported to.
    func exportFolder(split: Int) -> URL
    /// The folder the split's per-video inputs are read from.
    func inputFolder(split: Int) -> URL
    /// What to say when no input video is usable (which stage to run first).
    var missingInputs: String { get }
    /// The digest folders the stage writes into (each gets `settings.json`).
    var digestFolders: [URL] { get }
    /// The kind of the split's training checkpoint (`checkpoint.h5` in `ownedFolders(split:)[0]`).
    var checkpointKind: ArtifactKind { get }
    /// Epochs of the weights this run exports from (0 when nothing is trained), as its
    /// `export.json` records them.
    var trainedEpochs: Int { get }
    /// When the inputs are another trained stage's exports: the epochs their `export.json` must
    /// name, the setting that says so, and the command that makes them; nil otherwise.
    var inputExports: (epochs: Int, setting: String, rerun: String)? { get }
    /// The command that remakes damaged or missing inputs ("run jam-features").
    var remakeInputs: String { get }
    /// Checks one finished export before it is skipped (`FinishedOutput`).
    var exportVerification: (WorkUnit, VerificationDepth) throws -> Void { get }

    /// Checks one video's input artifact against the shape of the videos checked before.
    mutating func check(_ url: URL, entry: VideoEntry, expected: Shape?) throws -> (Video, Shape)
    /// Trains the split's model (resuming from its checkpoint) and returns it with its final weights.
    func train(split: Int, folder: URL, train: [Video], test: [Video], shape: Shape, classNames: [String],
               exportDone: Bool, progress: ProgressReporter) throws -> Model
    /// Export workers: 1 when the model keeps state between calls.
    func exportWorkers(_ policy: RunPolicy, model: Model) -> Int
    /// Writes one video's exported artifact.
    func export(_ video: Video, model: Model, shape: Shape, split: Int, subset: String, classNames: [String],
                to url: URL) throws
}

/// What the skeleton needs of a checked input video: the split entry it stands for.
protocol TrainedStageVideo: Sendable {
    var entry: VideoEntry { get }
}

extension C3DVideo: TrainedStageVideo {}
extension LSTMVideo: TrainedStageVideo {}

extension TrainedStage {
    var digest: String { settings.digest }

    /// One split, start to end: clean (`--force`), read the split, check every input (bad ones
    /// are reported and left out), train, then export one artifact per video, skipping those
    /// already exported.
    ///
    /// A shard (`policy.shard`) exports only its own videos (`Shard`'s rule over the split's
    /// videos, `split<N>/<path>`), and trains only when `policy.trainsHere`; otherwise it needs
    /// the finished checkpoint and refuses without one. `--force` empties the split's folders
    /// only in a whole run; a shard with `--force` redoes its own exports and deletes nothing else.
    func runSplit(_ split: Int, config: PipelineConfig, policy: RunPolicy, progress: ProgressReporter) throws -> StageReport {
        var kind = self
        let folders = ownedFolders(split: split)
        // Under MPI rank 0 alone removes (--force, an unusable checkpoint); the others wait below.
        if policy.force && DataParallelStage.writes && (policy.shard.isWhole || DataParallelStage.world.isDistributed) {
            for folder in folders { try? FileManager.default.removeItem(at: folder) }
        }
        for folder in folders {
            try SystemError.createFolder(folder, purpose: "\(stage)'s split \(split) folder")
            removeStaleTemporaries(under: folder)
        }
        let depth: VerificationDepth = policy.verify ? .full : .quick
        let checkpoint = folders[0].appendingPathComponent(ArtifactLayout.checkpointFileName)
        if DataParallelStage.writes, let problem = FinishedOutput.checkpointProblem(checkpoint, kind: checkpointKind, depth: depth) {
            guard policy.trainsHere else {
                throw JAMError("split \(split): the checkpoint cannot be used (\(problem)); \(trainingCommand)", file: checkpoint.path)
            }
            // Nothing in it can be used; training afresh reaches the same weights (training is deterministic).
            progress.log("split \(split): REDO training: the checkpoint \(checkpoint.path) cannot be used (\(problem)); "
                         + "it is removed and training starts afresh")
            try? FileManager.default.removeItem(at: checkpoint)
        }
        try DataParallelStage.synchronize()
        if !policy.trainsHere { try requireFinishedTraining(split: split, checkpoint: checkpoint) }
        let dataset = try Self.readSplit(config: config, split: split)
        let inputs = inputFolder(split: split)
        if let expected = inputExports {
            try ExportRecord.require(epochs: expected.epochs, in: inputs, what: "inputs", setting: expected.setting,
                                     rerun: expected.rerun)
        }

        // This process's videos (all of them unless sharded); a video keeps its shard whether its input is usable or not.
        let owned = Set(policy.shard.select(dataset.allVideos.map { "split\(split)/\($0.relativePath)" }) { $0 })
        var failures: [UnitFailure] = []
        var trainingFailures: [UnitFailure] = []
        var shape: Shape?
        var train: [Video] = [], test: [Video] = []
        for (entries, isTrain) in [(dataset.train, true), (dataset.test, false)] {
            for entry in entries {
                let url = PipelineConfig.artifactURL(forVideo: entry.relativePath, in: inputs)
                do {
                    let (video, here) = try kind.check(url, entry: entry, expected: shape)
                    shape = here
                    if isTrain { train.append(video) } else { test.append(video) }
                } catch {
                    failures.append(UnitFailure(unit: "split\(split)/\(entry.relativePath)", error: error, file: url.path))
                    if isTrain { trainingFailures.append(failures.last!) }
                    if policy.strict {
                        progress.log("FAILED \(failures.last!)")
                        return StageReport(stage: stage, producer: "\(stage) \(jamVersion)", configDigest: digest,
                                           totalUnits: owned.count, completed: 0, skipped: 0, failures: failures,
                                           stoppedEarly: true, seconds: 0, finished: ISO8601DateFormatter().string(from: Date()),
                                           shard: policy.shard.isWhole ? nil : policy.shard.description)
                    }
                }
            }
        }
        guard let shape else {
            throw JAMError("split \(split): no usable input (\(failures.count) failed); \(missingInputs)", file: inputs.path)
        }

        let output = exportFolder(split: split)
        let videos = train + test
        let units = videos.map {
            WorkUnit(name: "split\(split)/\($0.entry.relativePath)",
                     input: PipelineConfig.artifactURL(forVideo: $0.entry.relativePath, in: inputs),
                     output: PipelineConfig.artifactURL(forVideo: $0.entry.relativePath, in: output))
        }
        // Exports of other weights (fewer epochs) are stale: they go once training has succeeded.
        let record = ExportRecord.read(in: output)
        var current = record?.epochs == trainedEpochs
        if !current && !policy.trainsHere {
            current = try isCurrentForShard(split: split, dataset: dataset, output: output)
        }
        let verify = exportVerification
        let exportDone = !policy.force && current && units.filter({ owned.contains($0.name) }).allSatisfy {
            FileManager.default.fileExists(atPath: $0.output.path) && (try? verify($0, depth)) != nil
        }
        let model: Model
        do {
            model = try kind.train(split: split, folder: folders[0], train: train, test: test, shape: shape,
                                   classNames: dataset.classNames, exportDone: exportDone, progress: progress)
        } catch let error as JAMError where !trainingFailures.isEmpty && error.message.contains(TrainingCheckpoint.clipListMismatch) {
            // The checkpoint is fine; the training set shrank because inputs went bad. Name them.
            let list = trainingFailures.map { "  \($0.file): \($0.reason)" }.joined(separator: "\n")
            throw JAMError("split \(split): cannot resume training: \(trainingFailures.count) training input(s) that the "
                           + "checkpoint \(checkpoint.path) was trained on cannot be read now:\n\(list)\n"
                           + "Remake them: \(remakeInputs); then rerun \(stage) as before. (\(stage) --force would "
                           + "retrain without them.)")
        }
        if !current {
            // Only this process's videos: other shards remove their own (every one decided before training).
            let stale = dataset.allVideos.filter { owned.contains("split\(split)/\($0.relativePath)") }
                .map { PipelineConfig.artifactURL(forVideo: $0.relativePath, in: output) }
                .filter { FileManager.default.fileExists(atPath: $0.path) }
            for url in stale { try FileManager.default.removeItem(at: url) }
            if !stale.isEmpty {
                let previous = record.map { "the \($0.epochs)-epoch model" } ?? "unrecorded weights"
                progress.log("split \(split): removed \(stale.count) exports of \(previous); exporting the \(trainedEpochs)-epoch model's")
            }
            // Every shard writes the same record (same epochs, same checkpoint step), atomically.
            let step = TrainingCheckpoint.position(at: folders[0].appendingPathComponent(ArtifactLayout.checkpointFileName),
                                                   kind: checkpointKind)?.step
            try ExportRecord(epochs: trainedEpochs, step: trainedEpochs > 0 ? step : nil).write(in: output)
        }
        try DataParallelStage.synchronize()  // no rank exports before rank 0 has removed the stale exports

        let byUnit = Dictionary(uniqueKeysWithValues: zip(units.map(\.name), videos.enumerated().map {
            ($0.element, $0.offset < train.count ? "train" : "test")
        }))
        let exportPolicy = RunPolicy(force: policy.force, strict: policy.strict, workers: exportWorkers(policy, model: model),
                                     verify: policy.verify, shard: policy.shard)
        let world = DataParallelStage.world
        let exportLabel = "\(stage) split \(split) export" + (world.isDistributed ? " (rank \(world.rank) of \(world.size))" : "")
        let runner = StageRunner(stage: stage, policy: exportPolicy, progress: progress.reporter(label: exportLabel))
        // The runner calls the closure from one worker at a time unless `exportWorkers` allows more.
        let context = UncheckedSendable((kind, model, shape, byUnit, dataset.classNames))
        var report = runner.run(units: units, knownFailures: failures, configDigest: digest, verify: verify) { unit in
            let (kind, model, shape, byUnit, classNames) = context.value
            let (video, subset) = byUnit[unit.name]!
            try kind.export(video, model: model, shape: shape, split: split, subset: subset, classNames: classNames,
                            to: unit.output)
        }
        report.totalUnits = owned.count
        return report
    }

    /// A shard that does not train exports from the finished checkpoint only: N array tasks
    /// must not train N copies of the model (nor one each). Throws, naming the command that trains.
    func requireFinishedTraining(split: Int, checkpoint: URL) throws {
        guard trainedEpochs > 0 else { return }  // nothing is trained (c3d.middle none)
        let done = TrainingCheckpoint.position(at: checkpoint, kind: checkpointKind)?.epoch ?? 0
        guard done >= trainedEpochs else {
            throw JAMError("split \(split): training is not finished (epoch \(done) of \(trainedEpochs)); \(trainingCommand)",
                           file: checkpoint.path)
        }
    }

    /// What a shard that may not train says to do.
    var trainingCommand: String {
        "run \(stage) --round \(round) without --shard (or under mpirun/srun) to train, then the shards export"
    }

    /// For a shard that does not train, when `export.json` does not name this run's epochs:
    /// whether another shard has just started this model's exports (true: nothing to remove),
    /// or the folder holds no export at all (false: the shard writes the record; every shard
    /// writes the same). Exports of other weights are refused: a shard could not tell the
    /// others' stale exports from their fresh ones, so replacing them is a whole run's job.
    func isCurrentForShard(split: Int, dataset: DatasetSplit, output: URL) throws -> Bool {
        let existing = dataset.allVideos.map { PipelineConfig.artifactURL(forVideo: $0.relativePath, in: output) }
            .filter { FileManager.default.fileExists(atPath: $0.path) }
        guard !existing.isEmpty else { return false }
        // A shard writes the record before its first export: an export seen here with the
        // record now current is another shard's fresh work.
        let record = ExportRecord.read(in: output)
        if record?.epochs == trainedEpochs { return true }
        let previous = record.map { "the \($0.epochs)-epoch model" } ?? "unrecorded weights"
        throw JAMError("split \(split): \(existing.count) exports here are of \(previous), not of the \(trainedEpochs)-epoch "
                       + "model; run \(stage) --round \(round) once without --shard (it replaces them), then the shards",
                       file: output.path)
    }

    /// The split's videos, training then test. The videos themselves are not read (jam-decode
    /// reported missing ones), so a dataset whose videos were moved away after decoding still trains.
    static func readSplit(config: PipelineConfig, split: Int) throws -> DatasetSplit {
        do {
            return try DatasetReader.read(config.dataset.format, root: config.datasetRoot, split: split, checkFiles: false).split
        } catch let error as JAMError where config.dataset.synthetic {
            throw JAMError("\(error.description) (the dataset is synthetic: run jam-synth first)")
        }
    }

    /// Trains `store` with `step` (and `validate` per epoch) to the configured epochs, resuming
    /// from the checkpoint in `folder`; logs what it trains on. Returns the optimizer steps taken in total.
    func runTrainingLoop(
        training: some TrainingSettings, store: ParameterStore, sampler: ClipSampler, checkpoint kind: ArtifactKind,
        folder: URL, source: URL, split: Int, description: String, progress: ProgressReporter,
        step: @escaping (TrainingBatch) throws -> TrainingStepResult, validate: (() throws -> [String: Double])?
    ) throws -> Int {
        let target = CheckpointTarget(
            url: folder.appendingPathComponent(ArtifactLayout.checkpointFileName), kind: kind, producer: "\(stage) \(jamVersion)",
            configDigest: digest, config: settings.canonicalJSON, source: source.path,
            logURL: folder.appendingPathComponent(ArtifactLayout.trainingLogFileName))
        let label = "split \(split)"
        let (observer, trainingProgress) = trainingObserver(label: label, progress: progress)
        let loop = TrainingLoop(store: store, optimizer: training.makeOptimizer(parameterCount: store.totalCount),
                                plan: training.trainingPlan, sampler: sampler, checkpoint: target, observer: observer)
        loop.communicator = DataParallelStage.world
        loop.stopRequested = loop.communicator.collectiveStop { StopRequest.isRequested }  // every rank stops at the same step
        if DataParallelStage.writes { progress.log("\(label): \(description)") }
        // `validate_every`: the loop logs no validation metrics (NaN in the log) for the epochs skipped.
        let outcome = try loop.run(step: { batch, _ in try step(batch) },
                                   validate: validate.map { v in { epoch in training.validates(afterEpoch: epoch) ? try v() : [:] } })
        trainingProgress.finish()
        if outcome.stepsRun == 0, DataParallelStage.writes, let last = outcome.log.last {
            progress.log("\(label): already trained (\(outcome.log.count) epochs; last: \(last.line))")
        }
        return outcome.state.step
    }

    /// Epoch summaries as log lines on `progress`, and a step counter on its own progress line;
    /// rank 0 alone prints them in an MPI job (the ranks train the same steps, and rank 0 writes the log).
    func trainingObserver(label: String, progress: ProgressReporter) -> (TrainingObserver, ProgressReporter) {
        let steps = progress.reporter(label: "\(stage) \(label) training")
        guard DataParallelStage.writes else { return (TrainingObserver(), steps) }
        var started = false
        let observer = TrainingObserver(
            message: { progress.log("\(label): \($0)") },
            progress: { done, total in
                if !started {
                    steps.start(total: total - done, skipped: done)
                    started = true
                } else {
                    steps.advance(failed: false)
                }
            })
        return (observer, steps)
    }
}

extension TrainedStage {
    /// Runs every configured split and writes the merged report into `reportFolder` (`stage-report.json`,
    /// or the shard's `stage-report.shard-<i>-of-<N>.json`).
    func run(config: PipelineConfig, policy: RunPolicy, reportFolder: URL, progress: ProgressReporter) throws -> StageReport {
        let start = Date()
        for folder in digestFolders {
            try SystemError.createFolder(folder, purpose: "\(stage)'s output folder")
            if DataParallelStage.writes { try settings.record(in: folder) }
        }
        try SystemError.createFolder(reportFolder, purpose: "\(stage)'s output folder")
        AtomicFile.removeStaleTemporaries(in: reportFolder)
        // Reproducible training needs a fixed BLAS thread count: --threads or the setting.
        ComputeThreads.set(policy.workers)
        // Under MPI every rank exported its shard: rank 0 writes one report for them all.
        var report = try DataParallelStage.mergeReports(
            StageReport.overSplits(config.dataset.splits, stage: stage, configDigest: digest, started: start) {
                try runSplit($0, config: config, policy: policy, progress: progress)
            })
        report.shard = policy.shard.isWhole || DataParallelStage.world.isDistributed ? nil : policy.shard.description
        if DataParallelStage.writes { try report.write(to: reportFolder) }
        return report
    }
}

extension TrainingSettings {
    /// Adam or SGD with momentum over `parameterCount` parameters.
    func makeOptimizer(parameterCount: Int) -> TrainingOptimizer {
        optimizer == .adam
            ? .adam(parameterCount: parameterCount)
            : .sgd(parameterCount: parameterCount, momentum: Float(momentum))
    }

    /// Epochs, batch, learning-rate schedule, checkpoint and log intervals, and seed.
    var trainingPlan: TrainingPlan {
        TrainingPlan(
            epochs: epochs, batchSize: batch,
            schedule: LearningRateSchedule(initial: Float(learningRate), decayFactor: Float(lrDecay),
                                           decayEveryEpochs: lrDecayEvery),
            checkpointEvery: checkpointEvery, seed: UInt64(seed), logEverySteps: logEverySteps)
    }
}
