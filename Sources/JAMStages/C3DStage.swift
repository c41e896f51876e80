import Foundation
import JAMArtifacts
import JAMConfig
import JAMCore
import JAMModel
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
public struct C3DStage: TrainedStage {
    let config: PipelineConfig
    public let round: Int
    /// λ of this round (`C3DSettings.attentionWeight(round:)`).
    public let attentionWeight: Double
    public let featuresFolder: URL
    /// `cubes/<digest>/`.
    public let folder: URL
    /// The digest folder of the previous LSTM round's attention, when λ > 0.
    public let attentionFolder: URL?
    public let settings: StageSettings
    var stage: String { "jam-c3d" }

    /// Resolves the folders and the digest of round `round`. `attentionFolder` overrides where
    /// the previous round's attention is read (default: where this config's LSTM wrote it).
    public init(config: PipelineConfig, round: Int, attentionFolder: URL? = nil) throws {
        let layout = try ArtifactLayout(config)
        self.config = config
        self.round = round
        attentionWeight = config.c3d.attentionWeight(round: round)
        featuresFolder = layout.featuresFolder
        if attentionWeight > 0 {
            let source = try attentionFolder ?? layout.attentionFolder(round: round - 1)
            guard FileManager.default.fileExists(atPath: source.path) else {
                throw JAMError("no attention artifacts there: round \(round) trains with attention_weight \(attentionWeight) "
                               + "against the attention of LSTM round \(round - 1); run jam-lstm --round \(round - 1) first, "
                               + "or pass --attention FOLDER (the attention artifacts jam-lstm wrote)", file: source.path)
            }
            self.attentionFolder = source.standardizedFileURL
        } else {
            self.attentionFolder = nil
        }
        settings = try layout.c3d(round: round, attentionFolder: self.attentionFolder)
        folder = try layout.cubesFolder(round: round, attentionFolder: self.attentionFolder)
    }

    /// Trains and exports every configured split; writes `stage-report.json` into `folder`.
    public static func run(
        config: PipelineConfig, policy: RunPolicy, round: Int = 1, attentionFolder: URL? = nil,
        progress: ProgressReporter? = nil
    ) throws -> StageReport {
        let stage = try C3DStage(config: config, round: round, attentionFolder: attentionFolder)
        guard FileManager.default.fileExists(atPath: stage.featuresFolder.path) else {
            throw JAMError("no features artifacts for this configuration; run jam-features first", file: stage.featuresFolder.path)
        }
        return try stage.run(config: config, policy: policy, reportFolder: stage.folder,
                             progress: progress ?? ProgressReporter(label: "jam-c3d"))
    }

    // MARK: What jam-c3d supplies to the trained-stage skeleton

    func ownedFolders(split: Int) -> [URL] { [ArtifactLayout.splitFolder(folder, split: split)] }
    func exportFolder(split: Int) -> URL { ArtifactLayout.splitFolder(folder, split: split) }
    func inputFolder(split: Int) -> URL { featuresFolder }
    var missingInputs: String { "run jam-features first" }
    var digestFolders: [URL] { [folder] }
    var checkpointKind: ArtifactKind { .c3dCheckpoint }
    var trainedEpochs: Int { config.c3d.middle == .none ? 0 : config.c3d.epochs }
    var inputExports: (epochs: Int, setting: String, rerun: String)? { nil }
    var remakeInputs: String { "run jam-features (it redoes missing and damaged features)" }
    var exportVerification: (WorkUnit, VerificationDepth) throws -> Void {
        FinishedOutput.cubes(branches: config.c3d.branches.map(\.rawValue))
    }

    func check(_ url: URL, entry: VideoEntry, expected: FeaturesArtifact.MapShape?) throws -> (C3DVideo, FeaturesArtifact.MapShape) {
        try C3DVideo.scan(url, entry: entry, settings: config.c3d, expected: expected)
    }

