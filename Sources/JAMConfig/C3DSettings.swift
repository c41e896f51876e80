// Tests: Tests/JAMStagesTests/C3DStageTests.swift (c3d settings read strictly with JSON paths, the c3d digest, 2d middle and valid kernels), Tests/JAMConfigTests/ArtifactLayoutTests.swift (λ and middle = none in the round-2 digest)
import JAMCore

/// A VGG16 tap that feeds a branch (docs/DESIGN.md §4): both are `[T, S/16, S/16, 512]`.
public enum FeatureTap: String, Sendable, Hashable, CaseIterable, Codable {
    case pool4
    case conv5_3
}

/// The module between VGG16 and the LSTM (the paper's Table 3).
public enum MiddleModule: String, Sendable, Hashable, CaseIterable, Codable {
    /// Two 3D convolutions (kt × k × k) with deep supervision: the paper's model.
    case threeD = "3d"
    /// The same with kt = 1: per-frame 2D convolutions.
    case twoD = "2d"
    /// No training: the VGG map average-pooled to K × K goes straight to the LSTM.
    case none
}

/// What jam-c3d subtracts from each video's VGG16 maps before the middle module.
public enum InputCentering: String, Sendable, Hashable, CaseIterable, Codable {
    /// Nothing: the maps as jam-features wrote them (the paper).
    case none
    /// The video's own mean map (per position and channel, over all its frames): what does not
    /// change in the video (background, static objects) is taken out and what moves is left.
    case video
}

/// Optimizer of a trained stage (docs/DESIGN.md §4: not given by the paper; Adam by default).
public enum OptimizerSetting: String, Sendable, Hashable, CaseIterable, Codable {
    case adam, sgd
}

/// `"c3d"`: the 3D convnet of each branch, its training, and its exported feature cubes
/// (docs/DESIGN.md §4 "3D convnet", "Attention regularisation", "Clips", "Optimiser").
///
/// Defaults are small, for the embedded synthetic dataset (S = 96 → 6×6 maps → K = 3); the
/// `paper` profile sets the paper's widths and valid spatial padding of conv1 (24 → 22 → 11).
///
/// Rounds (docs/DESIGN.md §4): `jam-c3d --round 1` trains with λ = 0; `--round r` (r ≥ 2) trains with
/// λ = `attention_weight` against the attention the LSTM of round r − 1 wrote. `rounds` says how
/// many rounds the pipeline runs; it does not change any one round's output.
public struct C3DSettings: PipelineConfigSection {
    public static let key = "c3d"
    /// The VGG taps, one branch each.
    public var branches: [FeatureTap] = [.pool4, .conv5_3]
    public var middle: MiddleModule = .threeD
    /// L1, frames per training clip (paper 30).
    public var clipLength: Int = 16
    /// s, frames between clip starts.
    public var clipStride: Int = 8
    /// kt of both kernels for `middle = 3d` (`2d` uses 1).
    public var temporalKernel: Int = 3
    /// kh = kw of both kernels.
    public var spatialKernel: Int = 3
    /// Output channels of conv1 and conv2 (the cube's N); paper 256 and 256.
    public var conv1Width: Int = 32
    public var conv2Width: Int = 32
    /// Hidden width of the deep-supervision head (paper 512).
    public var hiddenWidth: Int = 64
    public var conv1TemporalPadding: ConvPadding = .same
    /// Paper: valid (24 → 22, pooled to 11).
    public var conv1SpatialPadding: ConvPadding = .same
    public var conv2TemporalPadding: ConvPadding = .same
    public var conv2SpatialPadding: ConvPadding = .same
    /// 2×2 spatial max-pool after conv1.
    public var pool: Bool = true
    /// `video`: each video's mean map is subtracted from its maps before the middle module
    /// (`InputCentering`). The mean is over the unordered set of frames, so it tells nothing of
    /// their order. On the synthetic default the static part is ~93% of the maps' energy and the
    /// 3D convnet memorises it (test accuracy at chance) unless it is taken out; on real videos
    /// the scene is a cue the paper's model uses, so the `paper` profile sets `none`.
    public var centering: InputCentering = .video
    /// Each input channel standardised (mean 0, σ 1 over the training videos' features) before
    /// the 3D convnet; `false` feeds the maps as they are (identity, still recorded in the split's
    /// `normalization.h5`). In the digest only when `false`, so digests made before the setting
    /// existed stay valid.
    public var standardize: Bool = true
    /// K for `middle = none` (the VGG map average-pooled to K×K); 0 = the K the 3D convnet
    /// would give for the same maps.
    public var grid: Int = 0
    /// λ of the attention term in rounds ≥ 2 (round 1 uses 0). Paper 1000 on its 11×11 grid;
    /// the default 10 suits the small 3×3 grid, where the shares p are ~10× larger and λ = 1000
    /// outweighs the cross-entropy ~15:1.
    public var attentionWeight: Double = 10
    /// Rounds of c3d → lstm the pipeline runs (docs/DESIGN.md §4; default 2). Not in the digest.
    public var rounds: Int = 2
    /// ζ of the weight decay ζ‖θ‖² (paper 1e-5).
    public var weightDecay: Double = 1e-5
    public var optimizer: OptimizerSetting = .adam
    public var learningRate: Double = 1e-3
    /// μ of SGD's momentum (ignored by Adam).
    public var momentum: Double = 0.9
    /// The learning rate is multiplied by `lr_decay` every `lr_decay_every` epochs (0: never).
    public var lrDecay: Double = 1
    public var lrDecayEvery: Int = 0
    /// Not in the digest: raising it continues the trained model (`export.json` records the
    /// epochs of the exports; what reads them has them in its digest).
    public var epochs: Int = 3
    /// Clips per optimizer step.
    public var batch: Int = 8
    /// Seeds the weights' initialisation and the clip order.
    public var seed: Int = 3
    /// Checkpoint every this many steps (0: only at epoch ends); not in the digest.
    public var checkpointEvery: Int = 50
    /// Log a training line (running loss, rate, ETA) every this many steps (0: per epoch only); not in the digest.
    public var logEverySteps: Int = 100
    /// Validate on this many test clips, a seeded sample fixed for the whole run (0: all).
    /// Not in the digest: validation is only logged.
    public var validationClips: Int = 0
    /// Validate after every k-th epoch and after the last (0: never). Not in the digest.
    public var validateEvery: Int = 1
    /// BLAS threads; not in the digest (results are bit-identical only at the same count).
    public var threads: Int = 2
    /// Element type of the stored cubes. `float16` halves them (rounded to nearest, relative
    /// error ≤ 2⁻¹¹) and is in the digest; the default `float32` keeps the cubes as computed.
    public var cubeStorage: FeatureStorage = .float32
    /// Deflate of the cubes at `cube_compression_level` (`CompressionSetting`); lossless, so not in the digest.
    public var cubeCompression: CompressionSetting = .deflate
    public var cubeCompressionLevel: Int = 1

