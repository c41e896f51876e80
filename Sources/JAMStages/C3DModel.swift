// shapes: a batch of clips per branch x [B, L1, H, W, C]; labels [B]; attention targets
// [B, T2, K·K]; per-step probabilities [B, T2, classes]; an exported cube [T2, Kh, Kw, N]
// (T2 = T for temporally "same" convolutions); the pooled map of middle = none [T, K, K, C].
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
    public let mapShape: FeatureMapShape
    public let classCount: Int
    public let store = ParameterStore()
    public let branches: [ConvNet3DBranch]
    /// λ of this round.
    public let attentionWeight: Float
    /// Per branch, the map applied to its input features (`C3DFeatures.inputNormalization`).
    public let inputNormalization: [InputNormalization]

    /// Batch buffers, reused between steps: one input per branch, attention targets.
    private var inputs: [[Float]]
    private var targets: [Float] = []

    public init(settings: C3DSettings, taps: [FeatureTap], mapShape: FeatureMapShape, classCount: Int, attentionWeight: Float,
                inputNormalization: [InputNormalization]? = nil) {
        self.settings = settings
        self.inputNormalization = inputNormalization ?? taps.map { _ in .identity(channels: mapShape.channels) }
        self.taps = taps
        self.mapShape = mapShape
        self.classCount = classCount
        self.attentionWeight = attentionWeight
        let branchSettings = C3DModel.branchSettings(settings, channels: mapShape.channels, classCount: classCount,
                                                     attentionWeight: attentionWeight)
        let store = self.store
        branches = taps.map { ConvNet3DBranch(settings: branchSettings, store: store, name: $0.rawValue) }
        inputs = taps.map { _ in [] }
    }

    /// The branch settings the `c3d` section describes (`middle = 2d`: kt = 1).
    public static func branchSettings(
        _ s: C3DSettings, channels: Int, classCount: Int, attentionWeight: Float
    ) -> ConvNet3DBranchSettings {
        var b = ConvNet3DBranchSettings(inputChannels: channels, classCount: classCount)
        b.conv1Width = s.conv1Width
        b.conv2Width = s.conv2Width
        b.hiddenWidth = s.hiddenWidth
        b.temporalKernel = s.middle == .twoD ? 1 : s.temporalKernel
        b.spatialKernel = s.spatialKernel
        b.conv1TemporalPadding = ConvPadding(rawValue: s.conv1TemporalPadding.rawValue)!
        b.conv1SpatialPadding = ConvPadding(rawValue: s.conv1SpatialPadding.rawValue)!
        b.conv2TemporalPadding = ConvPadding(rawValue: s.conv2TemporalPadding.rawValue)!
        b.conv2SpatialPadding = ConvPadding(rawValue: s.conv2SpatialPadding.rawValue)!
        b.poolAfterConv1 = s.pool
        b.attentionWeight = attentionWeight
        b.weightDecay = Float(s.weightDecay)
        return b
    }

    /// Frames a clip or video loses at its front to temporally valid convolutions: cube step
    /// j is centred on frame j + temporalOffset.
    public static func temporalOffset(_ s: C3DSettings) -> Int {
        let kt = s.middle == .twoD ? 1 : s.temporalKernel
        let valid = [s.conv1TemporalPadding, s.conv2TemporalPadding].filter { $0 == .valid }.count
        return valid * ((kt - 1) / 2)
    }

    /// T2 for T frames (0 or less: too short for the kernels).
    public static func cubeTime(_ s: C3DSettings, frames: Int) -> Int {
        let kt = s.middle == .twoD ? 1 : s.temporalKernel
        let valid = [s.conv1TemporalPadding, s.conv2TemporalPadding].filter { $0 == .valid }.count
        return frames - valid * (kt - 1)
    }

    /// Kh × Kw of the cube for maps of `shape`, or nil when the maps are too small for the
    /// spatial kernels and pool. (For middle = none: the default K.)
    public static func cubeGrid(_ s: C3DSettings, shape: FeatureMapShape) -> (height: Int, width: Int)? {
        func side(_ n: Int) -> Int {
            var n = s.conv1SpatialPadding == .valid ? n - s.spatialKernel + 1 : n
            if s.pool { n /= 2 }
            return s.conv2SpatialPadding == .valid ? n - s.spatialKernel + 1 : n
        }
        let grid = (side(shape.height), side(shape.width))
        // conv1 must leave something to pool.
        let conv1 = (s.conv1SpatialPadding == .valid ? shape.height - s.spatialKernel + 1 : shape.height,
                     s.conv1SpatialPadding == .valid ? shape.width - s.spatialKernel + 1 : shape.width)
        guard grid.0 > 0, grid.1 > 0, conv1.0 > 0, conv1.1 > 0 else { return nil }
        return grid
    }

    /// He-normal weights, zero biases; branch i draws from `mix64(seed ^ i)`.
    public func initialize(seed: Int) {
        for (i, branch) in branches.enumerated() {
            branch.initialize(seed: mix64(UInt64(seed) ^ (UInt64(i) &* 0x9E37_79B9_7F4A_7C15)))
        }
    }

    var frameFloats: Int { mapShape.height * mapShape.width * mapShape.channels }

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
                    let clip = $0.baseAddress! + i * perClip
                    try C3DFeatures.readFrames(into: clip, file: file, tap: tap, frames: frames, shape: mapShape)
                    inputNormalization[b].apply(to: clip, count: perClip)
                    video.centre(clip, frames: sampler.clipLength, tap: b, normalization: inputNormalization[b])
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
        let steps = C3DModel.cubeTime(settings, frames: sampler.clipLength)
        let clipGeometry = branches[0].geometry(batch: batch, time: sampler.clipLength,
                                                height: mapShape.height, width: mapShape.width)
        let locations = clipGeometry.locations
        if attentionWeight != 0, let attention {
            // Clip cube step t is video cube step start + t (both shifted by the same offset);
            // padded clips of short videos repeat the last step.
            targets = [Float](repeating: 0, count: batch * steps * locations)
            for (i, clip) in clips.enumerated() {
                let maps = attention[clip.video]
                let rows = maps.count / locations
                for t in 0..<steps {
                    let row = min(clip.start + t, rows - 1)
                    for l in 0..<locations { targets[(i * steps + t) * locations + l] = maps[row * locations + l] }
                }
            }
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
        let steps = C3DModel.cubeTime(settings, frames: sampler.clipLength)
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
                        var best = 0
                        for c in 0..<classCount {
                            mean[i * classCount + c] += Double(probabilities[row + c])
                            if probabilities[row + c] > probabilities[row + best] { best = c }
                        }
                        if best == label { correctSteps += 1 }
                    }
                }
            }
            for (i, clip) in part.enumerated() {
                let row = mean[(i * classCount)..<((i + 1) * classCount)]
                if row.indices.max(by: { row[$0] < row[$1] })! - i * classCount == videos[clip.video].entry.label {
                    correctClips += 1
                }
            }
        }
        let n = Double(clips.count)
        return ["loss": lossSum / n, "accuracy": Double(correctSteps) / (n * Double(steps * branches.count)),
                "clip_accuracy": Double(correctClips) / n]
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
                try C3DFeatures.readFrames(into: $0.baseAddress!, file: file, tap: taps[b],
                                           frames: Array(0..<video.frames), shape: mapShape)
                inputNormalization[b].apply(to: $0.baseAddress!, count: $0.count)
                video.centre($0.baseAddress!, frames: video.frames, tap: b, normalization: inputNormalization[b])
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