    func train(split: Int, folder: URL, train: [C3DVideo], test: [C3DVideo], shape: FeaturesArtifact.MapShape,
               classNames: [String], exportDone: Bool, progress: ProgressReporter) throws -> C3DModel? {
        let s = config.c3d
        guard C3DModel.cubeGrid(s, shape: shape) != nil else {
            throw JAMError("feature maps \(shape) are too small for the 3D convnet's kernels and pool",
                           file: config.file, location: "$.c3d")
        }
        guard s.middle != .none else { return nil }
        guard ConvNet3DBranchGeometry.cubeTime(s, frames: s.clipLength) >= 1 else {
            throw JAMError("clip_length \(s.clipLength) is too short for the temporal kernels", file: config.file,
                           location: "$.c3d.clip_length")
        }
        guard !train.isEmpty else { throw JAMError("split \(split) has no usable training video", file: featuresFolder.path) }
        let normalization = InputNormalization.perTap(training: train, taps: s.branches.count)
        try writeNormalization(normalization, branches: s.branches.map(\.rawValue), inputs: "features", split: split,
                               trainingVideos: train.count, folder: folder)
        let model = C3DModel(settings: s, mapShape: shape, classCount: classNames.count, round: round,
                             inputNormalization: normalization)
        model.initialize(seed: s.seed)
        let sampler = ClipSampler(frameCounts: train.map(\.frames), clipLength: s.clipLength, stride: s.clipStride)
        let testSampler = ClipSampler(frameCounts: test.map(\.frames), clipLength: s.clipLength, stride: s.clipStride)
        let validationClips = testSampler.validationSample(count: s.validationClips, seed: UInt64(s.seed))
        let attention = try attentionTargets(split: split, train: train, shape: shape)
        _ = try runTrainingLoop(
            training: s, store: model.store, sampler: sampler, checkpoint: .c3dCheckpoint, folder: folder, source: featuresFolder,
            split: split,
            description: "training on \(train.count) videos (\(sampler.clips.count) clips of \(s.clipLength) frames), "
                + "validating on \(test.count) (\(validationClips.count) of \(testSampler.clips.count) clips); \(model.store.totalCount) parameters, "
                + "λ = \(attentionWeight), inputs standardized per channel",
            progress: progress,
            step: { try model.trainStep($0.clips, sampler: sampler, videos: train, attention: attention) },
            validate: {
                try DataParallel.evaluate(validationClips, communicator: DataParallelStage.world) {
                    try model.evaluate($0, sampler: testSampler, videos: test, batchSize: s.batch)
                }
            })
        return model
    }

    /// Per training video, the previous LSTM round's attention `[T2, K·K]` (when λ > 0).
    func attentionTargets(split: Int, train: [C3DVideo], shape: FeaturesArtifact.MapShape) throws -> [[Float]]? {
        guard attentionWeight > 0, let attentionFolder else { return nil }
        let s = config.c3d
        let grid = C3DModel.cubeGrid(s, shape: shape)!
        let splitFolder = ArtifactLayout.splitFolder(attentionFolder, split: split)
        try ExportRecord.require(epochs: config.lstm.epochs, in: splitFolder, what: "attention maps", setting: "lstm.epochs",
                                 rerun: "run jam-lstm --round \(round - 1)")
        return try train.map { video in
            try AttentionArtifact.readMaps(
                PipelineConfig.artifactURL(forVideo: video.entry.relativePath, in: splitFolder), video: video.entry.relativePath,
                steps: ConvNet3DBranchGeometry.cubeTime(s, frames: video.frames), locations: grid.height * grid.width)
        }
    }

    /// The trained model keeps activations between calls: one video at a time (its GEMMs use
    /// the BLAS threads). Pooling (middle = none) has no state and runs in parallel.
    func exportWorkers(_ policy: RunPolicy, model: C3DModel?) -> Int { model == nil ? policy.workers : 1 }

    func export(_ video: C3DVideo, model: C3DModel?, shape: FeaturesArtifact.MapShape, split: Int, subset: String,
                classNames: [String], to url: URL) throws {
        let s = config.c3d
        let cubes = try model.map { try $0.export(video) }
            ?? C3DModel.pooledExport(video, settings: s, shape: shape, grid: C3DModel.cubeGrid(s, shape: shape)!.height)
        let provenance = CubesArtifact.Provenance(
            branches: s.branches.map(\.rawValue), gridHeight: cubes.gridHeight, gridWidth: cubes.gridWidth,
            channels: cubes.channels, middle: s.middle.rawValue, round: round, attentionWeight: attentionWeight,
            timeOffset: cubes.timeOffset, centering: s.centering.rawValue)
        let storage = CubesArtifact.Storage(type: s.cubeStorage == .float16 ? .float16 : .float32,
                                            compression: s.cubeArrayCompression)
        try CubesArtifact.write(
            cubes: cubes.cubes, steps: cubes.steps, frameIndex: cubes.frameIndex, video: video.entry, split: split, subset: subset,
            provenance: provenance, storage: storage, to: url,
            header: ArtifactHeader(kind: .cubes, producer: "jam-c3d \(jamVersion)", configDigest: settings.digest,
                                   config: settings.canonicalJSON, source: video.features.path))
    }
}
