import Foundation
import JAMArtifacts
import JAMConfig
import JAMCore
import JAMDatasets
import JAMNN
import JAMTensor
import JAMTraining

/// Stage 3, `jam-c3d`: per configured split, trains the 3D convnet of each branch on the
/// split's training videos (its test videos are the validation set), then exports one `cubes`
/// artifact per train and test video (docs/ARTIFACTS.md).
///
/// Layout: `<artifacts_root>/<dataset>/cubes/<c3d digest>/split<N>/` holds `checkpoint.h5`
/// (kind `c3d-checkpoint`), `training-log.json` and `<Class>/<video>.h5` cubes; the digest
/// folder holds `stage-report.json`. Each split has its own model: a model trained on split 1
/// must not make the cubes of split 2's test videos, which it saw in training.
///
/// Units: training resumes from the checkpoint (written every `checkpoint_every` steps and at
/// each epoch end); export is resumable per video. `--force` removes the split's checkpoint
/// and cubes and starts over.
public enum C3DStage {
    public static let folderName = "cubes"
    public static let checkpointName = "checkpoint.h5"
    public static let logName = "training-log.json"

    /// Where a split's cubes, checkpoint and log live.
    public static func splitDirectory(_ stageDirectory: URL, split: Int) -> URL {
        stageDirectory.appendingPathComponent("split\(split)", isDirectory: true)
    }

    /// The resolved inputs and output folder of one run.
    public struct Plan: Sendable {
        public var featuresFolder: URL
        public var folder: URL
        public var settings: StageSettings
        public var round: Int
        /// λ of this round (0 in round 1 and for middle = none).
        public var attentionWeight: Double
        /// The attention folder of the previous LSTM round (its digest folder), when λ > 0.
        public var attentionFolder: URL?
    }

    /// Resolves the folders and the digest. `attentionFolder` is the digest folder of the
    /// previous round's `attention` artifacts (`…/<split>/<Class>/<video>.h5` below it); it is
    /// required when round ≥ 2, λ > 0 and the middle module is trained.
    public static func plan(config: PipelineConfig, round: Int, attentionFolder: URL?) throws -> Plan {
        let featuresDigest = try FeaturesStage.digest(config: config).digest
        let featuresFolder = config.stageDirectory(FeaturesStage.folderName, digest: featuresDigest)
        let lambda = round >= 2 && config.c3d.middle != .none ? config.c3d.attentionWeight : 0
        var attention: URL?
        if lambda > 0 {
            guard let attentionFolder else {
                throw JAMError("round \(round) trains with attention_weight \(lambda) against the attention of LSTM round "
                               + "\(round - 1): pass --attention FOLDER (the attention artifacts jam-lstm wrote), "
                               + "or run jam-lstm of round \(round - 1) first", file: config.file, location: "$.c3d")
            }
            guard FileManager.default.fileExists(atPath: attentionFolder.path) else {
                throw JAMError("no attention artifacts there; run jam-lstm of round \(round - 1) first", file: attentionFolder.path)
            }
            attention = attentionFolder.standardizedFileURL
        }
        let settings = try config.c3dStage(featuresDigest: featuresDigest, round: round,
                                           attentionDigest: attention?.lastPathComponent)
        return Plan(featuresFolder: featuresFolder, folder: config.stageDirectory(folderName, digest: settings.digest),
                    settings: settings, round: round, attentionWeight: lambda, attentionFolder: attention)
    }

    public static func run(
        config: PipelineConfig, policy: RunPolicy, round: Int = 1, attentionFolder: URL? = nil,
        progress: ProgressReporter? = nil
    ) throws -> StageReport {
        let start = Date()
        let plan = try plan(config: config, round: round, attentionFolder: attentionFolder)
        guard FileManager.default.fileExists(atPath: plan.featuresFolder.path) else {
            throw JAMError("no features artifacts for this configuration; run jam-features first", file: plan.featuresFolder.path)
        }
        try FileManager.default.createDirectory(at: plan.folder, withIntermediateDirectories: true)
        AtomicFile.removeStaleTemporaries(in: plan.folder)
        let reporter = progress ?? ProgressReporter(label: "jam-c3d")
        // Reproducible training needs a fixed BLAS thread count: --threads or the setting.
        ComputeThreads.set(policy.workers)

        let report = try StageReport.overSplits(
            config.dataset.splits, stage: "jam-c3d", configDigest: plan.settings.digest, started: start
        ) { split in
            try runSplit(split, config: config, plan: plan, policy: policy, progress: reporter)
        }
        try report.write(to: plan.folder)
        return report
    }

