// Tests: Tests/JAMConfigTests/PipelineConfigTests.swift (dataset, synth, decode and features sections: defaults, unknown keys and bad values by JSON path, relative paths)
import JAMCore

/// One top-level section of `pipeline.json` (`"decode": {...}`), read strictly: every key has a
/// default, unknown keys and wrong types are errors naming the JSON path.
///
/// To add a section: define a struct conforming to this protocol, add it as a stored property of
/// `PipelineConfig`, read it in `PipelineConfig.init(document:file:baseDirectory:profile:)` next to
/// the others, and compose its digest (`StageDigests.swift`, `ArtifactLayout`) from its upstream
/// stage's digest plus exactly the settings that change its output. An unknown top-level section
/// is an error like any unknown key.
public protocol PipelineConfigSection: Sendable, Hashable {
    /// The section's key at the root of the file, e.g. `"decode"`.
    static var key: String { get }
    /// Reads the section; absent keys take their defaults.
    init(reading section: JSONObjectReader) throws
    /// Every setting of the section with its effective value, keys as in the file.
    var json: JSONValue { get }
}

// MARK: - dataset

/// `"dataset"`: which videos, where, in which split layout.
public struct DatasetSettings: PipelineConfigSection {
    public static let key = "dataset"
    /// Short name used in artifact paths (`<artifacts_root>/<name>/...`); letters, digits, `.`, `_`, `-`.
    public var name: String = "synth"
    /// The split-file layout under `root`.
    public var format: DatasetFormat = .ucf101
    /// The dataset folder as written in the file; relative paths resolve against the config
    /// file's folder (`PipelineConfig.datasetRoot`).
    public var root: String = "data/synth"
    /// Which standard splits (1...3) to use, in order.
    public var splits: [Int] = [1]
    /// True when `jam-synth` generates the dataset from the `synth` section (its digest then
    /// becomes part of every downstream digest). False unless the config says so: a folder of
    /// the user's own videos is read as it is, never written into.
    public var synthetic: Bool = false

    public init() {}

    public init(reading r: JSONObjectReader) throws {
        name = try r.string("name", default: name)
        try r.require(DatasetSettings.isSafeName(name), "name",
                      expected: "a name of letters, digits, '.', '_' or '-' (it becomes a folder)")
        format = try r.choice("format", default: format)
        root = try r.string("root", default: root)
        splits = try r.intArray("splits", default: splits, min: 1, max: 3, unique: true)
        synthetic = try r.bool("synthetic", default: synthetic)
    }

    public var json: JSONValue {
        ["name": .string(name), "format": .string(format.rawValue), "root": .string(root),
         "splits": .array(splits.map { .int($0) }), "synthetic": .bool(synthetic)]
    }

    static func isSafeName(_ s: String) -> Bool {
        s != "." && s != ".." && !s.isEmpty && s.unicodeScalars.allSatisfy {
            $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "._-".unicodeScalars.contains($0))
        }
    }
}

// MARK: - synth

/// Container of the synthetic videos.
public enum VideoContainer: String, Sendable, Hashable, CaseIterable, Codable {
    case avi, mp4
}

/// `"synth"`: the synthetic action dataset that `jam-synth` writes (used when `dataset.synthetic`).
public struct SynthSettings: PipelineConfigSection {
    public static let key = "synth"
    /// Seed of everything random in the generator.
    public var seed: Int = 2016
    /// Number of motion classes, 2...10 (even, so that every class has its time-reversed partner).
    public var classes: Int = 6
    /// Videos per class, at least 3 so that each of the 3 splits has test videos.
    public var videosPerClass: Int = 24
    /// Frames per video.
    public var frames: Int = 36
    /// Frames of one pass of the motion (`SyntheticActionGenerator.motionPeriod`): 0 spreads one
    /// pass over the whole video; P > 0 moves at one pass per P frames whatever the video's length,
    /// repeating, so that a clip of P frames of a long video sees as much motion as a P-frame video.
    public var motionPeriod: Int = 16
    /// Frame width and height in pixels (even, for 4:2:0 video).
    public var width: Int = 160
    public var height: Int = 120
    /// Frames per second written into the container.
    public var fps: Int = 25
    public var container: VideoContainer = .avi

    public init() {}

    public init(reading r: JSONObjectReader) throws {
        seed = try r.int("seed", default: seed, min: 0)
        classes = try r.int("classes", default: classes, min: 2, max: 10)
        videosPerClass = try r.int("videos_per_class", default: videosPerClass, min: 3)
        frames = try r.int("frames", default: frames, min: 1)
        motionPeriod = try r.int("motion_period", default: motionPeriod, min: 0)
        try r.require(motionPeriod != 1, "motion_period", expected: "0 (one pass over the whole video) or at least 2 frames")
        width = try r.int("width", default: width, min: 16, max: 4096)
        try r.require(width % 2 == 0, "width", expected: "an even width (4:2:0 video)")
        height = try r.int("height", default: height, min: 16, max: 4096)
        try r.require(height % 2 == 0, "height", expected: "an even height (4:2:0 video)")
        fps = try r.int("fps", default: fps, min: 1, max: 240)
        container = try r.choice("container", default: container)
    }

