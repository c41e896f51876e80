// Tests: Tests/JAMStagesTests/LSTMConfigTests.swift (lstm settings read strictly with defaults, the paper profile), Tests/JAMConfigTests/ArtifactLayoutTests.swift (what the lstm digest holds)
import Foundation
import JAMCore

/// The first LSTM layer (docs/DESIGN.md §4 "Joint LSTM"; §5 Sharma et al. = `standard` with one branch).
public enum LSTMFirstLayerSetting: String, Sendable, Hashable, CaseIterable, Codable {
    /// The joint LSTM: per-branch sub-gates combined by A_k, B_k, C_k.
    case joint
    /// A standard LSTM on the concatenated branch inputs.
    case standard
}

/// How the LSTM looks at the K×K locations (docs/DESIGN.md §4 "Attention", §5 attention on/off).
public enum LSTMAttentionSetting: String, Sendable, Hashable, CaseIterable, Codable {
    /// One map shared by all branches.
    case joint
    /// One map per branch.
    case perBranch = "per_branch"
    /// No attention: the mean over locations (uniform weights 1/K², LRCN-like).
    case none
}

/// `"lstm"`: the joint-attention LSTM that `jam-lstm` trains on the feature cubes, and the
/// clip geometry of its exported attention and per-clip probabilities (docs/DESIGN.md §4 "Joint LSTM" to
/// "Optimiser").
///
/// Defaults are small, for the embedded synthetic dataset; the `paper` profile sets 3 layers of
/// 1024, clips of L1 = 30 and the vote over the last L2 = 16 steps.
///
/// `vote_steps` (L2) is used by evaluation, not by training: it is kept here, next to the clip
/// length it must not exceed, and is not in the LSTM digest (it changes no weight and no
/// exported number) but in the evaluation's (`ArtifactLayout.eval`), which reads it.
public struct LSTMSettings: PipelineConfigSection {
    public static let key = "lstm"
    /// H, units of every layer (paper 1024).
    public var hidden: Int = 32
    /// L, layers: the first layer plus L − 1 standard LSTMs (paper 3).
    public var layers: Int = 1
    public var firstLayer: LSTMFirstLayerSetting = .joint
    public var fusion: LSTMFusion = .late
    public var attention: LSTMAttentionSetting = .joint
    /// Per branch [full, 4 quadrants] (5·N inputs) instead of the attention-weighted sum (N).
    public var pyramid: Bool = true
    /// Each cube channel standardised (mean 0, σ 1 over the training videos' cubes) before the
    /// LSTM; `false` feeds the cubes as they are (identity, still recorded in the split's
    /// `normalization.h5`). In the digest only when `false`, so earlier digests stay valid.
    public var standardize: Bool = true
    /// L1, steps per training clip (paper 30).
    public var clipLength: Int = 16
    /// s, frames between clip starts, in training and in export.
    public var clipStride: Int = 8
    /// L2, the last steps of a clip whose argmax predictions vote (paper 16); ≤ `clip_length`.
    /// Read by evaluation; in the evaluation's digest (`ArtifactLayout.eval`), not the LSTM's.
    public var voteSteps: Int = 8
    public var optimizer: OptimizerSetting = .adam
    public var learningRate: Double = 1e-3
    /// μ of SGD's momentum (ignored by Adam).
    public var momentum: Double = 0.9
    /// The learning rate is multiplied by `lr_decay` every `lr_decay_every` epochs (0: never).
    public var lrDecay: Double = 1
    public var lrDecayEvery: Int = 0
    /// Not in the digest: raising it continues the trained model (`export.json` records the
    /// epochs of the exports; what reads them has them in its digest).
    public var epochs: Int = 20
    /// Clips per optimizer step (paper profile 16).
    public var batch: Int = 8
    /// Seeds the weights' initialisation and the clip order.
    public var seed: Int = 5
    /// ζ of the weight decay ζ‖θ‖² (paper 1e-5).
    public var weightDecay: Double = 1e-5
    /// Checkpoint every this many steps (0: only at epoch ends); not in the digest.
    public var checkpointEvery: Int = 50
    /// Log a training line (running loss, rate, ETA) every this many steps (0: per epoch only); not in the digest.
    public var logEverySteps: Int = 100
    /// Validate on this many test clips, a seeded sample fixed for the whole run (0: all).
    /// Not in the digest: validation is only logged.
    public var validationClips: Int = 0
    /// Validate after every k-th epoch and after the last (0: never). Not in the digest.
    public var validateEvery: Int = 1
    /// BLAS threads; not in the digest (training is bit-identical at the same count).
    public var threads: Int = 2

