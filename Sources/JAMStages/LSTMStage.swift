// shapes: see LSTMModel.swift (batches) and LSTMAttentionExport.swift (the exported arrays).
import Foundation
import JAMArtifacts
import JAMConfig
import JAMCore
import JAMDatasets
import JAMNN
import JAMTraining

/// Stage 4, `jam-lstm --round r`: per configured split, trains the joint-attention LSTM on the
/// cubes of the split's training videos (its test videos are the validation set), then exports
/// one `attention` artifact per train and test video (docs/ARTIFACTS.md).
///
/// Layout, both folders named by `PipelineConfig.lstmDigest(featuresDigest:round:)`:
///
///     <artifacts_root>/<dataset>/lstm/<digest>/split<N>/checkpoint.h5        lstm-checkpoint
///     <artifacts_root>/<dataset>/lstm/<digest>/split<N>/training-log.json
///     <artifacts_root>/<dataset>/lstm/<digest>/stage-report.json
///     <artifacts_root>/<dataset>/attention/<digest>/split<N>/<Class>/<video>.h5
///
/// The cubes come from `cubes/<c3d digest of round r>/split<N>/` (jam-c3d's layout); the
/// attention folder is what jam-c3d of round r + 1 trains against. Each split has its own model,
/// as in jam-c3d.
///
/// Units: training resumes from the checkpoint (every `checkpoint_every` steps and at each epoch
/// end; `kill -9` and rerun gives bit-identical weights at the same thread count); export is
/// resumable per video. `--force` removes the split's checkpoint and attention and starts over.
public enum LSTMStage {
    public static let checkpointName = "checkpoint.h5"
    public static let logName = "training-log.json"
    /// The folder jam-c3d writes its cubes to (`C3DStage.folderName`).
    public static let cubesFolderName = "cubes"
    /// Cubes are kept in memory up to this many bytes in total; later videos are read per clip.
    public static let memoryBudget = 1 << 31

    /// Where a split's checkpoint, log or attention artifacts live (jam-c3d's `split<N>` layout).
    public static func splitDirectory(_ stageDirectory: URL, split: Int) -> URL {
        stageDirectory.appendingPathComponent("split\(split)", isDirectory: true)
    }

    /// The resolved inputs and output folders of one round.
    public struct Plan: Sendable {
        public var round: Int
        /// `cubes/<c3d digest of this round>/`.
        public var cubesFolder: URL
        /// `lstm/<digest>/`: checkpoints, logs, the stage report.
        public var folder: URL
        /// `attention/<digest>/`: the exported artifacts.
        public var attentionFolder: URL
        public var settings: StageSettings
    }

    /// Resolves the digests and folders of round `round` (≥ 1).
    public static func plan(config: PipelineConfig, round: Int) throws -> Plan {
        guard round >= 1 else { throw JAMError("--round must be at least 1, got \(round)") }
        let featuresDigest = try FeaturesStage.digest(config: config).digest
        let settings = try config.lstmStage(featuresDigest: featuresDigest, round: round)
        return Plan(
            round: round,
            cubesFolder: config.stageDirectory(cubesFolderName, digest: try config.cubesDigest(featuresDigest: featuresDigest, round: round)),
            folder: config.stageDirectory(PipelineConfig.lstmFolderName, digest: settings.digest),
            attentionFolder: config.stageDirectory(PipelineConfig.attentionFolderName, digest: settings.digest),
            settings: settings)
    }

