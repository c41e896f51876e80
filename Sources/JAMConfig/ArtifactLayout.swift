import Foundation
import JAMCore

/// Every stage's settings digest and folder for one config, computed once: the one place that
/// knows where an artifact lives and which round reads which (docs/DESIGN.md §2, §5).
///
///     <artifacts_root>/<dataset>/frames/<decode digest>/<Class>/<video>.h5
///     <artifacts_root>/<dataset>/features/<features digest>/<Class>/<video>.h5
///     <artifacts_root>/<dataset>/cubes/<c3d digest of round r>/split<N>/…       checkpoint, log, cubes
///     <artifacts_root>/<dataset>/lstm/<lstm digest of round r>/split<N>/…       checkpoint, log
///     <artifacts_root>/<dataset>/attention/<lstm digest of round r>/split<N>/…  attention per video
///     <artifacts_root>/<dataset>/eval/<eval digest>/<rule>/…                   metrics, predictions, report
///
/// Each digest folder holds `settings.json`, the canonical JSON its name is the digest of
/// (`StageSettings.record(in:)`). Each digest covers its upstream digest, so a change anywhere
/// upstream moves every downstream folder. Round r ≥ 2 of jam-c3d trains against the attention
/// of LSTM round r − 1, whose digest is part of round r's c3d digest when λ > 0.
public struct ArtifactLayout: Sendable {
    public static let framesFolderName = "frames"
    public static let featuresFolderName = "features"
    public static let cubesFolderName = "cubes"
    public static let lstmFolderName = "lstm"
    public static let attentionFolderName = "attention"
    public static let evalFolderName = "eval"
    /// In a trained stage's split folder: the training state and the per-epoch log beside it.
    public static let checkpointFileName = "checkpoint.h5"
    public static let trainingLogFileName = "training-log.json"

    public let config: PipelineConfig
    /// The features settings: the decode digest and the network's identity (which reads the
    /// weights file once, here).
    public let features: StageSettings

    /// Computes the features digest; throws when `features.weights` names a file that cannot be read.
    public init(_ config: PipelineConfig) throws {
        self.config = config
        features = try config.featuresStage(weightsDigest: config.weightsURL == nil ? nil : config.weightsIdentity())
    }

    /// `frames/<decode digest>/`.
    public var framesFolder: URL { config.stageDirectory(Self.framesFolderName, digest: config.decodeDigest) }

    /// `features/<features digest>/`.
    public var featuresFolder: URL { config.stageDirectory(Self.featuresFolderName, digest: features.digest) }

    /// The c3d settings of round `round`. `attentionFolder` overrides where the previous LSTM
    /// round's attention is read from (its digest folder); by default, where this config's
    /// LSTM of round − 1 writes it.
    public func c3d(round: Int, attentionFolder: URL? = nil) throws -> StageSettings {
        precondition(round >= 1, "rounds count from 1")
        let source = config.c3d.attentionWeight(round: round) > 0
            ? try attentionFolder ?? self.attentionFolder(round: round - 1) : nil
        return try config.c3dStage(featuresDigest: features.digest, round: round,
                                   attentionDigest: source?.standardizedFileURL.lastPathComponent)
    }

    /// `cubes/<c3d digest of round r>/`: what jam-c3d of round r writes and jam-lstm of round r reads.
    public func cubesFolder(round: Int, attentionFolder: URL? = nil) throws -> URL {
        config.stageDirectory(Self.cubesFolderName, digest: try c3d(round: round, attentionFolder: attentionFolder).digest)
    }

    /// The lstm settings of round `round`: the digest of the cubes it trains on and the `lstm`
    /// settings that change a weight or an exported number.
    public func lstm(round: Int) throws -> StageSettings {
        config.lstmStage(cubesDigest: try c3d(round: round).digest)
    }

    /// `lstm/<lstm digest of round r>/`: checkpoints, logs, the stage report.
    public func lstmFolder(round: Int) throws -> URL {
        config.stageDirectory(Self.lstmFolderName, digest: try lstm(round: round).digest)
    }

    /// `attention/<lstm digest of round r>/`: the attention artifacts evaluation and jam-c3d of
    /// round r + 1 read.
    public func attentionFolder(round: Int) throws -> URL {
        config.stageDirectory(Self.attentionFolderName, digest: try lstm(round: round).digest)
    }

    /// What determines an evaluation: the last round's lstm digest and `lstm.epochs` (the
    /// attention folder holds the exports of the model as trained last), the prediction rule, L2
    /// (`lstm.vote_steps`) and the splits evaluated.
    public func eval(rule: String) throws -> StageSettings {
        StageSettings(["lstm": .string(try lstm(round: config.c3d.rounds).digest), "lstm_epochs": .int(config.lstm.epochs),
                       "rule": .string(rule),
                       "vote_steps": .int(config.lstm.voteSteps), "splits": .array(config.dataset.splits.map { .int($0) })])
    }

    /// `eval/<eval digest>/<rule>/`: another L2 or another list of splits writes elsewhere.
    public func evalFolder(rule: String) throws -> URL {
        config.stageDirectory(Self.evalFolderName, digest: try eval(rule: rule).digest)
            .appendingPathComponent(rule, isDirectory: true)
    }

    /// A split's folder inside a trained stage's digest folder: `<folder>/split<N>/`.
    public static func splitFolder(_ folder: URL, split: Int) -> URL {
        folder.appendingPathComponent("split\(split)", isDirectory: true)
    }

    /// Every stage's folder, in pipeline order (for `jam-config paths` and scripts).
    public func allFolders(evalRule: String) throws -> [(stage: String, folder: URL)] {
        var folders: [(String, URL)] = [("frames", framesFolder), ("features", featuresFolder)]
        for round in 1...max(1, config.c3d.rounds) {
            folders.append(("cubes r\(round)", try cubesFolder(round: round)))
            folders.append(("lstm r\(round)", try lstmFolder(round: round)))
            folders.append(("attention r\(round)", try attentionFolder(round: round)))
        }
        folders.append(("eval", try evalFolder(rule: evalRule)))
        return folders
    }
}

extension PipelineConfig {
    /// The identity of the VGG16 the config asks for, recorded in every features artifact and
    /// part of the features digest: `keras:sha256:<hex> <file name>`, or `he-init:<seed>` when
    /// `features.weights` is null.
    public func weightsIdentity() throws -> String {
        guard let url = weightsURL else { return "he-init:\(features.initSeed)" }
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw JAMError("VGG16 weights file not found (set features.weights, or null for a He-initialised network)",
                           file: url.path)
        }
        return "keras:\(try weightsFileDigest() ?? "unknown") \(url.lastPathComponent)"
    }
}