    public var json: JSONValue {
        var object: [String: JSONValue] = [
            "seed": .int(seed), "classes": .int(classes), "videos_per_class": .int(videosPerClass),
            "frames": .int(frames), "width": .int(width), "height": .int(height), "fps": .int(fps),
            "container": .string(container.rawValue)]
        // Named only when set, so that the digests of datasets made before the setting stand.
        if motionPeriod > 0 { object["motion_period"] = .int(motionPeriod) }
        return .object(object)
    }
}

// MARK: - decode

/// `"decode"`: video → frames artifact (`[T, S, S, 3]` RGB bytes).
public struct DecodeSettings: PipelineConfigSection {
    public static let key = "decode"
    /// Output side S in pixels; a multiple of 16 so VGG16's four 2×2 pools divide it (S/16 at pool4).
    public var size: Int = 96
    public var resize: ResizeMode = .stretch
    /// Keep every `every`-th frame (1 = all).
    public var every: Int = 1
    /// Keep at most this many frames after subsampling; 0 = all.
    public var maxFrames: Int = 0
    /// Decoder threads per video; does not change the output, so not in the digest.
    public var threads: Int = 2

    public init() {}

    public init(reading r: JSONObjectReader) throws {
        size = try r.int("size", default: size, min: 16, max: 2048)
        try r.require(size % 16 == 0, "size", expected: "a multiple of 16")
        resize = try r.choice("resize", default: resize)
        every = try r.int("every", default: every, min: 1)
        maxFrames = try r.int("max_frames", default: maxFrames, min: 0)
        threads = try r.int("threads", default: threads, min: 1, max: 256)
    }

    public var json: JSONValue {
        ["size": .int(size), "resize": .string(resize.rawValue), "every": .int(every),
         "max_frames": .int(maxFrames), "threads": .int(threads)]
    }
}

// MARK: - features

/// Element type of stored feature maps (`features.storage`) and cubes (`c3d.cube_storage`).
public enum FeatureStorage: String, Sendable, Hashable, CaseIterable, Codable {
    case float32, float16
}

/// Lossless compression of stored arrays (`features.compression`, `c3d.cube_compression`):
/// HDF5's byte-shuffle and deflate filters, built into every HDF5 library, so h5py, h5dump or
/// MATLAB read the files without plugins. Lossless, so it is in no digest: a folder may hold
/// files written either way, and readers see the same values (docs/BENCHMARKS.md "Disk").
/// `deflate` is deflate alone (the default: measured smaller than with the shuffle on JAM's
/// features and cubes); `shuffle_deflate` puts the byte shuffle in front.
public enum CompressionSetting: String, Sendable, Hashable, CaseIterable, Codable {
    case none, deflate
    case shuffleDeflate = "shuffle_deflate"
}

extension JSONObjectReader {
    /// Reads `<prefix>compression` and `<prefix>compression_level` (1–9) and returns the deflate
    /// level they mean (0 = none).
    func deflateLevel(_ prefix: String, compression: CompressionSetting, level: Int) throws -> (CompressionSetting, Int) {
        (try choice("\(prefix)compression", default: compression), try int("\(prefix)compression_level", default: level, min: 1, max: 9))
    }
}

/// `"features"`: frames → VGG16 `pool4` and `conv5_3` maps (`[T, S/16, S/16, 512]` each).
public struct FeaturesSettings: PipelineConfigSection {
    public static let key = "features"
    /// Keras VGG16 notop `.h5` weights as written in the file (relative to the config file's
    /// folder; `PipelineConfig.weightsURL`), or nil for a deterministic He-initialised network.
    public var weights: String? = nil
    /// Seed of the He initialisation, used only when `weights` is nil.
    public var initSeed: Int = 16
    /// Frames per forward pass; does not change the output, so not in the digest.
    public var batch: Int = 8
    public var storage: FeatureStorage = .float16
    /// Deflate at `compression_level` (`CompressionSetting`); lossless, so not in the digest.
    public var compression: CompressionSetting = .deflate
    public var compressionLevel: Int = 1
    /// Compute threads; not in the digest.
    public var threads: Int = 2

    public init() {}

    public init(reading r: JSONObjectReader) throws {
        weights = try r.optionalString("weights", default: weights)
        initSeed = try r.int("init_seed", default: initSeed, min: 0)
        batch = try r.int("batch", default: batch, min: 1)
        storage = try r.choice("storage", default: storage)
        (compression, compressionLevel) = try r.deflateLevel("", compression: compression, level: compressionLevel)
        threads = try r.int("threads", default: threads, min: 1, max: 256)
    }

    /// The deflate level the features are written with (0: uncompressed).
    public var deflateLevel: Int { compression == .none ? 0 : compressionLevel }

    public var json: JSONValue {
        ["weights": weights.map { .string($0) } ?? .null, "init_seed": .int(initSeed), "batch": .int(batch),
         "storage": .string(storage.rawValue), "compression": .string(compression.rawValue),
         "compression_level": .int(compressionLevel), "threads": .int(threads)]
    }
}