    /// Trains and exports every configured split; writes `stage-report.json` into the lstm folder.
    /// Throws (after nothing worse than a kept checkpoint) when training diverges or a split has
    /// no usable video.
    public static func run(
        config: PipelineConfig, policy: RunPolicy, round: Int = 1, progress: ProgressReporter? = nil
    ) throws -> StageReport {
        let start = Date()
        let plan = try plan(config: config, round: round)
        guard FileManager.default.fileExists(atPath: plan.cubesFolder.path) else {
            throw JAMError("no cubes for this configuration and round; run jam-c3d --round \(round) first",
                           file: plan.cubesFolder.path)
        }
        try FileManager.default.createDirectory(at: plan.folder, withIntermediateDirectories: true)
        let reporter = progress ?? ProgressReporter(label: "jam-lstm")
        // Reproducible training needs a fixed BLAS thread count: --threads or the setting.
        ComputeThreads.set(policy.workers)

        let report = try StageReport.overSplits(
            config.dataset.splits, stage: "jam-lstm", configDigest: plan.settings.digest, started: start
        ) { split in
            try runSplit(split, config: config, plan: plan, policy: policy, progress: reporter)
        }
        try report.write(to: plan.folder)
        return report
    }

    static func runSplit(
        _ split: Int, config: PipelineConfig, plan: Plan, policy: RunPolicy, progress: ProgressReporter
    ) throws -> StageReport {
        let s = config.lstm
        let folder = splitDirectory(plan.folder, split: split)
        let attentionFolder = splitDirectory(plan.attentionFolder, split: split)
        let cubesFolder = splitDirectory(plan.cubesFolder, split: split)
        if policy.force {
            try? FileManager.default.removeItem(at: folder)
            try? FileManager.default.removeItem(at: attentionFolder)
        }
        for f in [folder, attentionFolder] { try FileManager.default.createDirectory(at: f, withIntermediateDirectories: true) }
        AtomicFile.removeStaleTemporaries(in: folder)
        removeStaleTemporaries(under: attentionFolder)

        // The LSTM reads cubes only: the videos themselves need not be present any more.
        let dataset: DatasetSplit
        do {
            dataset = try DatasetReader.read(config.dataset.format, root: config.datasetRoot, split: split, checkFiles: false).split
        } catch let error as JAMError where config.dataset.synthetic {
            throw JAMError("\(error.description) (the dataset is synthetic: run jam-synth first)")
        }
        let branches = config.c3d.branches.map(\.rawValue)

        // Check every video's cubes once; bad ones are reported and left out.
        var failures: [UnitFailure] = []
        var geometry: LSTMCubeGeometry?
        var train: [LSTMVideo] = [], test: [LSTMVideo] = []
        var keptBytes = 0
        func failedReport() -> StageReport {
            StageReport(stage: "jam-lstm", producer: "jam-lstm \(jamVersion)", configDigest: plan.settings.digest,
                        totalUnits: dataset.allVideos.count, completed: 0, skipped: 0, failures: failures,
                        stoppedEarly: true, seconds: 0, finished: ISO8601DateFormatter().string(from: Date()))
        }
        for (entries, isTrain) in [(dataset.train, true), (dataset.test, false)] {
            for entry in entries {
                let url = PipelineConfig.artifactURL(forVideo: entry.relativePath, in: cubesFolder)
                do {
                    let (video, here) = try LSTMCubes.check(url, entry: entry, branches: branches, expected: geometry,
                                                            keep: keptBytes < memoryBudget, round: plan.round)
                    keptBytes += video.cubes.reduce(0) { $0 + 4 * $1.count }
                    geometry = here
                    if isTrain { train.append(video) } else { test.append(video) }
                } catch {
                    let failure = UnitFailure(unit: "split\(split)/\(entry.relativePath)", file: url.path, reason: describe(error))
                    progress.log("FAILED \(failure)")
                    failures.append(failure)
                    if policy.strict { return failedReport() }
                }
            }
        }
        guard let geometry else {
            throw JAMError("split \(split): no usable cubes artifact (\(failures.count) failed); run jam-c3d --round \(plan.round) first",
                           file: cubesFolder.path)
        }
        guard !train.isEmpty else {
            throw JAMError("split \(split) has no usable training video (\(failures.count) failed)", file: cubesFolder.path)
        }

        let model = try LSTMModel(settings: s, geometry: geometry, classCount: dataset.classNames.count,
                                  inputNormalization: LSTMModel.inputNormalization(training: train, geometry: geometry))
        let videos = train + test
        let units = videos.map {
            WorkUnit(name: "split\(split)/\($0.entry.relativePath)", input: $0.url,
                     output: PipelineConfig.artifactURL(forVideo: $0.entry.relativePath, in: attentionFolder))
        }
        let checkpointURL = folder.appendingPathComponent(checkpointName)
        let exportDone = !policy.force && units.allSatisfy { FileManager.default.fileExists(atPath: $0.output.path) }
        var checkpointStep = -1
        if exportDone, let step = finishedStep(checkpointURL, epochs: s.epochs) {
            // Trained and exported: nothing to load.
            checkpointStep = step
        } else {
            checkpointStep = try trainSplit(split, folder: folder, model: model, train: train, test: test,
                                            config: config, plan: plan, progress: progress)
        }

        // Export: one attention artifact per video, from the final weights.
        let context = LSTMExportContext(
            model: model, settings: s, plan: plan, split: split, classNames: dataset.classNames,
            subsets: Dictionary(uniqueKeysWithValues: train.map { ($0.entry.relativePath, "train") }
                                + test.map { ($0.entry.relativePath, "test") }),
            videos: Dictionary(uniqueKeysWithValues: videos.map { ($0.entry.relativePath, $0) }),
            checkpointStep: checkpointStep)
        // The model keeps state between calls: one video at a time (its GEMMs use the BLAS threads).
        let exportPolicy = RunPolicy(force: policy.force, strict: policy.strict, workers: 1)
        let runner = StageRunner(stage: "jam-lstm", policy: exportPolicy,
                                 progress: ProgressReporter(label: "jam-lstm split \(split) export"))
        var report = runner.run(units: units, knownFailures: failures, configDigest: plan.settings.digest) { unit in
            try context.export(unit)
        }
        report.totalUnits = dataset.allVideos.count
        return report
    }

