// shapes: a tap's maps [T, H, W, C] (H = W = S/16, C = 512 for VGG16); a clip of them
// [L1, H, W, C]; mean maps [H, W, C].
// Tests: Tests/JAMStagesTests/C3DStageTests.swift (scan, the centring mean map against a naive mean, bad features)
import Foundation
import JAMArtifacts
import JAMConfig
import JAMCore

/// One video the 3D-convnet stage works on: who it is, its features artifact, and what a scan
/// of that artifact found (frames, frame index, per-tap moments and mean maps).
public struct C3DVideo: Sendable {
    public var entry: VideoEntry
    /// The features artifact.
    public var features: URL
    /// T, frames of features.
    public var frames: Int
    /// Each frame's index in the source video.
    public var frameIndex: [Int32]
    /// Per tap (in the run's branch order), the channels' moments over every frame and position.
    public var moments: [ChannelMoments]
    /// Per tap, the video's mean map `[H, W, C]` over its frames (`c3d.centering = video`), or
    /// empty when the maps are not centred.
    public var meanMaps: [[Float]]

    /// Scans the features artifact at `url` (`FeaturesArtifact.scan`) and checks that the video
    /// is long enough for the temporal kernels; returns the video and its map shape.
    public static func scan(
        _ url: URL, entry: VideoEntry, settings s: C3DSettings, expected: FeaturesArtifact.MapShape?
    ) throws -> (C3DVideo, FeaturesArtifact.MapShape) {
        let summary = try FeaturesArtifact.scan(url, video: entry.relativePath, taps: s.branches.map(\.rawValue),
                                                expected: expected, meanMaps: s.centering == .video)
        if ConvNet3DBranchGeometry.cubeTime(s, frames: summary.frames) < 1 {
            throw ArtifactError(path: url.path, "\(summary.frames) frames are too few for the temporal kernels")
        }
        let video = C3DVideo(entry: entry, features: url, frames: summary.frames, frameIndex: summary.frameIndex,
                             moments: summary.moments, meanMaps: summary.meanMaps)
        return (video, summary.shape)
    }

    /// Reads frames `frames` of tap `tap` (its index in the branch order) into `output`
    /// `[frames.count, H, W, C]`, standardizes them with `normalization` and subtracts the
    /// video's mean map (mapped the same way) when it has one.
    func load(
        into output: UnsafeMutablePointer<Float>, file: HDF5File, tap: Int, name: String, frames: [Int],
        shape: FeaturesArtifact.MapShape, normalization: InputNormalization?
    ) throws {
        try FeaturesArtifact.readFrames(into: output, file: file, tap: name, frames: frames, shape: shape)
        normalization?.apply(to: output, count: frames.count * shape.count)
        centre(output, frames: frames.count, tap: tap, normalization: normalization)
    }

    /// Subtracts tap `tap`'s mean map, mapped through `normalization`, from each of `frames`
    /// maps at `x` (`[frames, H, W, C]`); nothing when the video has no mean maps.
    func centre(_ x: UnsafeMutablePointer<Float>, frames: Int, tap: Int, normalization: InputNormalization?) {
        guard !meanMaps.isEmpty else { return }
        var mean = meanMaps[tap]
        if let normalization { mean.withUnsafeMutableBufferPointer { normalization.apply(to: $0.baseAddress!, count: $0.count) } }
        let n = mean.count
        mean.withUnsafeBufferPointer { m in
            for f in 0..<frames {
                let frame = x + f * n
                for i in 0..<n { frame[i] -= m[i] }
            }
        }
    }
}

extension InputNormalization {
    /// Per tap, the per-channel standardization of the training videos' features. Random-init
    /// VGG16 maps are dominated by what every frame shares: on the synthetic default about 60%
    /// of their energy is the per-channel mean, and the motion lives in the few percent that
    /// changes over time, so the convnet sees it only once the shared part is taken out.
    /// Recomputed from the same files on every run (the sums run in a fixed order, so it is
    /// bit-identical) and recorded in each cube.
    public static func perTap(training videos: [C3DVideo], taps: Int) -> [InputNormalization] {
        (0..<taps).map { b in standardizing(videos.map { $0.moments[b] }) }
    }
}
