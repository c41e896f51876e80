// shapes: see LSTMModel.swift (batches) and LSTMAttentionExport.swift (the exported arrays).
import Foundation
import JAMArtifacts
import JAMConfig
import JAMCore
import JAMModel
import JAMTraining

/// Stage 4, `jam-lstm --round r`: per configured split, trains the joint-attention LSTM on the
/// cubes of the split's training videos (its test videos are the validation set), then exports
/// one `attention` artifact per train and test video (docs/ARTIFACTS.md).
///
/// Layout, both folders named by the lstm digest of round r (`ArtifactLayout.lstm(round:)`):
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
public struct LSTMStage: TrainedStage {
    /// Cubes are kept in memory up to this many bytes in total; later videos are read per clip.
    public static let memoryBudget = 1 << 31

    let config: PipelineConfig
    public let round: Int
    /// `cubes/<c3d digest of this round>/`.
    public let cubesFolder: URL
    /// `lstm/<digest>/`: checkpoints, logs, the stage report.
    public let folder: URL
    /// `attention/<digest>/`: the exported artifacts.
    public let attentionFolder: URL
    public let settings: StageSettings
    var stage: String { "jam-lstm" }
    /// Bytes of cubes held in memory so far (`check` keeps cubes while under `memoryBudget`).
    var keptBytes = 0

    /// Resolves the digests and folders of round `round` (≥ 1).
    public init(config: PipelineConfig, round: Int) throws {
        guard round >= 1 else { throw JAMError("--round must be at least 1, got \(round)") }
        let layout = try ArtifactLayout(config)
        self.config = config
        self.round = round
        settings = try layout.lstm(round: round)
        cubesFolder = try layout.cubesFolder(round: round)
        folder = try layout.lstmFolder(round: round)
        attentionFolder = try layout.attentionFolder(round: round)
    }

    /// Trains and exports every configured split; writes `stage-report.json` into the lstm folder.
    /// Throws (after nothing worse than a kept checkpoint) when training diverges or a split has
    /// no usable video.
    public static func run(
        config: PipelineConfig, policy: RunPolicy, round: Int = 1, progress: ProgressReporter? = nil
    ) throws -> StageReport {
        let stage = try LSTMStage(config: config, round: round)
        guard FileManager.default.fileExists(atPath: stage.cubesFolder.path) else {
            throw JAMError("no cubes for this configuration and round; run jam-c3d --round \(round) first",
                           file: stage.cubesFolder.path)
        }
        return try stage.run(config: config, policy: policy, reportFolder: stage.folder,
                             progress: progress ?? ProgressReporter(label: "jam-lstm"))
    }

    // MARK: What jam-lstm supplies to the trained-stage skeleton

    func ownedFolders(split: Int) -> [URL] {
        [ArtifactLayout.splitFolder(folder, split: split), ArtifactLayout.splitFolder(attentionFolder, split: split)]
    }
    func exportFolder(split: Int) -> URL { ArtifactLayout.splitFolder(attentionFolder, split: split) }
    func inputFolder(split: Int) -> URL { ArtifactLayout.splitFolder(cubesFolder, split: split) }
    var missingInputs: String { "run jam-c3d --round \(round) first" }
    var digestFolders: [URL] { [folder, attentionFolder] }
    var checkpointKind: ArtifactKind { .lstmCheckpoint }
    var trainedEpochs: Int { config.lstm.epochs }
    var inputExports: (epochs: Int, setting: String, rerun: String)? {
        (config.c3d.middle == .none ? 0 : config.c3d.epochs, "c3d.epochs", "run jam-c3d --round \(round)")
    }
    var remakeInputs: String { "run jam-c3d --round \(round) (it redoes missing and damaged cubes)" }
    var exportVerification: (WorkUnit, VerificationDepth) throws -> Void {
        let classes = (try? Self.readSplit(config: config, split: config.dataset.splits[0]).classNames.count)
        return FinishedOutput.attention(classes: classes)
    }