    /// The step count of a finished training checkpoint (its epoch equals `epochs`), or nil when
    /// there is none, it is unreadable, or training is not finished.
    static func finishedStep(_ url: URL, epochs: Int) -> Int? {
        guard FileManager.default.fileExists(atPath: url.path),
              let reader = try? ArtifactReader(url: url, expecting: .lstmCheckpoint),
              let epoch = try? reader.file.intAttribute("epoch"), epoch == epochs else { return nil }
        return try? reader.file.intAttribute("step")
    }

    /// Trains the split's model to the configured epochs (resuming from its checkpoint); the
    /// model then holds the final weights. Returns the optimizer steps taken in total.
    static func trainSplit(
        _ split: Int, folder: URL, model: LSTMModel, train: [LSTMVideo], test: [LSTMVideo],
        config: PipelineConfig, plan: Plan, progress: ProgressReporter
    ) throws -> Int {
        let s = config.lstm
        let sampler = ClipSampler(frameCounts: train.map(\.steps), clipLength: s.clipLength, stride: s.clipStride)
        let testSampler = test.isEmpty ? nil
            : ClipSampler(frameCounts: test.map(\.steps), clipLength: s.clipLength, stride: s.clipStride)
        let optimizer = s.makeOptimizer(parameterCount: model.store.totalCount)
        let trainingPlan = s.trainingPlan
        let target = CheckpointTarget(
            url: folder.appendingPathComponent(checkpointName), kind: .lstmCheckpoint, producer: "jam-lstm \(jamVersion)",
            configDigest: plan.settings.digest, config: plan.settings.canonicalJSON,
            source: splitDirectory(plan.cubesFolder, split: split).path, logURL: folder.appendingPathComponent(logName))
        let label = "split \(split)"
        let (observer, trainingProgress) = trainingObserver(stage: "jam-lstm", label: label, progress: progress)
        let loop = TrainingLoop(store: model.store, optimizer: optimizer, plan: trainingPlan, sampler: sampler,
                                checkpoint: target, observer: observer)
        progress.log("\(label): training on \(train.count) videos (\(sampler.clips.count) clips of \(s.clipLength) steps), "
                     + "validating on \(test.count) (\(testSampler?.clips.count ?? 0) clips); cubes \(model.geometry); "
                     + "\(model.store.totalCount) parameters")
        let outcome = try loop.run(
            step: { batch, _ in try model.trainStep(batch.clips, sampler: sampler, videos: train) },
            validate: testSampler.map { testSampler in
                { _ in try model.evaluate(testSampler.clips, sampler: testSampler, videos: test, batchSize: s.batch) }
            })
        trainingProgress.finish()
        if outcome.stepsRun == 0, let last = outcome.log.last {
            progress.log("\(label): already trained (\(outcome.log.count) epochs; last: \(last.line))")
        }
        return outcome.state.step
    }
}