    public init() {}

    public init(reading r: JSONObjectReader) throws {
        hidden = try r.int("hidden", default: hidden, min: 1, max: 65536)
        layers = try r.int("layers", default: layers, min: 1, max: 64)
        firstLayer = try r.choice("first_layer", default: firstLayer)
        fusion = try r.choice("fusion", default: fusion)
        attention = try r.choice("attention", default: attention)
        pyramid = try r.bool("pyramid", default: pyramid)
        standardize = try r.bool("standardize", default: standardize)
        clipLength = try r.int("clip_length", default: clipLength, min: 1)
        clipStride = try r.int("clip_stride", default: clipStride, min: 1)
        voteSteps = try r.int("vote_steps", default: voteSteps, min: 1)
        try r.require(voteSteps <= clipLength, "vote_steps",
                      expected: "at most clip_length (\(clipLength)): the vote reads the last steps of a clip")
        try readTrainingSettings(r)
        weightDecay = try r.double("weight_decay", default: weightDecay, min: 0)
        threads = try r.int("threads", default: threads, min: 1, max: 256)
    }

    public var json: JSONValue {
        ["hidden": .int(hidden), "layers": .int(layers), "first_layer": .string(firstLayer.rawValue),
         "fusion": .string(fusion.rawValue), "attention": .string(attention.rawValue), "pyramid": .bool(pyramid),
         "standardize": .bool(standardize),
         "clip_length": .int(clipLength), "clip_stride": .int(clipStride), "vote_steps": .int(voteSteps),
         "optimizer": .string(optimizer.rawValue), "learning_rate": .number(learningRate),
         "momentum": .number(momentum), "lr_decay": .number(lrDecay), "lr_decay_every": .int(lrDecayEvery),
         "epochs": .int(epochs), "batch": .int(batch), "seed": .int(seed), "weight_decay": .number(weightDecay),
         "checkpoint_every": .int(checkpointEvery), "log_every_steps": .int(logEverySteps),
         "validation_clips": .int(validationClips), "validate_every": .int(validateEvery), "threads": .int(threads)]
    }
}

extension PipelineConfig {
    /// `lstm` over the cubes of `cubesDigest` (`ArtifactLayout.lstm(round:)` fills it in): that
    /// digest, `c3d.epochs` when the middle module is trained (the cubes folder's digest leaves
    /// it out: the cubes of a longer-trained convnet replace those of the shorter one there), and
    /// every `lstm` setting except those that change no weight and no exported number
    /// (`threads`, `checkpoint_every`, `log_every_steps`, `vote_steps`) and `epochs` (raising it
    /// continues the trained model in the same folder; see `c3dStage`). `standardize` is there
    /// only when `false`, so that digests made before the setting existed stay valid.
    public func lstmStage(cubesDigest: String) -> StageSettings {
        var part = lstm.json.objectValue!
        for key in ["threads", "checkpoint_every", "log_every_steps", "validation_clips", "validate_every", "vote_steps", "epochs"] { part[key] = nil }
        if lstm.standardize { part["standardize"] = nil }
        var settings: [String: JSONValue] = ["cubes": .string(cubesDigest), "lstm": .object(part)]
        if c3d.middle != .none { settings["c3d_epochs"] = .int(c3d.epochs) }
        return StageSettings(.object(settings))
    }
}

extension LSTMSettings: TrainingSettings {}