    mutating func check(_ url: URL, entry: VideoEntry, expected: CubesArtifact.Geometry?) throws
        -> (LSTMVideo, CubesArtifact.Geometry)
    {
        let result = try LSTMVideo.scan(url, entry: entry, branches: config.c3d.branches.map(\.rawValue),
                                        expected: expected, keep: keptBytes < Self.memoryBudget, round: round)
        keptBytes += result.0.cubes.reduce(0) { $0 + 4 * $1.count }
        return result
    }

    /// The model with its final weights and the optimizer steps they took.
    struct Trained {
        let model: LSTMModel
        let step: Int
    }

    func train(split: Int, folder: URL, train: [LSTMVideo], test: [LSTMVideo], shape: CubesArtifact.Geometry,
               classNames: [String], exportDone: Bool, progress: ProgressReporter) throws -> Trained {
        let s = config.lstm
        guard !train.isEmpty else {
            throw JAMError("split \(split) has no usable training video", file: inputFolder(split: split).path)
        }
        let normalization = LSTMModel.inputNormalization(training: train, geometry: shape)
        try writeNormalization(normalization, branches: shape.branches, inputs: "cubes", split: split,
                               trainingVideos: train.count, folder: folder)
        let model = try LSTMModel(settings: s, geometry: shape, classCount: classNames.count, inputNormalization: normalization)
        // Trained and exported: nothing to load.
        let checkpoint = folder.appendingPathComponent(ArtifactLayout.checkpointFileName)
        if exportDone, let position = TrainingCheckpoint.position(at: checkpoint, kind: .lstmCheckpoint), position.epoch == s.epochs {
            return Trained(model: model, step: position.step)
        }

        let sampler = ClipSampler(frameCounts: train.map(\.steps), clipLength: s.clipLength, stride: s.clipStride)
        let testSampler = test.isEmpty ? nil
            : ClipSampler(frameCounts: test.map(\.steps), clipLength: s.clipLength, stride: s.clipStride)
        let step = try runTrainingLoop(
            training: s, store: model.store, sampler: sampler, checkpoint: .lstmCheckpoint, folder: folder,
            source: inputFolder(split: split), split: split,
            description: "training on \(train.count) videos (\(sampler.clips.count) clips of \(s.clipLength) steps), "
                + "validating on \(test.count) (\(min(s.validationClips > 0 ? s.validationClips : .max, testSampler?.clips.count ?? 0)) of \(testSampler?.clips.count ?? 0) clips); cubes \(model.geometry); "
                + "\(model.store.totalCount) parameters",
            progress: progress,
            step: { try model.trainStep($0.clips, sampler: sampler, videos: train) },
            validate: testSampler.map { testSampler in
                let clips = testSampler.validationSample(count: s.validationClips, seed: UInt64(s.seed))
                return {
                    try DataParallel.evaluate(clips, communicator: DataParallelStage.world) {
                        try model.evaluate($0, sampler: testSampler, videos: test, batchSize: s.batch)
                    }
                }
            })
        return Trained(model: model, step: step)
    }

    /// The model keeps state between calls: one video at a time (its GEMMs use the BLAS threads).
    func exportWorkers(_ policy: RunPolicy, model: Trained) -> Int { 1 }

    /// Runs the model over the video's export clips and writes its attention artifact.
    func export(_ video: LSTMVideo, model trained: Trained, shape: CubesArtifact.Geometry, split: Int, subset: String,
                classNames: [String], to url: URL) throws {
        let s = config.lstm
        let content = try trained.model.export(video, settings: s, classNames: classNames, round: round,
                                               checkpointStep: trained.step)
        try AttentionArtifact.write(
            content, video: video.entry, split: split, subset: subset, to: url,
            header: ArtifactHeader(kind: .attention, producer: "jam-lstm \(jamVersion)", configDigest: settings.digest,
                                   config: settings.canonicalJSON, source: video.url.path))
    }
}
