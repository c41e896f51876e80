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
    public static let preprocessing = "RGB->BGR, minus ImageNet mean [103.939, 116.779, 123.68], no scaling"

    /// The network the config asks for, and its identity.
    public static func loadNetwork(config: PipelineConfig) throws -> (weights: VGG16Weights, identity: String) {
        let identity = try config.weightsIdentity()
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
        let (weights, identity) = try loadNetwork(config: config)
        let layout = try ArtifactLayout(config)
        let framesFolder = layout.framesFolder
        if config.weightsURL == nil {
            writeStandardError("""
                jam-features: WARNING: no VGG16 weights configured (features.weights is null).
                jam-features: WARNING: using a randomly initialised He-normal VGG16 (seed \(config.features.initSeed)),
                jam-features: WARNING: so these are NOT ImageNet features; every artifact records 'weights: \(identity)'.

                """)
        }
        let stage = layout.features
        let folder = layout.featuresFolder
        try SystemError.createFolder(folder, purpose: "jam-features' output folder")
        try stage.record(in: folder)
        removeStaleTemporaries(under: folder)

        // One network, threads inside each layer: videos go through one at a time.
        let threads = policy.workers
        // Not thread-safe, and safe here: the runner below uses exactly one worker.
        let network = UncheckedSendable(VGG16FeatureExtractor(weights: weights, threads: threads, frameSize: config.decode.size))
        let settings = config.features
        let units = videos.map {
            WorkUnit(name: $0.relativePath,
                     input: PipelineConfig.artifactURL(forVideo: $0.relativePath, in: framesFolder),
                     output: PipelineConfig.artifactURL(forVideo: $0.relativePath, in: folder))
        }
        var sequential = policy
        sequential.workers = 1
        let runner = StageRunner(stage: "jam-features", policy: sequential, progress: progress)
        let maps = FeaturesArtifact.MapShape(height: config.decode.size / 16, width: config.decode.size / 16, channels: 512)
        let verify = FinishedOutput.features(taps: ["pool4", "conv5_3"], shape: maps)
        let report = runner.run(units: units, knownFailures: problems, configDigest: stage.digest, verify: verify) { unit in
            let header = ArtifactHeader(
                kind: .features, producer: "jam-features \(jamVersion)", configDigest: stage.digest,
                config: stage.canonicalJSON, source: unit.input.path)
            try extractVideo(network: network.value, from: unit.input, to: unit.output, header: header,
                             batch: settings.batch, storage: settings.storage == .float16 ? .float16 : .float32,
                             compression: settings.arrayCompression, weightsIdentity: identity)
        }
        try report.write(to: folder)
        return report
    }

    /// Reads one frames artifact in batches, runs the network, writes one features artifact.
    static func extractVideo(
        network: VGG16FeatureExtractor, from input: URL, to output: URL, header: ArtifactHeader,
        batch: Int, storage: HDF5StorageType, compression: Compression = .none, weightsIdentity: String
    ) throws {
        let frames = try FramesArtifact.Reader(url: input, sizeMultiple: 16)
        let (t, s) = (frames.frameCount, frames.size)
        let shape = FeaturesArtifact.MapShape(height: s / 16, width: s / 16, channels: 512)
        let mapCount = shape.count
        let taps = ["pool4", "conv5_3"]
        let writer = try FeaturesArtifact.Writer(url: output, header: header, taps: taps, frames: t, shape: shape, storage: storage,
                                                 compression: compression)

        let batch = max(1, batch)
        var pixels = [UInt8](repeating: 0, count: batch * s * s * 3)
        var pool4 = [Float](repeating: 0, count: batch * mapCount)
        var conv5_3 = pool4
        var start = 0
        while start < t {
            let n = min(batch, t - start)
            try pixels.withUnsafeMutableBufferPointer { p in
                try frames.readFrames(into: UnsafeMutableBufferPointer(rebasing: p[0..<(n * s * s * 3)]), start: start, count: n)
            }
            try pool4.withUnsafeMutableBufferPointer { p4 in
                try conv5_3.withUnsafeMutableBufferPointer { c5 in
                    try pixels.withUnsafeBufferPointer { px in
                        try network.extract(pool4: p4.baseAddress!, conv5_3: c5.baseAddress!, frames: px.baseAddress!,
                                            batch: n, frameSize: s)
                    }
                }
            }
            let maps = [pool4, conv5_3]
            for (name, values) in zip(taps, maps) {
                if let bad = values[0..<(n * mapCount)].firstIndex(where: { !$0.isFinite }) {
                    throw ArtifactError(path: input.path, "\(name) is not finite at frame \(start + bad / mapCount)")
                }
            }
            for tap in taps.indices {
                try maps[tap].withUnsafeBufferPointer {
                    try writer.write(tap: tap, UnsafeBufferPointer(rebasing: $0[0..<(n * mapCount)]), start: start, count: n)
                }
            }
            start += n
        }
        try writer.publish(frameIndex: try frames.frameIndex(), video: try frames.video(), inputSize: s,
                           weights: weightsIdentity, preprocessing: preprocessing)
    }
}
