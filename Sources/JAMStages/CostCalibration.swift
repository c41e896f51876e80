// Tests: Tests/JAMStagesTests/CostEstimateTests.swift
// shapes: VGG16 input [B, S, S, 3] uint8; a 3D-convnet clip [1, L, S/16, S/16, 512]; LSTM cubes per
// branch [B, L, K, K, N].
import Dispatch
import Foundation
import JAMConfig
import JAMCore
import JAMModel
import JAMNN
import JAMTraining
import JAMVideo
import JAMArtifacts

/// Seconds per unit of work of each stage, measured on this machine with the config's own
/// shapes and thread counts: the input of `CostEstimate`. Each figure is the faster of two timed
/// runs after a warm-up, so a short calibration (seconds at the paper's shapes) is stable enough
/// for an estimate in hours.
public struct UnitCosts: Sendable, Hashable, Codable {
    /// jam-decode: one 320×240 MPEG-4 source frame decoded and resized to S×S.
    public var decodePerFrame: Double
    /// jam-features: one S×S frame through VGG16 to conv5_3, at the configured batch (up to 4).
    public var featuresPerFrame: Double
    /// jam-c3d: one training clip through one branch (forward, backward, Adam); 0 for `middle = none`.
    public var c3dTrainPerClip: Double
    /// jam-c3d: one clip through one branch, forward only (validation and export).
    public var c3dForwardPerClip: Double
    /// jam-lstm: one training clip (a batch step divided by the batch).
    public var lstmTrainPerClip: Double
    /// jam-lstm: one clip, forward only (validation and export).
    public var lstmForwardPerClip: Double

    public init(decodePerFrame: Double, featuresPerFrame: Double, c3dTrainPerClip: Double,
                c3dForwardPerClip: Double, lstmTrainPerClip: Double, lstmForwardPerClip: Double) {
        self.decodePerFrame = decodePerFrame
        self.featuresPerFrame = featuresPerFrame
        self.c3dTrainPerClip = c3dTrainPerClip
        self.c3dForwardPerClip = c3dForwardPerClip
        self.lstmTrainPerClip = lstmTrainPerClip
        self.lstmForwardPerClip = lstmForwardPerClip
    }
}

/// Measures `UnitCosts` for a config (`jam-config estimate`). Nothing is written outside a
/// temporary folder; weights are random (timing does not depend on their values).
public enum CostCalibration {
    /// Runs every calibration; `log` receives a line per stage as it finishes.
    public static func measure(_ config: PipelineConfig, classCount: Int,
                               log: (String) -> Void = { _ in }) throws -> UnitCosts {
        let decode = try decodePerFrame(config)
        log(String(format: "  decode    %8.4f s per frame", decode))
        let features = try featuresPerFrame(config)
        log(String(format: "  features  %8.4f s per frame", features))
        let c3d = c3dPerClip(config, classCount: classCount)
        log(String(format: "  c3d       %8.4f s per training clip and branch, %.4f s forward", c3d.train, c3d.forward))
        let lstm = try lstmPerClip(config, classCount: classCount)
        log(String(format: "  lstm      %8.4f s per training clip, %.4f s forward", lstm.train, lstm.forward))
        return UnitCosts(decodePerFrame: decode, featuresPerFrame: features, c3dTrainPerClip: c3d.train,
                         c3dForwardPerClip: c3d.forward, lstmTrainPerClip: lstm.train, lstmForwardPerClip: lstm.forward)
    }

