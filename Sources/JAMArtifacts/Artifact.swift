import Foundation
import JAMCore

// The contract between stages. Every artifact is one HDF5 file whose root attributes say what
// it is (docs/DESIGN.md §3), so that `h5dump -A file.h5` explains it without the code:
//
//   jam_artifact        string   kind, e.g. "frames"
//   jam_schema_version  int64    bumped whenever the kind's layout changes
//   jam_producer        string   "jam-decode 0.1.0"
//   jam_config_digest   string   digest of exactly the settings that determine this artifact
//   jam_config          string   those settings, as canonical JSON
//   jam_source          string   what it was made from (a video path, an upstream artifact)
//   jam_created         string   ISO 8601, UTC (SOURCE_DATE_EPOCH when set: see ArtifactHeader.creationTime)
//
// docs/ARTIFACTS.md documents each kind's datasets.

/// A kind of artifact: its name, the schema version this build reads and writes, and the
/// stage that makes it (named in errors, so users know what to rerun).
public struct ArtifactKind: Sendable, Hashable, CustomStringConvertible {
    public var name: String
    public var schemaVersion: Int
    public var producedBy: String

    public init(name: String, schemaVersion: Int, producedBy: String) {
        (self.name, self.schemaVersion, self.producedBy) = (name, schemaVersion, producedBy)
    }

    public var description: String { "'\(name)' artifact (schema \(schemaVersion), written by \(producedBy))" }

    /// One video's decoded frames: `frames [T, S, S, 3]` uint8 RGB.
    public static let frames = ArtifactKind(name: "frames", schemaVersion: 1, producedBy: "jam-decode")
    /// One video's VGG16 maps: `pool4`, `conv5_3` `[T, S/16, S/16, 512]`.
    public static let features = ArtifactKind(name: "features", schemaVersion: 1, producedBy: "jam-features")

    /// The 3D convnet's training state: parameters, optimizer moments, position in the data,
    /// random state, data order and per-epoch log (JAMTraining's `TrainingCheckpoint`).
    public static let c3dCheckpoint = ArtifactKind(name: "c3d-checkpoint", schemaVersion: 1, producedBy: "jam-c3d")
    /// One video's feature cubes: `cube/<branch>` `[T, K, K, N]` float32 (or float16) per branch.
    /// Schema 2: the input standardization moved to the split's `normalization` artifact.
    public static let cubes = ArtifactKind(name: "cubes", schemaVersion: 2, producedBy: "jam-c3d")
    /// One split's per-channel input standardization of a trained stage (`mean/<branch>`,
    /// `scale/<branch>` `[C]`), written by jam-c3d (of the features) and jam-lstm (of the cubes).
    public static let normalization = ArtifactKind(name: "normalization", schemaVersion: 1,
                                                   producedBy: "jam-c3d or jam-lstm")
    /// One video's LSTM attention maps: `attention` `[T, K·K]` float32 (read by jam-c3d's later rounds).
    public static let attention = ArtifactKind(name: "attention", schemaVersion: 1, producedBy: "jam-lstm")
    /// The joint-attention LSTM's training state (JAMTraining's `TrainingCheckpoint`).
    public static let lstmCheckpoint = ArtifactKind(name: "lstm-checkpoint", schemaVersion: 1, producedBy: "jam-lstm")
    /// One split's test-video predictions (true and predicted labels, top 5, probabilities), by jam-eval.
    public static let predictions = ArtifactKind(name: "predictions", schemaVersion: 1, producedBy: "jam-eval")

    /// Every kind this build knows, for messages and `jam-inspect`-style tools.
    public static let all: [ArtifactKind] = [.frames, .features, .c3dCheckpoint, .cubes, .normalization, .attention,
                                                .lstmCheckpoint, .predictions]
}

/// The root attributes every artifact carries.
public struct ArtifactHeader: Sendable, Equatable {
    public var kind: String
    public var schemaVersion: Int
    public var producer: String
    public var configDigest: String
    public var config: String
    public var source: String
    public var created: String

    public init(kind: ArtifactKind, producer: String, configDigest: String, config: String, source: String,
                created: Date = ArtifactHeader.creationTime()) {
        self.kind = kind.name
        self.schemaVersion = kind.schemaVersion
        self.producer = producer
        self.configDigest = configDigest
        self.config = config
        self.source = source
        self.created = ISO8601DateFormatter().string(from: created)
    }

    init(kind: String, schemaVersion: Int, producer: String, configDigest: String, config: String,
         source: String, created: String) {
        self.kind = kind
        self.schemaVersion = schemaVersion
        self.producer = producer
        self.configDigest = configDigest
        self.config = config
        self.source = source
        self.created = created
    }

