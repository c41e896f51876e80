// shapes: a batch of clips per branch x [B, L1, H, W, C]; labels [B]; attention targets
// [B, T2, K·K]; per-step probabilities [B, T2, classes]; an exported cube [T2, Kh, Kw, N]
// (T2 = T for temporally "same" convolutions); the pooled map of middle = none [T, K, K, C].
// Tests: Tests/JAMStagesTests/C3DStageTests.swift (training learns, exported cubes recomputed from the checkpoint, resume and divergence)
import Foundation
import JAMArtifacts
import JAMConfig
import JAMCore
import JAMNN
import JAMTraining

/// jam-c3d's model: one `ConvNet3DBranch` per VGG tap, all in one `ParameterStore` (names
/// `<tap>.conv1.kernel`, …), trained jointly on the sum of the branches' losses (each with its
/// own deep-supervision head and, in rounds ≥ 2, its own attention term against the shared
/// LSTM attention map).
public final class C3DModel {
    public let settings: C3DSettings
    public let taps: [FeatureTap]
    public let mapShape: FeaturesArtifact.MapShape
    public let classCount: Int
    public let store = ParameterStore()
    public let branches: [ConvNet3DBranch]
    /// λ of this round (`C3DSettings.attentionWeight(round:)`).
    public let attentionWeight: Float
    /// Per branch, the map applied to its input features (`InputNormalization.perTap`).
    public let inputNormalization: [InputNormalization]

    /// Batch buffers, reused between steps: one input per branch, attention targets.
    private var inputs: [[Float]]
    private var targets: [Float] = []

    /// The model of round `round` (λ from the settings), its parameters zero until
    /// `initialize(seed:)` or a checkpoint fills them.
    public init(settings: C3DSettings, mapShape: FeaturesArtifact.MapShape, classCount: Int, round: Int,
                inputNormalization: [InputNormalization]? = nil) {
        self.settings = settings
        taps = settings.branches
        self.inputNormalization = inputNormalization ?? taps.map { _ in .identity(channels: mapShape.channels) }
        self.mapShape = mapShape
        self.classCount = classCount
        attentionWeight = Float(settings.attentionWeight(round: round))
        let (store, lambda) = (self.store, attentionWeight)
        branches = taps.map {
            ConvNet3DBranch(settings: settings, inputChannels: mapShape.channels, classCount: classCount,
                            attentionWeight: lambda, store: store, name: $0.rawValue)
        }
        inputs = taps.map { _ in [] }
    }

    /// He-normal weights, zero biases; branch i draws from `mix64(seed ^ i)`.
    public func initialize(seed: Int) {
        for (i, branch) in branches.enumerated() {
            branch.initialize(seed: mix64(UInt64(seed) ^ (UInt64(i) &* 0x9E37_79B9_7F4A_7C15)))
        }
    }

    var frameFloats: Int { mapShape.count }

    /// Fills each branch's input `[B, L1, H, W, C]` with the clips' frames.
    private func loadBatch(_ clips: [Clip], sampler: ClipSampler, videos: [C3DVideo]) throws {
        let perClip = sampler.clipLength * frameFloats
        for b in inputs.indices where inputs[b].count != clips.count * perClip {
            inputs[b] = [Float](repeating: 0, count: clips.count * perClip)
        }
        for (i, clip) in clips.enumerated() {
            let video = videos[clip.video]
            let file = try HDF5File.open(at: video.features)
            let frames = sampler.frameIndices(of: clip)
            for (b, tap) in taps.enumerated() {
                try inputs[b].withUnsafeMutableBufferPointer {
                    try video.load(into: $0.baseAddress! + i * perClip, file: file, tap: b, name: tap.rawValue, frames: frames,
                                   shape: mapShape, normalization: inputNormalization[b])
                }
            }
        }
    }