/// Adaptive average pooling of channels-last maps to a K×K grid (middle = none): output cell
/// (i, j) averages rows ⌊i·H/K⌋ ..< ⌈(i+1)·H/K⌉ and columns likewise (PyTorch's
/// `adaptive_avg_pool2d` bins, which overlap when K does not divide H).
///
/// - Parameters:
///   - output: `[frames, K, K, C]`, overwritten.
///   - input: `[frames, H, W, C]`.
public func adaptiveAveragePool(
    output: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>,
    frames: Int, height: Int, width: Int, channels: Int, grid: Int
) {
    var sums = [Double](repeating: 0, count: channels)
    for f in 0..<frames {
        for i in 0..<grid {
            let h0 = i * height / grid, h1 = ((i + 1) * height + grid - 1) / grid
            for j in 0..<grid {
                let w0 = j * width / grid, w1 = ((j + 1) * width + grid - 1) / grid
                for c in 0..<channels { sums[c] = 0 }
                for h in h0..<h1 {
                    for w in w0..<w1 {
                        let pixel = input + ((f &* height &+ h) &* width &+ w) &* channels
                        for c in 0..<channels { sums[c] += Double(pixel[c]) }
                    }
                }
                let scale = 1 / Double((h1 - h0) * (w1 - w0))
                let cell = output + ((f &* grid &+ i) &* grid &+ j) &* channels
                for c in 0..<channels { cell[c] = Float(sums[c] * scale) }
            }
        }
    }
}