    /// The deflate level the cubes are written with (0: uncompressed).
    public var cubeDeflateLevel: Int { cubeCompression == .none ? 0 : cubeCompressionLevel }

    public init() {}

    /// λ of round `round`: 0 in round 1 (there is no attention to match yet) and whenever
    /// nothing is trained (`middle = none`), `attention_weight` in later rounds.
    public func attentionWeight(round: Int) -> Double {
        round >= 2 && middle != .none ? attentionWeight : 0
    }

    /// kt of both kernels as trained: `temporal_kernel`, or 1 for `middle = 2d`.
    public var kernelTime: Int { middle == .twoD ? 1 : temporalKernel }

    public init(reading r: JSONObjectReader) throws {
        branches = try C3DSettings.readBranches(r, default: branches)
        middle = try r.choice("middle", default: middle)
        clipLength = try r.int("clip_length", default: clipLength, min: 1)
        clipStride = try r.int("clip_stride", default: clipStride, min: 1)
        temporalKernel = try r.int("temporal_kernel", default: temporalKernel, min: 1, max: 15)
        try r.require(temporalKernel % 2 == 1, "temporal_kernel", expected: "an odd kernel size")
        spatialKernel = try r.int("spatial_kernel", default: spatialKernel, min: 1, max: 15)
        try r.require(spatialKernel % 2 == 1, "spatial_kernel", expected: "an odd kernel size")
        conv1Width = try r.int("conv1_width", default: conv1Width, min: 1)
        conv2Width = try r.int("conv2_width", default: conv2Width, min: 1)
        hiddenWidth = try r.int("hidden_width", default: hiddenWidth, min: 1)
        conv1TemporalPadding = try r.choice("conv1_temporal_padding", default: conv1TemporalPadding)
        conv1SpatialPadding = try r.choice("conv1_spatial_padding", default: conv1SpatialPadding)
        conv2TemporalPadding = try r.choice("conv2_temporal_padding", default: conv2TemporalPadding)
        conv2SpatialPadding = try r.choice("conv2_spatial_padding", default: conv2SpatialPadding)
        pool = try r.bool("pool", default: pool)
        centering = try r.choice("centering", default: centering)
        standardize = try r.bool("standardize", default: standardize)
        grid = try r.int("grid", default: grid, min: 0, max: 1024)
        attentionWeight = try r.double("attention_weight", default: attentionWeight, min: 0)
        rounds = try r.int("rounds", default: rounds, min: 1, max: 100)
        weightDecay = try r.double("weight_decay", default: weightDecay, min: 0)
        try readTrainingSettings(r)
        threads = try r.int("threads", default: threads, min: 1, max: 256)
        cubeStorage = try r.choice("cube_storage", default: cubeStorage)
        (cubeCompression, cubeCompressionLevel) = try r.deflateLevel("cube_", compression: cubeCompression,
                                                                      level: cubeCompressionLevel)
    }