    /// One training step: ADDS every branch's gradients into `store.gradients` and returns the
    /// loss (Σ over branches of CE + λ·attention + ζ‖θ‖², each a mean over the batch's clips)
    /// with the epoch's metric sums.
    ///
    /// - Parameter attention: per video `[T2(video), K·K]` when λ > 0 (indexed like `videos`).
    public func trainStep(
        _ clips: [Clip], sampler: ClipSampler, videos: [C3DVideo], attention: [[Float]]?
    ) throws -> TrainingStepResult {
        try loadBatch(clips, sampler: sampler, videos: videos)
        let batch = clips.count
        let labels = clips.map { videos[$0.video].entry.label }
        let steps = ConvNet3DBranchGeometry.cubeTime(settings, frames: sampler.clipLength)
        let clipGeometry = branches[0].geometry(batch: batch, time: sampler.clipLength,
                                                height: mapShape.height, width: mapShape.width)
        let locations = clipGeometry.locations
        if attentionWeight != 0, let attention {
            targets = C3DModel.attentionTargets(clips, attention: attention, steps: steps, locations: locations)
        }
        var loss = 0.0
        var metrics: [String: MetricSum] = [:]
        var correctAll = 0
        let clipWeight = Double(batch)
        for (b, branch) in branches.enumerated() {
            let result = inputs[b].withUnsafeBufferPointer { x in
                targets.withUnsafeBufferPointer { att in
                    branch.lossAndGradients(
                        clips: x.baseAddress!, labels: labels,
                        attentionTargets: attentionWeight != 0 ? att.baseAddress : nil,
                        batch: batch, time: sampler.clipLength, height: mapShape.height, width: mapShape.width)
                }
            }
            loss += Double(result.loss.total)
            let correct = result.predictions.enumerated().filter { $0.element == labels[$0.offset / result.stepsPerClip] }.count
            correctAll += correct
            let name = taps[b].rawValue
            metrics["cross_entropy_\(name)"] = MetricSum(total: Double(result.loss.crossEntropy) * clipWeight, weight: clipWeight)
            metrics["accuracy_\(name)"] = MetricSum(total: Double(correct), weight: Double(result.predictions.count))
            if attentionWeight != 0 {
                metrics["attention_\(name)"] = MetricSum(total: Double(result.loss.attention) * clipWeight, weight: clipWeight)
            }
        }
        metrics["loss"] = MetricSum(total: loss * clipWeight, weight: clipWeight)
        metrics["accuracy"] = MetricSum(total: Double(correctAll), weight: Double(batch * steps * branches.count))
        return TrainingStepResult(loss: loss, metrics: metrics)
    }

    /// Deep-supervision metrics over clips (forward only): `loss` (Σ over branches and steps of
    /// −log p[label], mean per clip), `accuracy` (per step and branch) and `clip_accuracy`
    /// (argmax of the probabilities averaged over steps and branches).
    public func evaluate(_ clips: [Clip], sampler: ClipSampler, videos: [C3DVideo], batchSize: Int) throws -> [String: Double] {
        guard !clips.isEmpty else { return [:] }
        let steps = ConvNet3DBranchGeometry.cubeTime(settings, frames: sampler.clipLength)
        var lossSum = 0.0
        var correctSteps = 0
        var correctClips = 0
        var probabilities: [Float] = []
        for first in stride(from: 0, to: clips.count, by: batchSize) {
            let part = Array(clips[first..<min(first + batchSize, clips.count)])
            try loadBatch(part, sampler: sampler, videos: videos)
            let batch = part.count
            var mean = [Double](repeating: 0, count: batch * classCount)
            for (b, branch) in branches.enumerated() {
                probabilities = [Float](repeating: 0, count: batch * steps * classCount)
                inputs[b].withUnsafeBufferPointer { x in
                    probabilities.withUnsafeMutableBufferPointer { p in
                        branch.forward(cube: nil, probabilities: p.baseAddress!, clips: x.baseAddress!, batch: batch,
                                       time: sampler.clipLength, height: mapShape.height, width: mapShape.width)
                    }
                }
                for (i, clip) in part.enumerated() {
                    let label = videos[clip.video].entry.label
                    for t in 0..<steps {
                        let row = (i * steps + t) * classCount
                        lossSum -= log(max(Double(probabilities[row + label]), 1e-30))
                        for c in 0..<classCount { mean[i * classCount + c] += Double(probabilities[row + c]) }
                        if argmax(probabilities[row..<(row + classCount)]) == label { correctSteps += 1 }
                    }
                }
            }
            for (i, clip) in part.enumerated() {
                if argmax(mean[(i * classCount)..<((i + 1) * classCount)]) == videos[clip.video].entry.label {
                    correctClips += 1
                }
            }
        }
        let n = Double(clips.count)
        return ["loss": lossSum / n, "accuracy": Double(correctSteps) / (n * Double(steps * branches.count)),
                "clip_accuracy": Double(correctClips) / n]
    }

    /// The round's attention targets of a batch, `[B, T2, K·K]`: clip cube step t is video cube
    /// step `start + t` (clip and video are shifted by the same temporal offset); padded clips of
    /// short videos repeat the video's last step.
    ///
    /// - Parameter attention: per video `[T2(video), K·K]` (indexed by `Clip.video`).
    public static func attentionTargets(_ clips: [Clip], attention: [[Float]], steps: Int, locations: Int) -> [Float] {
        var targets = [Float](repeating: 0, count: clips.count * steps * locations)
        for (i, clip) in clips.enumerated() {
            let maps = attention[clip.video]
            let rows = maps.count / locations
            for t in 0..<steps {
                let row = min(clip.start + t, rows - 1)
                for l in 0..<locations { targets[(i * steps + t) * locations + l] = maps[row * locations + l] }
            }
        }
        return targets
    }