    /// The split's videos: training then test, each once.
    static func splitVideos(config: PipelineConfig, split: Int) throws -> DatasetSplit {
        do {
            // The videos themselves are not read here (jam-decode reported missing ones), so
            // a dataset whose videos were moved away after decoding still trains.
            return try DatasetReader.read(config.dataset.format, root: config.datasetRoot, split: split, checkFiles: false).split
        } catch let error as JAMError where config.dataset.synthetic {
            throw JAMError("\(error.description) (the dataset is synthetic: run jam-synth first)")
        }
    }

    static func runSplit(
        _ split: Int, config: PipelineConfig, plan: Plan, policy: RunPolicy, progress: ProgressReporter
    ) throws -> StageReport {
        let s = config.c3d
        let folder = splitDirectory(plan.folder, split: split)
        if policy.force { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        removeStaleTemporaries(under: folder)
        let dataset = try splitVideos(config: config, split: split)
        let taps = s.branches

        // Check every video's features once; bad ones are reported and left out.
        var failures: [UnitFailure] = []
        var shape: FeatureMapShape?
        var train: [C3DVideo] = [], test: [C3DVideo] = []
        for (entries, isTrain) in [(dataset.train, true), (dataset.test, false)] {
            for entry in entries {
                let url = PipelineConfig.artifactURL(forVideo: entry.relativePath, in: plan.featuresFolder)
                do {
                    let (video, here) = try C3DFeatures.check(url, entry: entry, taps: taps, expected: shape,
                                                              meanMaps: s.centering == .video)
                    if C3DModel.cubeTime(s, frames: video.frames) < 1 {
                        throw ArtifactError(path: url.path, "\(video.frames) frames are too few for the temporal kernels")
                    }
                    shape = here
                    if isTrain { train.append(video) } else { test.append(video) }
                } catch {
                    // Reported with the export's failures (StageRunner logs them).
                    failures.append(UnitFailure(unit: "split\(split)/\(entry.relativePath)", file: url.path,
                                                reason: describe(error)))
                    if policy.strict {
                        progress.log("FAILED \(failures.last!)")
                        return StageReport(stage: "jam-c3d", producer: "jam-c3d \(jamVersion)", configDigest: plan.settings.digest,
                                           totalUnits: dataset.allVideos.count, completed: 0, skipped: 0, failures: failures,
                                           stoppedEarly: true, seconds: 0, finished: ISO8601DateFormatter().string(from: Date()))
                    }
                }
            }
        }
        guard let shape else {
            throw JAMError("split \(split): no usable features artifact (\(failures.count) failed); run jam-features first",
                           file: plan.featuresFolder.path)
        }
        let classCount = dataset.classNames.count

        // Train (or load the finished model), then export.
        var model: C3DModel?
        var grid: (height: Int, width: Int)
        if s.middle == .none {
            let auto = C3DModel.cubeGrid(s, shape: shape)
            let k = s.grid > 0 ? s.grid : (auto?.height ?? 1)
            grid = (k, k)
        } else {
            guard let g = C3DModel.cubeGrid(s, shape: shape) else {
                throw JAMError("feature maps \(shape) are too small for the 3D convnet's kernels and pool",
                               file: config.file, location: "$.c3d")
            }
            grid = g
            guard C3DModel.cubeTime(s, frames: s.clipLength) >= 1 else {
                throw JAMError("clip_length \(s.clipLength) is too short for the temporal kernels", file: config.file,
                               location: "$.c3d.clip_length")
            }
            guard !train.isEmpty else {
                throw JAMError("split \(split) has no usable training video", file: plan.featuresFolder.path)
            }
            model = try C3DStage.train(split: split, folder: folder, train: train, test: test, shape: shape, classCount: classCount,
                                       inputNormalization: C3DFeatures.inputNormalization(training: train, taps: taps.count),
                                       config: config, plan: plan, progress: progress)
        }

        // Export: one cubes artifact per video.
        let videos = train + test
        let subsets = Dictionary(uniqueKeysWithValues: train.map { ($0.entry.relativePath, "train") }
                                 + test.map { ($0.entry.relativePath, "test") })
        let byName = Dictionary(uniqueKeysWithValues: videos.map { ($0.entry.relativePath, $0) })
        let units = videos.map {
            WorkUnit(name: "split\(split)/\($0.entry.relativePath)", input: $0.features,
                     output: PipelineConfig.artifactURL(forVideo: $0.entry.relativePath, in: folder))
        }
        let exportProgress = ProgressReporter(label: "jam-c3d split \(split) export")
        // The trained model keeps activations between calls: one video at a time (its GEMMs
        // use the BLAS threads). Pooling (middle = none) has no state and runs in parallel.
        let exportPolicy = RunPolicy(force: policy.force, strict: policy.strict,
                                     workers: model == nil ? policy.workers : 1)
        let runner = StageRunner(stage: "jam-c3d", policy: exportPolicy, progress: exportProgress)
        // The runner calls it from one worker at a time when the model has state (see `exportPolicy`).
        let box = UncheckedSendable(model)
        let header: @Sendable (String) -> ArtifactHeader = { source in
            ArtifactHeader(kind: .cubes, producer: "jam-c3d \(jamVersion)", configDigest: plan.settings.digest,
                           config: plan.settings.canonicalJSON, source: source)
        }
        let offset = C3DModel.temporalOffset(s)
        let fixedGrid = grid
        var report = runner.run(units: units, knownFailures: failures, configDigest: plan.settings.digest) { unit in
            let name = String(unit.name.dropFirst("split\(split)/".count))
            let video = byName[name]!
            let cubes: [[Float]]
            let steps: Int
            let channels: Int
            if let model = box.value {
                cubes = try model.cubes(for: video)
                steps = C3DModel.cubeTime(s, frames: video.frames)
                channels = s.conv2Width
            } else {
                cubes = try pooledCubes(video, taps: taps, shape: shape, grid: fixedGrid.height)
                steps = video.frames
                channels = shape.channels
            }
            let writer = try ArtifactWriter(url: unit.output, header: header(video.features.path))
            let file = writer.file!
            for (b, tap) in taps.enumerated() {
                try file.write("cube/\(tap.rawValue)", cubes[b], shape: [steps, fixedGrid.height, fixedGrid.width, channels])
            }
            let shift = s.middle == .none ? 0 : offset
            try file.write("frame_index", Array(video.frameIndex[shift..<(shift + steps)]), shape: [steps])
            try file.setAttribute("video", video.entry.relativePath)
            try file.setAttribute("class_name", video.entry.className)
            try file.setAttribute("label", video.entry.label)
            try file.setAttribute("split", split)
            try file.setAttribute("subset", subsets[name]!)
            try file.setAttribute("branches", strings: taps.map(\.rawValue))
            try file.setAttribute("grid", fixedGrid.height)
            try file.setAttribute("grid_width", fixedGrid.width)
            try file.setAttribute("channels", channels)
            try file.setAttribute("middle", s.middle.rawValue)
            try file.setAttribute("round", plan.round)
            try file.setAttribute("attention_weight", plan.attentionWeight)
            try file.setAttribute("time_offset", shift)
            try file.setAttribute("centering", s.centering.rawValue)
            if let model = box.value {
                for (tap, map) in zip(taps, model.inputNormalization) {
                    try file.setAttribute("input_mean_\(tap.rawValue)", map.mean.map(Double.init), vector: true)
                    try file.setAttribute("input_scale_\(tap.rawValue)", map.scale.map(Double.init), vector: true)
                }
            }
            try writer.publish()
        }
        report.totalUnits = dataset.allVideos.count
        return report
    }

    /// Trains the split's model to the configured epochs (resuming from its checkpoint) and
    /// returns it with the final weights.
    static func train(
        split: Int, folder: URL, train: [C3DVideo], test: [C3DVideo], shape: FeatureMapShape, classCount: Int,
        inputNormalization: [InputNormalization], config: PipelineConfig, plan: Plan, progress: ProgressReporter
    ) throws -> C3DModel {
        let s = config.c3d
        let model = C3DModel(settings: s, taps: s.branches, mapShape: shape, classCount: classCount,
                             attentionWeight: Float(plan.attentionWeight), inputNormalization: inputNormalization)
        model.initialize(seed: s.seed)
        let sampler = ClipSampler(frameCounts: train.map(\.frames), clipLength: s.clipLength, stride: s.clipStride)
        let testSampler = ClipSampler(frameCounts: test.map(\.frames), clipLength: s.clipLength, stride: s.clipStride)

        var attention: [[Float]]?
        if plan.attentionWeight > 0, let attentionFolder = plan.attentionFolder {
            let grid = C3DModel.cubeGrid(s, shape: shape)!
            let splitFolder = splitDirectory(attentionFolder, split: split)
            attention = try train.map { video in
                try C3DFeatures.attention(
                    PipelineConfig.artifactURL(forVideo: video.entry.relativePath, in: splitFolder),
                    video: video.entry.relativePath, steps: C3DModel.cubeTime(s, frames: video.frames),
                    locations: grid.height * grid.width)
            }
        }

        let optimizer = s.makeOptimizer(parameterCount: model.store.totalCount)
        let trainingPlan = s.trainingPlan
        let target = CheckpointTarget(
            url: folder.appendingPathComponent(checkpointName), kind: .c3dCheckpoint, producer: "jam-c3d \(jamVersion)",
            configDigest: plan.settings.digest, config: plan.settings.canonicalJSON, source: plan.featuresFolder.path,
            logURL: folder.appendingPathComponent(logName))
        let label = "split \(split)"
        let (observer, trainingProgress) = trainingObserver(stage: "jam-c3d", label: label, progress: progress)
        let loop = TrainingLoop(store: model.store, optimizer: optimizer, plan: trainingPlan, sampler: sampler,
                                checkpoint: target, observer: observer)
        progress.log("\(label): training on \(train.count) videos (\(sampler.clips.count) clips of \(s.clipLength) frames), "
                     + "validating on \(test.count) (\(testSampler.clips.count) clips); \(model.store.totalCount) parameters, λ = \(plan.attentionWeight), "
                     + "inputs standardized per channel")
        let outcome = try loop.run(
            step: { batch, _ in try model.trainStep(batch.clips, sampler: sampler, videos: train, attention: attention) },
            validate: { _ in try model.evaluate(testSampler.clips, sampler: testSampler, videos: test, batchSize: s.batch) })
        trainingProgress.finish()
        if outcome.stepsRun == 0, let last = outcome.log.last {
            progress.log("\(label): already trained (\(outcome.log.count) epochs; last: \(last.line))")
        }
        return model
    }

    /// middle = none: each tap's map average-pooled to K×K, `[T, K, K, C]`.
    static func pooledCubes(_ video: C3DVideo, taps: [FeatureTap], shape: FeatureMapShape, grid: Int) throws -> [[Float]] {
        let file = try HDF5File.open(at: video.features)
        var input = [Float](repeating: 0, count: video.frames * shape.height * shape.width * shape.channels)
        return try taps.enumerated().map { b, tap in
            try input.withUnsafeMutableBufferPointer {
                try C3DFeatures.readFrames(into: $0.baseAddress!, file: file, tap: tap, frames: Array(0..<video.frames), shape: shape)
                video.centre($0.baseAddress!, frames: video.frames, tap: b, normalization: nil)
            }
            var cube = [Float](repeating: 0, count: video.frames * grid * grid * shape.channels)
            input.withUnsafeBufferPointer { x in
                cube.withUnsafeMutableBufferPointer { c in
                    adaptiveAveragePool(output: c.baseAddress!, input: x.baseAddress!, frames: video.frames,
                                        height: shape.height, width: shape.width, channels: shape.channels, grid: grid)
                }
            }
            return cube
        }
    }
}
