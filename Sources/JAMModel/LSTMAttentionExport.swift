// shapes: a video's cubes [T, K, K, N_k]; its export clips start at `clip_starts` [clips]; per
// clip and step: class probabilities [clips, L1, C], attention maps M × [clips, L1, S] (S = K·K);
// per frame: the mean map [T, S], per branch [T, M, S].
import Foundation
import JAMArtifacts
import JAMConfig
import JAMTraining

/// How jam-lstm turns a trained model's per-clip outputs into one video's `attention` artifact
/// (docs/ARTIFACTS.md).
public enum LSTMAttentionExport {
    /// The clips exported for a video of `frameCount` steps: the training clips (`0, s, 2s, …`,
    /// `ClipSampler.starts`) and, when the last of them ends before the last step, one more
    /// ending exactly there (start T − L1), so that every step is covered by at least one clip.
    /// A video shorter than L1 has the one padded clip at 0.
    public static func clipStarts(frameCount: Int, clipLength: Int, stride: Int) -> [Int] {
        var starts = ClipSampler.starts(frameCount: frameCount, clipLength: clipLength, stride: stride)
        if frameCount > clipLength, let last = starts.last, last + clipLength < frameCount {
            starts.append(frameCount - clipLength)
        }
        return starts
    }

    /// Each step's map as the mean of the maps of every clip position that read that step: clip c
    /// at position j reads step `min(start_c + j, T − 1)` (a short video's padding repeats its last
    /// step, as in training).
    ///
    /// - Parameters:
    ///   - maps: `[clips, L1, S]`, one map per clip and position.
    ///   - starts: `[clips]`.
    /// - Returns: `[T, S]`; a step no clip read (not possible with `clipStarts`) is left uniform.
    public static func frameAverage(
        maps: [Float], starts: [Int], frameCount: Int, clipLength: Int, locations: Int
    ) -> [Float] {
        precondition(maps.count == starts.count * clipLength * locations, "frameAverage: maps do not match the clips")
        var sums = [Double](repeating: 0, count: frameCount * locations)
        var counts = [Int](repeating: 0, count: frameCount)
        for (c, start) in starts.enumerated() {
            for j in 0..<clipLength {
                let frame = min(start + j, frameCount - 1)
                counts[frame] += 1
                let source = (c * clipLength + j) * locations
                for i in 0..<locations { sums[frame * locations + i] += Double(maps[source + i]) }
            }
        }
        var average = [Float](repeating: 1 / Float(locations), count: frameCount * locations)
        for frame in 0..<frameCount where counts[frame] > 0 {
            let n = Double(counts[frame])
            for i in 0..<locations { average[frame * locations + i] = Float(sums[frame * locations + i] / n) }
        }
        return average
    }

    /// The per-branch maps `[T, M, S]` from M per-frame maps `[T, S]`, and their mean over branches `[T, S]`.
    public static func interleave(_ perBranch: [[Float]], frameCount: Int, locations: Int) -> (mean: [Float], stacked: [Float]) {
        let m = perBranch.count
        var stacked = [Float](repeating: 0, count: frameCount * m * locations)
        var mean = [Float](repeating: 0, count: frameCount * locations)
        for t in 0..<frameCount {
            for i in 0..<locations {
                var sum: Float = 0
                for k in 0..<m {
                    let v = perBranch[k][t * locations + i]
                    stacked[(t * m + k) * locations + i] = v
                    sum += v
                }
                mean[t * locations + i] = sum / Float(m)
            }
        }
        return (mean, stacked)
    }
}

extension LSTMModel {
    /// One video's `attention` artifact content: the model run over the video's export clips
    /// (`LSTMAttentionExport.clipStarts`), each step's map averaged over the clips that read it.
    public func export(
        _ video: LSTMVideo, settings: LSTMSettings, classNames: [String], round: Int, checkpointStep: Int
    ) throws -> AttentionArtifact.Content {
        let (t, l1, s) = (video.steps, settings.clipLength, geometry.grid * geometry.grid)
        let starts = LSTMAttentionExport.clipStarts(frameCount: t, clipLength: l1, stride: settings.clipStride)
        let sampler = ClipSampler(frameCounts: [t], clipLength: l1, stride: settings.clipStride)
        let (probabilities, maps) = try predict(starts: starts, sampler: sampler, video: video, batchSize: settings.batch)
        let perFrame = maps.map {
            LSTMAttentionExport.frameAverage(maps: $0, starts: starts, frameCount: t, clipLength: l1, locations: s)
        }
        var attention = perFrame[0]
        var perBranch: [Float]?
        if settings.attention == .perBranch {
            (attention, perBranch) = LSTMAttentionExport.interleave(perFrame, frameCount: t, locations: s)
        }
        return AttentionArtifact.Content(
            attention: attention, perBranch: perBranch, branchCount: perFrame.count, clipStarts: starts,
            clipProbabilities: probabilities, frameIndex: video.frameIndex, classNames: classNames, round: round,
            branches: geometry.branches, grid: geometry.grid, clipLength: l1, clipStride: settings.clipStride,
            attentionMode: settings.attention.rawValue,
            note: settings.attention == .none ? "no attention (mean pooling): every map is uniform, 1/\(s) per location" : nil,
            checkpointStep: checkpointStep)
    }
}