    /// One video's cube per branch, `[T2, Kh, Kw, N]`, the convnet run over the whole video at
    /// once (its convolutions see real neighbours where training clips saw zero padding).
    public func cubes(for video: C3DVideo) throws -> [[Float]] {
        let file = try HDF5File.open(at: video.features)
        let g = branches[0].geometry(batch: 1, time: video.frames, height: mapShape.height, width: mapShape.width)
        var out: [[Float]] = []
        var input = [Float](repeating: 0, count: video.frames * frameFloats)
        for (b, branch) in branches.enumerated() {
            try input.withUnsafeMutableBufferPointer {
                try video.load(into: $0.baseAddress!, file: file, tap: b, name: taps[b].rawValue, frames: Array(0..<video.frames),
                               shape: mapShape, normalization: inputNormalization[b])
            }
            var cube = [Float](repeating: 0, count: g.cubeCount)
            input.withUnsafeBufferPointer { x in
                cube.withUnsafeMutableBufferPointer { c in
                    branch.forward(cube: c.baseAddress!, probabilities: nil, clips: x.baseAddress!, batch: 1,
                                   time: video.frames, height: mapShape.height, width: mapShape.width)
                }
            }
            out.append(cube)
        }
        return out
    }
}

/// One video's exported cubes: per branch `[steps, Kh, Kw, channels]`, and the source frame of
/// each step.
public struct C3DVideoCubes: Sendable {
    public var cubes: [[Float]]
    public var steps: Int
    public var gridHeight: Int
    public var gridWidth: Int
    public var channels: Int
    /// Cube step j is centred on features frame j + timeOffset.
    public var timeOffset: Int
    public var frameIndex: [Int32]
}

extension C3DModel {
    /// The cube grid Kh × Kw for maps of `shape`: the 3D convnet's, or for `middle = none` the
    /// configured `grid` (0: the 3D convnet's K). Nil when the maps are too small.
    public static func cubeGrid(_ s: C3DSettings, shape: FeaturesArtifact.MapShape) -> (height: Int, width: Int)? {
        let grid = ConvNet3DBranchGeometry.cubeGrid(s, height: shape.height, width: shape.width)
        guard s.middle == .none else { return grid }
        let k = s.grid > 0 ? s.grid : (grid?.height ?? 1)
        return (k, k)
    }

    /// The video's cubes from the trained convnets, each branch run over the whole video at once
    /// (its convolutions see real neighbours where training clips saw zero padding).
    public func export(_ video: C3DVideo) throws -> C3DVideoCubes {
        let g = branches[0].geometry(batch: 1, time: video.frames, height: mapShape.height, width: mapShape.width)
        let offset = ConvNet3DBranchGeometry.temporalOffset(settings)
        return C3DVideoCubes(cubes: try cubes(for: video), steps: g.cubeTime, gridHeight: g.cubeHeight, gridWidth: g.cubeWidth,
                             channels: settings.conv2Width, timeOffset: offset,
                             frameIndex: Array(video.frameIndex[offset..<(offset + g.cubeTime)]))
    }

    /// `middle = none`: each tap's (centred) map average-pooled to K×K, `[T, K, K, C]`; nothing
    /// is trained, so this needs no model.
    public static func pooledExport(
        _ video: C3DVideo, settings s: C3DSettings, shape: FeaturesArtifact.MapShape, grid: Int
    ) throws -> C3DVideoCubes {
        let file = try HDF5File.open(at: video.features)
        var input = [Float](repeating: 0, count: video.frames * shape.count)
        let cubes = try s.branches.enumerated().map { b, tap in
            try input.withUnsafeMutableBufferPointer {
                try video.load(into: $0.baseAddress!, file: file, tap: b, name: tap.rawValue, frames: Array(0..<video.frames),
                               shape: shape, normalization: nil)
            }
            var cube = [Float](repeating: 0, count: video.frames * grid * grid * shape.channels)
            input.withUnsafeBufferPointer { x in
                cube.withUnsafeMutableBufferPointer { c in
                    AdaptiveAveragePool.forward(output: c.baseAddress!, input: x.baseAddress!, frames: video.frames,
                                                height: shape.height, width: shape.width, channels: shape.channels,
                                                outputHeight: grid, outputWidth: grid)
                }
            }
            return cube
        }
        return C3DVideoCubes(cubes: cubes, steps: video.frames, gridHeight: grid, gridWidth: grid, channels: shape.channels,
                             timeOffset: 0, frameIndex: video.frameIndex)
    }
}
