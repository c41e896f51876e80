import Foundation
import JAMCore

/// The settings that determine one stage's output, and their digest.
///
/// `digest` is the first 16 hex digits of the SHA-256 of `canonicalJSON`; it names the stage's
/// artifact folder (`PipelineConfig.stageDirectory`) and goes into each artifact's
/// `jam_config_digest` attribute, with `canonicalJSON` beside it as provenance. Each stage's
/// settings include its upstream stage's digest, so a change anywhere upstream moves every
/// downstream artifact to a new folder, and a setting that cannot change the output (threads,
/// for example) is left out, so changing it redoes nothing.
public struct StageSettings: Sendable, Hashable {
    /// The settings, as a JSON object.
    public let settings: JSONValue

    public init(_ settings: JSONValue) {
        self.settings = settings
    }

    /// `settings` in canonical form (sorted keys, no whitespace).
    public var canonicalJSON: String { settings.canonicalString }

    /// First 16 hex digits of SHA-256(`canonicalJSON`).
    public var digest: String { String(SHA256.hex(canonicalJSON).prefix(16)) }
}

extension StageSettings {
    /// The file in each digest folder that holds the settings the folder's name is the digest of.
    public static let fileName = "settings.json"

    /// Writes `canonicalJSON` (no trailing newline, so `sha256sum settings.json` begins with
    /// the folder's name) as `settings.json` in the digest folder `folder`, atomically. A file
    /// already there with the same bytes is left as it is; one with other bytes means that
    /// two different settings share this folder, and nothing is written into it.
    public func record(in folder: URL) throws {
        let url = folder.appendingPathComponent(Self.fileName)
        let data = Data(canonicalJSON.utf8)
        if let existing = FileManager.default.contents(atPath: url.path) {
            if existing == data { return }
            let cause = String(SHA256.hex(existing).prefix(16)) == digest
                ? "a digest collision: other settings with the same digest \(digest)"
                : "settings whose digest is not \(digest), the folder's name (the file was edited or the folder renamed)"
            throw JAMError("holds \(cause); these settings are \(canonicalJSON). Move the folder \(folder.path) aside "
                           + "(nothing else in it can be trusted to belong to these settings) and rerun", file: url.path)
        }
        try AtomicFile.write(data, to: url)
    }
}

extension PipelineConfig {
    /// `synth`: every setting of the `synth` section.
    public var synthStage: StageSettings {
        StageSettings(synth.json)
    }

    /// `decode`: the dataset's identity (name, format, root as written, and the synth digest when
    /// the dataset is synthetic) and the decode settings except `threads`. The splits are left
    /// out: they choose which videos are decoded, not what a video decodes to.
    public var decodeStage: StageSettings {
        var datasetPart: [String: JSONValue] = [
            "name": .string(dataset.name), "format": .string(dataset.format.rawValue),
            "root": .string(dataset.root), "synthetic": .bool(dataset.synthetic),
        ]
        if dataset.synthetic { datasetPart["synth"] = .string(synthStage.digest) }
        var decodePart = decode.json.objectValue!
        decodePart["threads"] = nil
        return StageSettings(["dataset": .object(datasetPart), "decode": .object(decodePart)])
    }

    /// `features`: the decode digest, the weights' identity, the storage type and the batch size
    /// (VGG16's blocks 4-5 run the frames of a batch through one GEMM, whose blocking moves the
    /// last bits of the result), not `threads` (results are identical at any thread count).
    ///
    /// - Parameter weightsDigest: identifies the weights file when `features.weights` is set:
    ///   pass `try config.weightsFileDigest()` (or any string that changes with the file's
    ///   contents). Ignored when `features.weights` is null: the identity is then
    ///   `"he-init:<init_seed>"`.
    /// - Throws: when `features.weights` is set and `weightsDigest` is nil.
    public func featuresStage(weightsDigest: String?) throws -> StageSettings {
        let identity: String
        if features.weights == nil {
            identity = "he-init:\(features.initSeed)"
        } else if let weightsDigest {
            identity = weightsDigest
        } else {
            throw JAMError("features.weights is set, so the features digest needs the weights file's digest",
                           file: file, location: "$.features.weights")
        }
        return StageSettings([
            "decode": .string(decodeStage.digest), "weights": .string(identity),
            "storage": .string(features.storage.rawValue), "batch": .int(features.batch),
        ])
    }

    // `c3dStage(featuresDigest:round:attentionDigest:)` lives beside its section in C3DSettings.swift,
    // `lstmStage(cubesDigest:)` beside its own in LSTMSettings.swift; `ArtifactLayout` chains them.

    /// Digest of `synthStage`.
    public var synthDigest: String { synthStage.digest }

    /// Digest of `decodeStage`.
    public var decodeDigest: String { decodeStage.digest }

    /// Digest of `featuresStage(weightsDigest:)`.
    public func featuresDigest(weightsDigest: String?) throws -> String {
        try featuresStage(weightsDigest: weightsDigest).digest
    }

    /// `"sha256:<64 hex digits>"` of the weights file's contents, or nil when `features.weights`
    /// is null. Reads the whole file (VGG16 notop is 58 MB: a fraction of a second); throws a
    /// `JAMError` naming the file when it cannot be read.
    public func weightsFileDigest() throws -> String? {
        guard let url = weightsURL else { return nil }
        return "sha256:" + (try SHA256.hex(ofFile: url))
    }
}
