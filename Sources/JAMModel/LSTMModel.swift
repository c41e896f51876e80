// shapes: a batch of clips per branch [B, L1, K, K, N_k]; labels [B]; per-step class
// probabilities [B, L1, C]; attention maps M × [B, L1, K·K] (M = branches for per-branch
// attention, else 1).
// Tests: Tests/JAMStagesTests/LSTMStageTests.swift (predict against the exported attention and probabilities, training, resume and divergence)
import Foundation
import JAMArtifacts
import JAMConfig
import JAMCore
import JAMNN
import JAMTraining

/// One video the LSTM stage works on: who it is, its cubes artifact and, when the run holds the
/// cubes in memory, the cubes themselves.
public struct LSTMVideo: Sendable {
    public var entry: VideoEntry
    /// The cubes artifact.
    public var url: URL
    /// T, steps of the cubes.
    public var steps: Int
    /// Each step's frame in the source video.
    public var frameIndex: [Int32]
    /// Per branch `[T, K, K, N_k]`, or empty when the cubes are read from disk per clip.
    public var cubes: [[Float]]
    /// Per branch, the channels' moments over every step and location, for the input normalization.
    public var moments: [ChannelMoments]

    /// Scans the cubes artifact at `url` (`CubesArtifact.scan`); `keep` holds its cubes in memory.
    public static func scan(
        _ url: URL, entry: VideoEntry, branches: [String], expected: CubesArtifact.Geometry?, keep: Bool, round: Int
    ) throws -> (LSTMVideo, CubesArtifact.Geometry) {
        let s = try CubesArtifact.scan(url, video: entry, branches: branches, expected: expected, keep: keep,
                                       rerun: "rerun jam-c3d --round \(round)")
        return (LSTMVideo(entry: entry, url: url, steps: s.steps, frameIndex: s.frameIndex, cubes: s.cubes,
                          moments: s.moments), s.geometry)
    }
}

/// jam-lstm's model: the `SequenceClassifier` (the joint-attention LSTM) with the batch
/// assembly, training step, validation and per-video prediction the stage needs.
public final class LSTMModel {
    public let classifier: SequenceClassifier
    public let geometry: CubesArtifact.Geometry
    /// L1.
    public let clipLength: Int
    /// Per branch, the map applied to the cubes before the LSTM sees them: the training
    /// cubes' per-channel standardization (`LSTMModel.inputNormalization`), so that a cube of
    /// any scale (the 3D convnet's, or raw VGG16 maps for middle = none) starts the gates in
    /// their working range.
    public let inputNormalization: [InputNormalization]
    /// Batch inputs, one per branch, reused between steps of the same batch size.
    private var inputs: [[Float]]

    /// A freshly initialised model (weights from `settings.seed`); inputs unchanged unless
    /// `inputNormalization` is given.
    public init(settings: LSTMSettings, geometry: CubesArtifact.Geometry, classCount: Int,
                inputNormalization: [InputNormalization]? = nil) throws {
        self.geometry = geometry
        self.inputNormalization = inputNormalization ?? geometry.channels.map { .identity(channels: $0) }
        clipLength = settings.clipLength
        classifier = try SequenceClassifier(
            shape: SequenceClassifierShape(settings: settings, geometry: geometry, classCount: classCount),
            seed: UInt64(settings.seed))
        inputs = geometry.branches.map { _ in [] }
    }

    /// Per branch, the standardization of the training videos' cubes.
    public static func inputNormalization(training videos: [LSTMVideo], geometry: CubesArtifact.Geometry) -> [InputNormalization] {
        geometry.branches.indices.map { k in InputNormalization.standardizing(videos.map { $0.moments[k] }) }
    }

    public var store: ParameterStore { classifier.store }
    public var classCount: Int { classifier.shape.classCount }

    /// Fills `inputs` with the clips' cubes `[B, L1, K, K, N_k]` and returns their labels.
    private func assemble(_ clips: [Clip], sampler: ClipSampler, videos: [LSTMVideo]) throws -> [Int] {
        let b = clips.count, l1 = clipLength
        for k in inputs.indices {
            let count = b * l1 * geometry.stepSize(branch: k)
            if inputs[k].count != count { inputs[k] = [Float](repeating: 0, count: count) }
        }
        let geometry = self.geometry
        try withMutableBases(&inputs) { bases in
            for (row, clip) in clips.enumerated() {
                let rows = bases.indices.map { bases[$0] + row * l1 * geometry.stepSize(branch: $0) }
                let video = videos[clip.video]
                try CubesArtifact.readClip(into: rows, url: video.url, cubes: video.cubes, steps: sampler.frameIndices(of: clip),
                                           geometry: geometry)
            }
            for k in bases.indices { inputNormalization[k].apply(to: bases[k], count: b * l1 * geometry.stepSize(branch: k)) }
        }
        return clips.map { videos[$0.video].entry.label }
    }