    /// The time `jam_created` records: now, or `SOURCE_DATE_EPOCH` (seconds since 1970, the
    /// reproducible-builds convention) when that is set. The creation time is the only part of
    /// an artifact that differs between two runs on the same inputs (HDF5 object times are
    /// off), so with the variable set, runs — sharded or not, on any host — write identical bytes.
    public static func creationTime(environment: [String: String] = ProcessInfo.processInfo.environment) -> Date {
        guard let text = environment["SOURCE_DATE_EPOCH"], let seconds = Int64(text) else { return Date() }
        return Date(timeIntervalSince1970: TimeInterval(seconds))
    }

    func write(to file: HDF5File) throws {
        try file.setAttribute("jam_artifact", kind)
        try file.setAttribute("jam_schema_version", schemaVersion)
        try file.setAttribute("jam_producer", producer)
        try file.setAttribute("jam_config_digest", configDigest)
        try file.setAttribute("jam_config", config)
        try file.setAttribute("jam_source", source)
        try file.setAttribute("jam_created", created)
    }

    /// Reads the header, or throws an `ArtifactError` naming the file when it is not a JAM artifact.
    static func read(from file: HDF5File, expecting expected: ArtifactKind) throws -> ArtifactHeader {
        guard let kind = try file.stringAttribute("jam_artifact") else {
            throw ArtifactError(path: file.url.path,
                "not a JAM artifact (no jam_artifact attribute); expected a \(expected). Rerun \(expected.producedBy).")
        }
        let version = try file.intAttribute("jam_schema_version") ?? -1
        return ArtifactHeader(
            kind: kind, schemaVersion: version,
            producer: try file.stringAttribute("jam_producer") ?? "",
            configDigest: try file.stringAttribute("jam_config_digest") ?? "",
            config: try file.stringAttribute("jam_config") ?? "",
            source: try file.stringAttribute("jam_source") ?? "",
            created: try file.stringAttribute("jam_created") ?? "")
    }
}

/// An artifact that cannot be used: wrong kind, wrong schema, unreadable. The description
/// names the file, what was found, what was expected and which stage to rerun. It is JAM's
/// general user-facing error, with the artifact as its file.
public typealias ArtifactError = JAMError

extension JAMError {
    /// An error about the file at `path`: `"<path>: <message>"`.
    public init(path: String, _ message: String) {
        self.init(message, file: path)
    }
}

/// An artifact opened for reading, its kind and schema checked.
public struct ArtifactReader: Sendable {
    public let file: HDF5File
    public let header: ArtifactHeader

    /// Opens `url` and checks that it is an artifact of `kind` at this build's schema version.
    public init(url: URL, expecting kind: ArtifactKind) throws {
        let file: HDF5File
        do {
            file = try HDF5File.open(at: url)
        } catch let error as HDF5Error {
            throw ArtifactError(path: url.path, "\(error.message); expected a \(kind). Rerun \(kind.producedBy) to remake it.")
        }
        let header = try ArtifactHeader.read(from: file, expecting: kind)
        guard header.kind == kind.name else {
            throw ArtifactError(path: url.path,
                "found a '\(header.kind)' artifact (schema \(header.schemaVersion)), expected a \(kind). "
                + "Check the stage's input folder, or rerun \(kind.producedBy).")
        }
        guard header.schemaVersion == kind.schemaVersion else {
            throw ArtifactError(path: url.path,
                "'\(kind.name)' artifact has schema version \(header.schemaVersion), this build reads version "
                + "\(kind.schemaVersion) (written by \(header.producer.isEmpty ? "an unknown producer" : header.producer)). "
                + "Rerun \(kind.producedBy) with --force to remake it.")
        }
        self.file = file
        self.header = header
    }
}

/// Writes an artifact under a temporary name in its final folder and publishes it by rename,
/// so a reader never sees a half-written file under the final name (docs/DESIGN.md §3). If the writer
/// is dropped without `publish()`, the temporary file is removed.
public final class ArtifactWriter: @unchecked Sendable {
    public let finalURL: URL
    public let temporaryURL: URL
    /// The file to fill; its root attributes are already written.
    public private(set) var file: HDF5File?
    private var published = false

    public init(url: URL, header: ArtifactHeader) throws {
        finalURL = url
        try SystemError.createFolder(url.deletingLastPathComponent())
        temporaryURL = AtomicFile.temporaryURL(for: url)
        let file: HDF5File
        do {
            file = try HDF5File.create(at: temporaryURL)
        } catch let error as HDF5Error {
            // Name the output the user asked for; the temporary is ours.
            throw ArtifactError(path: url.path, "cannot write it: creating its temporary file failed: "
                                + error.message.replacingOccurrences(of: "cannot create HDF5 file: ", with: ""))
        }
        try header.write(to: file)
        self.file = file
    }

    /// Flushes and closes the file, then publishes it under its final name (fsync + rename).
    public func publish() throws {
        guard let file else { throw ArtifactError(path: finalURL.path, "already published") }
        try file.flush()
        self.file = nil  // closes the HDF5 handle (the last reference)
        try AtomicFile.commit(temporary: temporaryURL, to: finalURL)
        published = true
    }

    deinit {
        if !published {
            file = nil
            try? FileManager.default.removeItem(at: temporaryURL)
        }
    }
}