/// What the export work closure needs; the stage runner calls it from one worker at a time.
private final class LSTMExportContext: @unchecked Sendable {
    let model: LSTMModel
    let settings: LSTMSettings
    let plan: LSTMStage.Plan
    let split: Int
    let classNames: [String]
    let subsets: [String: String]
    let videos: [String: LSTMVideo]
    let checkpointStep: Int

    init(model: LSTMModel, settings: LSTMSettings, plan: LSTMStage.Plan, split: Int, classNames: [String],
         subsets: [String: String], videos: [String: LSTMVideo], checkpointStep: Int) {
        self.model = model
        self.settings = settings
        self.plan = plan
        self.split = split
        self.classNames = classNames
        self.subsets = subsets
        self.videos = videos
        self.checkpointStep = checkpointStep
    }

    /// Runs the model over the video's export clips and writes its attention artifact.
    func export(_ unit: WorkUnit) throws {
        let name = String(unit.name.dropFirst("split\(split)/".count))
        let video = videos[name]!
        let (t, l1, s) = (video.steps, settings.clipLength, model.geometry.grid * model.geometry.grid)
        let c = model.classCount
        let starts = LSTMAttentionExport.clipStarts(frameCount: t, clipLength: l1, stride: settings.clipStride)
        let sampler = ClipSampler(frameCounts: [t], clipLength: l1, stride: settings.clipStride)
        let (probabilities, maps) = try model.predict(starts: starts, sampler: sampler, video: video, batchSize: settings.batch)
        let perFrame = maps.map {
            LSTMAttentionExport.frameAverage(maps: $0, starts: starts, frameCount: t, clipLength: l1, locations: s)
        }

        let header = ArtifactHeader(kind: .attention, producer: "jam-lstm \(jamVersion)", configDigest: plan.settings.digest,
                                    config: plan.settings.canonicalJSON, source: video.url.path)
        let writer = try ArtifactWriter(url: unit.output, header: header)
        let file = writer.file!
        if settings.attention == .perBranch {
            let (mean, stacked) = LSTMAttentionExport.interleave(perFrame, frameCount: t, locations: s)
            try file.write("attention", mean, shape: [t, s])
            try file.write("attention_per_branch", stacked, shape: [t, perFrame.count, s])
        } else {
            try file.write("attention", perFrame[0], shape: [t, s])
        }
        try file.write("clip_starts", starts.map(Int32.init), shape: [starts.count])
        try file.write("clip_probabilities", probabilities, shape: [starts.count, l1, c])
        try file.write("frame_index", video.frameIndex, shape: [t])
        try file.setAttribute("video", video.entry.relativePath)
        try file.setAttribute("class_name", video.entry.className)
        try file.setAttribute("label", video.entry.label)
        try file.setAttribute("class_names", strings: classNames)
        try file.setAttribute("split", split)
        try file.setAttribute("subset", subsets[name]!)
        try file.setAttribute("round", plan.round)
        try file.setAttribute("branches", strings: model.geometry.branches)
        try file.setAttribute("grid", model.geometry.grid)
        try file.setAttribute("clip_length", l1)
        try file.setAttribute("clip_stride", settings.clipStride)
        try file.setAttribute("attention_mode", settings.attention.rawValue)
        if settings.attention == .none {
            try file.setAttribute("attention_note", "no attention (mean pooling): every map is uniform, 1/\(s) per location")
        }
        try file.setAttribute("checkpoint_step", checkpointStep)
        try writer.publish()
    }
}