    /// One training step on `clips`: forward, backward into `store.gradients` (the loop zeroed
    /// them), and the batch's loss with its metric sums: `loss` (Σ_t cross-entropy per clip,
    /// weighted by clips) and `accuracy` (correct steps over steps).
    public func trainStep(_ clips: [Clip], sampler: ClipSampler, videos: [LSTMVideo]) throws -> TrainingStepResult {
        let labels = try assemble(clips, sampler: sampler, videos: videos)
        let output = try classifier.forward(cubes: inputs, labels: labels)
        classifier.backward()
        let b = Double(clips.count)
        let correct = correctSteps(output.probabilities, labels: labels)
        return TrainingStepResult(loss: Double(output.loss), metrics: [
            "loss": MetricSum(total: Double(output.crossEntropy) * b, weight: b),
            "accuracy": MetricSum(total: Double(correct), weight: b * Double(clipLength)),
        ])
    }

    /// Validation metrics over `clips`, in batches: `loss` (mean over clips of Σ_t
    /// cross-entropy) and `accuracy` (per step), as in training.
    public func evaluate(_ clips: [Clip], sampler: ClipSampler, videos: [LSTMVideo], batchSize: Int) throws -> [String: Double] {
        guard !clips.isEmpty else { return [:] }
        var loss = 0.0, correct = 0
        let c = classCount
        for start in stride(from: 0, to: clips.count, by: batchSize) {
            let batch = Array(clips[start..<min(start + batchSize, clips.count)])
            let labels = try assemble(batch, sampler: sampler, videos: videos)
            let prediction = try classifier.predict(cubes: inputs, batchSize: batch.count)
            let p = prediction.probabilities
            for (row, label) in labels.enumerated() {
                for t in 0..<clipLength {
                    loss -= log(Double(max(p[(row * clipLength + t) * c + label], Float.leastNormalMagnitude)))
                }
            }
            correct += correctSteps(p, labels: labels)
        }
        return ["loss": loss / Double(clips.count), "accuracy": Double(correct) / Double(clips.count * clipLength)]
    }

    /// Steps whose argmax (lowest index among equal maxima) is the clip's label.
    private func correctSteps(_ probabilities: [Float], labels: [Int]) -> Int {
        let c = classCount
        var correct = 0
        for (row, label) in labels.enumerated() {
            for t in 0..<clipLength {
                let base = (row * clipLength + t) * c
                if argmax(probabilities[base..<(base + c)]) == label { correct += 1 }
            }
        }
        return correct
    }

    /// The clips starting at `starts` of one video (video index 0 of `sampler`), in batches:
    /// per-step probabilities `[clips, L1, C]` and M attention maps `[clips, L1, K·K]`.
    public func predict(
        starts: [Int], sampler: ClipSampler, video: LSTMVideo, batchSize: Int
    ) throws -> (probabilities: [Float], maps: [[Float]]) {
        let (l1, c, s) = (clipLength, classCount, geometry.grid * geometry.grid)
        let m = classifier.shape.attentionMapCount
        var probabilities: [Float] = []
        var maps = [[Float]](repeating: [], count: m)
        probabilities.reserveCapacity(starts.count * l1 * c)
        for start in stride(from: 0, to: starts.count, by: batchSize) {
            let batch = starts[start..<min(start + batchSize, starts.count)].map { Clip(video: 0, start: $0) }
            _ = try assemble(batch, sampler: sampler, videos: [video])
            let prediction = try classifier.predict(cubes: inputs, batchSize: batch.count)
            probabilities += prediction.probabilities
            for i in 0..<m { maps[i] += prediction.attention[i] }
        }
        precondition(probabilities.count == starts.count * l1 * c && maps.allSatisfy { $0.count == starts.count * l1 * s })
        return (probabilities, maps)
    }
}

/// Runs `body` with the base addresses of all `arrays` at once (mutable).
func withMutableBases<R>(_ arrays: inout [[Float]], _ body: ([UnsafeMutablePointer<Float>]) throws -> R) rethrows -> R {
    // Through the outer buffer's pointer, so that the nested accesses to different elements
    // are not one overlapping access to `arrays`.
    try arrays.withUnsafeMutableBufferPointer { outer in
        func nest(_ index: Int, _ collected: [UnsafeMutablePointer<Float>]) throws -> R {
            if index == outer.count { return try body(collected) }
            return try outer[index].withUnsafeMutableBufferPointer { try nest(index + 1, collected + [$0.baseAddress!]) }
        }
        return try nest(0, [])
    }
}
