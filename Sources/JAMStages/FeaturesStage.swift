import Foundation
import JAMArtifacts
import JAMConfig
import JAMCore
import JAMModel
import JAMTensor

/// Stage 2, `jam-features`: VGG16 `pool4` and `conv5_3` maps for every frames artifact of the
/// configured splits, one `features` artifact per video (docs/ARTIFACTS.md), in
/// `<artifacts_root>/<dataset>/features/<features digest>/`.
///
/// Frames stream through in batches of `features.batch`: a batch is read from the frames
/// artifact, run through the network, and written into its slice of the output datasets, so
/// memory does not grow with video length.
public enum FeaturesStage {
    public static let folderName = "features"
    public static let preprocessing = "RGB->BGR, minus ImageNet mean [103.939, 116.779, 123.68], no scaling"

    /// The identity of the network the config asks for, recorded in every artifact and part of
    /// the features digest: `keras:sha256:<hex> <file name>`, or `he-init:<seed>` when no
    /// weights file is set.
    public static func weightsIdentity(config: PipelineConfig) throws -> String {
        guard let url = config.weightsURL else { return "he-init:\(config.features.initSeed)" }
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw JAMError("VGG16 weights file not found (set features.weights, or null for a He-initialised network)",
                           file: url.path)
        }
        return "keras:\(try config.weightsFileDigest() ?? "unknown") \(url.lastPathComponent)"
    }

    /// The features digest: the decode digest, the weights' identity and the storage type.
    public static func digest(config: PipelineConfig) throws -> StageSettings {
        try config.featuresStage(weightsDigest: config.weightsURL == nil ? nil : weightsIdentity(config: config))
    }

    /// The network the config asks for, and its identity.
    public static func loadNetwork(config: PipelineConfig) throws -> (weights: VGG16Weights, identity: String) {
        let identity = try weightsIdentity(config: config)
        guard let url = config.weightsURL else {
            return (VGG16Weights.heInitialized(seed: UInt64(config.features.initSeed)), identity)
        }
        let layers = try KerasWeightsFile.load(from: url, layers: VGG16Layer.all.map(\.name))
        let weights = try VGG16Weights(
            layers: layers.mapValues { (kernel: $0.kernel, kernelShape: $0.kernelShape, bias: $0.bias) },
            origin: identity)
        return (weights, identity)
    }

    public static func run(config: PipelineConfig, policy: RunPolicy, progress: ProgressReporter? = nil) throws -> StageReport {
        let (videos, _, problems) = try DecodeStage.videos(config: config)
        let framesFolder = config.stageDirectory(DecodeStage.folderName, digest: config.decodeDigest)
        let (weights, identity) = try loadNetwork(config: config)
        if config.weightsURL == nil {
            writeStandardError("""
                jam-features: WARNING: no VGG16 weights configured (features.weights is null).
                jam-features: WARNING: using a randomly initialised He-normal VGG16 (seed \(config.features.initSeed)),
                jam-features: WARNING: so these are NOT ImageNet features; every artifact records 'weights: \(identity)'.

                """)
        }
        let stage = try digest(config: config)
        let folder = config.stageDirectory(folderName, digest: stage.digest)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        removeStaleTemporaries(under: folder)

        // One network, threads inside each layer: videos go through one at a time.
        let threads = policy.workers
        // Not thread-safe, and safe here: the runner below uses exactly one worker.
        let network = UncheckedSendable(VGG16FeatureExtractor(weights: weights, threads: threads))
        let settings = config.features
        let units = videos.map {
            WorkUnit(name: $0.relativePath,
                     input: PipelineConfig.artifactURL(forVideo: $0.relativePath, in: framesFolder),
                     output: PipelineConfig.artifactURL(forVideo: $0.relativePath, in: folder))
        }
        var sequential = policy
        sequential.workers = 1
        let runner = StageRunner(stage: "jam-features", policy: sequential, progress: progress)
        let report = runner.run(units: units, knownFailures: problems, configDigest: stage.digest) { unit in
            let header = ArtifactHeader(
                kind: .features, producer: "jam-features \(jamVersion)", configDigest: stage.digest,
                config: stage.canonicalJSON, source: unit.input.path)
            try extractVideo(network: network.value, from: unit.input, to: unit.output, header: header,
                             batch: settings.batch, storage: settings.storage == .float16 ? .float16 : .float32,
                             weightsIdentity: identity)
        }
        try report.write(to: folder)
        return report
    }

    /// Reads one frames artifact in batches, runs the network, writes one features artifact.
    static func extractVideo(
        network: VGG16FeatureExtractor, from input: URL, to output: URL, header: ArtifactHeader,
        batch: Int, storage: HDF5StorageType, weightsIdentity: String
    ) throws {
        guard FileManager.default.fileExists(atPath: input.path) else {
            throw ArtifactError(path: input.path, "frames artifact missing; run jam-decode first (did that video fail there?)")
        }
        let frames = try ArtifactReader(url: input, expecting: .frames)
        let framesDataset = try frames.file.openDataset("frames")
        let shape = try framesDataset.shape()
        guard shape.count == 4, shape[3] == 3, shape[1] == shape[2], shape[1] > 0, shape[1] % 16 == 0 else {
            throw ArtifactError(path: input.path, "frames dataset has shape \(shape), expected [T, S, S, 3] with S a multiple of 16")
        }
        let (t, s) = (shape[0], shape[1])
        let side = s / 16
        let mapCount = side * side * 512

        let writer = try ArtifactWriter(url: output, header: header)
        let file = writer.file!
        let options = DatasetOptions(storage: storage, chunk: [1, side, side, 512])
        let pool4 = try file.createDataset("pool4", of: Float.self, shape: [t, side, side, 512], options: options)
        let conv5_3 = try file.createDataset("conv5_3", of: Float.self, shape: [t, side, side, 512], options: options)

        let batch = max(1, batch)
        var pixels = [UInt8](repeating: 0, count: batch * s * s * 3)
        var pool4Batch = [Float](repeating: 0, count: batch * mapCount)
        var conv5Batch = [Float](repeating: 0, count: batch * mapCount)
        var start = 0
        while start < t {
            let n = min(batch, t - start)
            try pixels.withUnsafeMutableBufferPointer { p in
                try framesDataset.read(into: UnsafeMutableBufferPointer(rebasing: p[0..<(n * s * s * 3)]),
                                       at: [start, 0, 0, 0], shape: [n, s, s, 3])
            }
            try pool4Batch.withUnsafeMutableBufferPointer { p4 in
                try conv5Batch.withUnsafeMutableBufferPointer { c5 in
                    try pixels.withUnsafeBufferPointer { px in
                        try network.extract(pool4: p4.baseAddress!, conv5_3: c5.baseAddress!, frames: px.baseAddress!,
                                            batch: n, frameSize: s)
                    }
                }
            }
            for (name, values) in [("pool4", pool4Batch), ("conv5_3", conv5Batch)] {
                if let bad = values[0..<(n * mapCount)].firstIndex(where: { !$0.isFinite }) {
                    throw ArtifactError(path: input.path, "\(name) is not finite at frame \(start + bad / mapCount)")
                }
            }
            try pool4Batch.withUnsafeBufferPointer {
                try pool4.write(buffer: UnsafeBufferPointer(rebasing: $0[0..<(n * mapCount)]),
                                at: [start, 0, 0, 0], shape: [n, side, side, 512])
            }
            try conv5Batch.withUnsafeBufferPointer {
                try conv5_3.write(buffer: UnsafeBufferPointer(rebasing: $0[0..<(n * mapCount)]),
                                  at: [start, 0, 0, 0], shape: [n, side, side, 512])
            }
            start += n
        }
        try file.write("frame_index", try frames.file.read("frame_index", as: Int32.self).data, shape: [t])
        for name in ["video", "class_name"] {
            try file.setAttribute(name, try frames.file.stringAttribute(name) ?? "")
        }
        try file.setAttribute("label", try frames.file.intAttribute("label") ?? -1)
        try file.setAttribute("input_size", s)
        try file.setAttribute("weights", weightsIdentity)
        try file.setAttribute("preprocessing", preprocessing)
        try writer.publish()
    }
}