    /// The faster of two timed runs of `body` after one untimed run.
    static func bestSeconds(_ body: () throws -> Void) rethrows -> Double {
        try body()
        var best = Double.infinity
        for _ in 0..<2 {
            let start = DispatchTime.now().uptimeNanoseconds
            try body()
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return best
    }

    /// A UCF101-like source (320×240 MPEG-4 AVI, 48 frames) decoded at the config's S and resize.
    static func decodePerFrame(_ config: PipelineConfig) throws -> Double {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("jam-estimate-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        setFFmpegLogLevel(.error)
        let frames = 48
        let generator = try SyntheticActionGenerator(width: 320, height: 240, frames: frames, fps: 25, classes: 6, seed: 1)
        let url = dir.appendingPathComponent("calibration.avi")
        try generator.writeVideo(classIndex: 0, videoIndex: 0, to: url, codec: .mpeg4)
        let options = DecodeOptions(size: config.decode.size, resize: config.decode.resize, threads: config.decode.threads)
        return try bestSeconds { _ = try decodeVideo(at: url, options: options) } / Double(frames)
    }

    /// VGG16 (random weights) on `min(features.batch, 4)` frames at S.
    static func featuresPerFrame(_ config: PipelineConfig) throws -> Double {
        let side = config.decode.size, batch = min(config.features.batch, 4)
        let extractor = VGG16FeatureExtractor(weights: .heInitialized(seed: 1), threads: config.features.threads, frameSize: side)
        var random = SplitMix64(seed: 7)
        let frames = (0..<(batch * side * side * 3)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        return try bestSeconds { _ = try extractor.extract(frames: frames, batch: batch, frameSize: side) } / Double(batch)
    }

    /// The side of the VGG16 maps the middle module reads: S/16.
    static func mapSide(_ config: PipelineConfig) -> Int { config.decode.size / 16 }

    /// One branch (every branch has this shape: both taps are S/16 × S/16 × 512), a batch of one clip.
    static func c3dPerClip(_ config: PipelineConfig, classCount: Int) -> (train: Double, forward: Double) {
        let s = config.c3d
        guard s.middle != .none else { return (0, 0) }
        ComputeThreads.set(s.threads)
        let side = mapSide(config)
        let store = ParameterStore()
        let branch = ConvNet3DBranch(settings: s, inputChannels: 512, classCount: classCount, attentionWeight: 0,
                                     store: store, name: "calibration")
        branch.initialize(seed: 1)
        var optimizer = TrainingOptimizer.adam(parameterCount: store.totalCount)
        var random = SplitMix64(seed: 2)
        let input = (0..<(s.clipLength * side * side * 512)).map { _ in Float(random.nextUniform()) }
        let g = branch.geometry(batch: 1, time: s.clipLength, height: side, width: side)
        var cube = [Float](repeating: 0, count: g.cubeCount)
        let train = input.withUnsafeBufferPointer { x in
            bestSeconds {
                store.zeroGradients()
                _ = branch.lossAndGradients(clips: x.baseAddress!, labels: [0], attentionTargets: nil, batch: 1,
                                            time: s.clipLength, height: side, width: side)
                optimizer.update(store, learningRate: 1e-4)
            }
        }
        let forward = input.withUnsafeBufferPointer { x in
            cube.withUnsafeMutableBufferPointer { c in
                bestSeconds {
                    branch.forward(cube: c.baseAddress!, probabilities: nil, clips: x.baseAddress!, batch: 1,
                                   time: s.clipLength, height: side, width: side)
                }
            }
        }
        return (train, forward)
    }

    /// The cubes the LSTM reads: grid K and channels N per branch, as jam-c3d would export them.
    public static func cubeGeometry(_ config: PipelineConfig) -> CubesArtifact.Geometry {
        let s = config.c3d, side = mapSide(config)
        let grid = C3DModel.cubeGrid(s, shape: FeaturesArtifact.MapShape(height: side, width: side, channels: 512))?.height ?? 1
        let channels = s.middle == .none ? 512 : s.conv2Width
        return CubesArtifact.Geometry(branches: s.branches.map(\.rawValue), grid: grid,
                                      channels: Array(repeating: channels, count: s.branches.count))
    }

    /// A training step at the configured batch and clip length, and a forward pass of the same batch.
    static func lstmPerClip(_ config: PipelineConfig, classCount: Int) throws -> (train: Double, forward: Double) {
        let s = config.lstm
        ComputeThreads.set(s.threads)
        let shape = SequenceClassifierShape(settings: s, geometry: cubeGeometry(config), classCount: classCount)
        let model = try SequenceClassifier(shape: shape, seed: 1)
        var random = SplitMix64(seed: 3)
        let cells = shape.geometry.grid * shape.geometry.grid
        let cubes = shape.geometry.channels.map { n in
            (0..<(s.batch * s.clipLength * cells * n)).map { _ in Float(random.nextUniform()) }
        }
        let labels = (0..<s.batch).map { $0 % classCount }
        let train = try bestSeconds {
            model.store.zeroGradients()
            _ = try model.forward(cubes: cubes, labels: labels)
            model.backward()
        }
        let forward = try bestSeconds { _ = try model.predict(cubes: cubes, batchSize: s.batch) }
        return (train / Double(s.batch), forward / Double(s.batch))
    }
}