    /// `branches`: a non-empty array of distinct tap names.
    private static func readBranches(_ r: JSONObjectReader, default defaultValue: [FeatureTap]) throws -> [FeatureTap] {
        guard let v = r.value("branches") else { return defaultValue }
        let names = FeatureTap.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
        guard case .array(let items) = v, !items.isEmpty else {
            throw r.error(at: "branches", "expected a non-empty array of \(names), found \(v.shortDescription)")
        }
        var taps: [FeatureTap] = []
        for (i, item) in items.enumerated() {
            let here = r.path.appending("branches").appending(index: i)
            guard let tap = item.stringValue.flatMap(FeatureTap.init(rawValue:)) else {
                throw r.error(atPath: here, "expected one of \(names), found \(item.shortDescription)")
            }
            if taps.contains(tap) { throw r.error(atPath: here, "\"\(tap.rawValue)\" is listed twice") }
            taps.append(tap)
        }
        return taps
    }

    public var json: JSONValue {
        ["branches": .array(branches.map { .string($0.rawValue) }), "middle": .string(middle.rawValue),
         "clip_length": .int(clipLength), "clip_stride": .int(clipStride),
         "temporal_kernel": .int(temporalKernel), "spatial_kernel": .int(spatialKernel),
         "conv1_width": .int(conv1Width), "conv2_width": .int(conv2Width), "hidden_width": .int(hiddenWidth),
         "conv1_temporal_padding": .string(conv1TemporalPadding.rawValue),
         "conv1_spatial_padding": .string(conv1SpatialPadding.rawValue),
         "conv2_temporal_padding": .string(conv2TemporalPadding.rawValue),
         "conv2_spatial_padding": .string(conv2SpatialPadding.rawValue),
         "pool": .bool(pool), "centering": .string(centering.rawValue),
         "standardize": .bool(standardize), "grid": .int(grid), "attention_weight": .number(attentionWeight),
         "rounds": .int(rounds), "weight_decay": .number(weightDecay), "optimizer": .string(optimizer.rawValue),
         "learning_rate": .number(learningRate), "momentum": .number(momentum), "lr_decay": .number(lrDecay),
         "lr_decay_every": .int(lrDecayEvery), "epochs": .int(epochs), "batch": .int(batch), "seed": .int(seed),
         "checkpoint_every": .int(checkpointEvery), "log_every_steps": .int(logEverySteps),
         "validation_clips": .int(validationClips), "validate_every": .int(validateEvery), "threads": .int(threads),
         "cube_storage": .string(cubeStorage.rawValue), "cube_compression": .string(cubeCompression.rawValue),
         "cube_compression_level": .int(cubeCompressionLevel)]
    }
}

extension PipelineConfig {
    /// `c3d` of round `round`: the features digest, the attention folder's digest (rounds ≥ 2
    /// with λ > 0), λ as used in that round, and every `c3d` setting except those that cannot
    /// change the weights or cubes (`threads`, `checkpoint_every`, `log_every_steps`,
    /// `validation_clips`, `validate_every`, `rounds`, and the lossless `cube_compression`,
    /// `cube_compression_level`) and `epochs`: raising it continues the trained model in the same
    /// folder (the learning rate and the clip orders depend on the epoch index only), and the
    /// exports record the epochs of the weights that made them (`export.json`). From round 2 with
    /// λ > 0, the attention folder's digest and `lstm.epochs` (the epochs of the LSTM that wrote it)
    /// are in. With `middle = none` nothing is trained, so only the settings that shape the pooled
    /// cube count. `cube_storage` is there only when it is `float16`, and `standardize` only when
    /// `false` (nothing is standardised for `middle = none`), so that digests made before these
    /// settings existed stay valid.
    ///
    /// - Parameters:
    ///   - featuresDigest: `try config.featuresDigest(weightsDigest: config.weightsFileDigest())`.
    ///   - round: 1 trains with λ = 0; later rounds with `attention_weight`.
    ///   - attentionDigest: the digest naming the attention folder of the previous LSTM round;
    ///     required when `round ≥ 2`, `middle ≠ none` and λ > 0.
    public func c3dStage(featuresDigest: String, round: Int = 1, attentionDigest: String? = nil) throws -> StageSettings {
        var part = c3d.json.objectValue!
        for key in ["threads", "checkpoint_every", "log_every_steps", "validation_clips", "validate_every", "rounds", "epochs",
                    "cube_compression", "cube_compression_level"] { part[key] = nil }
        if c3d.cubeStorage == .float32 { part["cube_storage"] = nil }
        if c3d.standardize { part["standardize"] = nil }
        var settings: [String: JSONValue] = ["features": .string(featuresDigest)]
        if c3d.middle == .none {
            part = ["branches": part["branches"]!, "middle": part["middle"]!, "grid": .int(c3d.grid),
                    "centering": part["centering"]!]
            // K defaults to the 3D geometry's, which these settings determine.
            for key in ["spatial_kernel", "conv1_spatial_padding", "conv2_spatial_padding", "pool"] {
                part[key] = c3d.json[key]!
            }
            if c3d.cubeStorage == .float16 { part["cube_storage"] = .string(c3d.cubeStorage.rawValue) }
        } else {
            let lambda = c3d.attentionWeight(round: round)
            part["attention_weight"] = .number(lambda)
            if lambda > 0 {
                guard let attentionDigest else {
                    throw JAMError("round \(round) with attention_weight \(lambda) needs the attention of LSTM round \(round - 1)",
                                   file: file, location: "$.c3d.attention_weight")
                }
                settings["attention"] = .string(attentionDigest)
                settings["lstm_epochs"] = .int(lstm.epochs)
            }
        }
        settings["c3d"] = .object(part)
        return StageSettings(.object(settings))
    }

    /// Digest of `c3dStage(featuresDigest:round:attentionDigest:)`.
    public func c3dDigest(featuresDigest: String, round: Int = 1, attentionDigest: String? = nil) throws -> String {
        try c3dStage(featuresDigest: featuresDigest, round: round, attentionDigest: attentionDigest).digest
    }
}

/// The optimisation settings every trained stage (`c3d`, `lstm`) has, with the same keys.
public protocol TrainingSettings: Sendable {
    var optimizer: OptimizerSetting { get set }
    var learningRate: Double { get set }
    /// μ of SGD's momentum (ignored by Adam).
    var momentum: Double { get set }
    var lrDecay: Double { get set }
    var lrDecayEvery: Int { get set }
    var epochs: Int { get set }
    var batch: Int { get set }
    var seed: Int { get set }
    var checkpointEvery: Int { get set }
    var logEverySteps: Int { get set }
    var validationClips: Int { get set }
    var validateEvery: Int { get set }
}

extension TrainingSettings {
    /// Reads the shared optimisation keys of a section, keeping the current values as defaults.
    mutating func readTrainingSettings(_ r: JSONObjectReader) throws {
        optimizer = try r.choice("optimizer", default: optimizer)
        learningRate = try r.double("learning_rate", default: learningRate, min: 0)
        try r.require(learningRate > 0, "learning_rate", expected: "a positive number")
        momentum = try r.double("momentum", default: momentum, min: 0, max: 1)
        lrDecay = try r.double("lr_decay", default: lrDecay, min: 0, max: 1)
        lrDecayEvery = try r.int("lr_decay_every", default: lrDecayEvery, min: 0)
        epochs = try r.int("epochs", default: epochs, min: 0)
        batch = try r.int("batch", default: batch, min: 1)
        seed = try r.int("seed", default: seed, min: 0)
        checkpointEvery = try r.int("checkpoint_every", default: checkpointEvery, min: 0)
        logEverySteps = try r.int("log_every_steps", default: logEverySteps, min: 0)
        validationClips = try r.int("validation_clips", default: validationClips, min: 0)
        validateEvery = try r.int("validate_every", default: validateEvery, min: 0)
    }

    /// Whether validation runs after the 0-based `epoch`: every `validate_every`-th epoch and the last.
    public func validates(afterEpoch epoch: Int) -> Bool {
        validateEvery > 0 && ((epoch + 1) % validateEvery == 0 || epoch + 1 == epochs)
    }
}

extension C3DSettings: TrainingSettings {}
