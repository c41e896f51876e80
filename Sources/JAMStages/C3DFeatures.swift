// shapes: a tap's maps [T, H, W, C] (H = W = S/16, C = 512 for VGG16); a clip of them
// [L1, H, W, C]; attention maps [T2, K·K].
import Foundation
import JAMArtifacts
import JAMConfig
import JAMCore
import JAMDatasets

/// One video the 3D-convnet stage works on: its split entry and its checked features artifact.
public struct C3DVideo: Sendable, Hashable {
    public var entry: VideoEntry
    /// The features artifact.
    public var features: URL
    /// T, frames of features.
    public var frames: Int
    /// `frame_index` of the features artifact: each frame's index in the source video.
    public var frameIndex: [Int32]
    /// Per tap (in the run's branch order), the channels' moments over every frame and
    /// position, for the input normalization.
    public var moments: [ChannelMoments]
    /// Per tap, the video's mean map `[H, W, C]` over its frames (`c3d.centering = video`), or
    /// empty when the maps are not centred.
    public var meanMaps: [[Float]] = []

    /// Subtracts tap `tap`'s mean map, mapped through `normalization`, from each of `frames`
    /// maps at `x` (`[frames, H, W, C]`); nothing when the video has no mean maps.
    public func centre(_ x: UnsafeMutablePointer<Float>, frames: Int, tap: Int, normalization: InputNormalization?) {
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

/// Map sizes shared by every video of a run (batches need equal H, W, C).
public struct FeatureMapShape: Sendable, Hashable, CustomStringConvertible {
    public var height: Int
    public var width: Int
    public var channels: Int

    public init(height: Int, width: Int, channels: Int) {
        self.height = height
        self.width = width
        self.channels = channels
    }

    public var description: String { "[T, \(height), \(width), \(channels)]" }
}

/// Reads and checks `features` artifacts for jam-c3d (docs/ARTIFACTS.md).
public enum C3DFeatures {
    /// Opens one video's features artifact and checks what training and export rely on: the
    /// kind and schema, a dataset per tap of shape `[T, H, W, C]` (equal across taps, and equal to
    /// `expected` when given), `frame_index` `[T]`, and every value finite (SPEC §3: NaN/Inf in
    /// features is a bad input). Throws an error naming the file and the reason.
    /// With `meanMaps`, the video's mean map per tap is kept for centring.
    public static func check(_ url: URL, entry: VideoEntry, taps: [FeatureTap], expected: FeatureMapShape?, meanMaps: Bool = false)
        throws -> (C3DVideo, FeatureMapShape)
    {
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw ArtifactError(path: url.path, "no features artifact for \(entry.relativePath); run jam-features first")
        }
        let reader = try ArtifactReader(url: url, expecting: .features)
        let file = reader.file
        var shape: FeatureMapShape?
        var frames = 0
        var moments: [ChannelMoments] = []
        var means: [[Float]] = []
        for tap in taps {
            guard file.contains(tap.rawValue) else {
                throw ArtifactError(path: url.path, "features artifact has no '\(tap.rawValue)' dataset; rerun jam-features")
            }
            let dataset = try file.openDataset(tap.rawValue)
            let dims = try dataset.shape()
            guard dims.count == 4, dims.allSatisfy({ $0 > 0 }) else {
                throw ArtifactError(path: url.path, "'\(tap.rawValue)' has shape \(dims), expected [T, H, W, C]")
            }
            let here = FeatureMapShape(height: dims[1], width: dims[2], channels: dims[3])
            if let shape, shape != here || frames != dims[0] {
                throw ArtifactError(path: url.path, "'\(tap.rawValue)' has shape \(dims), the other taps [\(frames), \(shape.height), \(shape.width), \(shape.channels)]")
            }
            if let expected, expected != here {
                throw ArtifactError(path: url.path, "'\(tap.rawValue)' maps are \(here), the other videos' \(expected); "
                                    + "all videos need the same map size (one decode size)")
            }
            shape = here
            frames = dims[0]
            // One frame at a time keeps the scan's memory at one frame.
            let count = here.height * here.width * here.channels
            var buffer = [Float](repeating: 0, count: count)
            var tapMoments = ChannelMoments(channels: here.channels)
            var sums = [Double](repeating: 0, count: meanMaps ? count : 0)
            for t in 0..<frames {
                try buffer.withUnsafeMutableBufferPointer {
                    try dataset.read(into: $0, at: [t, 0, 0, 0], shape: [1, here.height, here.width, here.channels])
                }
                if let bad = buffer.firstIndex(where: { !$0.isFinite }) {
                    throw ArtifactError(path: url.path, "'\(tap.rawValue)' holds \(buffer[bad]) at frame \(t) "
                                        + "(element \(bad)); rerun jam-features --force for this video")
                }
                tapMoments.add(buffer)
                if meanMaps { for i in 0..<count { sums[i] += Double(buffer[i]) } }
            }
            moments.append(tapMoments)
            if meanMaps { means.append(sums.map { Float($0 / Double(frames)) }) }
        }
        let (index, indexShape) = try file.read("frame_index", as: Int32.self)
        guard indexShape == [frames] else {
            throw ArtifactError(path: url.path, "frame_index has shape \(indexShape), expected [\(frames)]")
        }
        return (C3DVideo(entry: entry, features: url, frames: frames, frameIndex: index, moments: moments,
                         meanMaps: means), shape!)
    }

    /// Reads frames `frames` (consecutive and ascending, possibly repeating the last frame for
    /// a padded clip) of one tap into `output` `[frames.count, H, W, C]`.
    public static func readFrames(
        into output: UnsafeMutablePointer<Float>, file: HDF5File, tap: FeatureTap, frames: [Int], shape: FeatureMapShape
    ) throws {
        let frameCount = shape.height * shape.width * shape.channels
        let first = frames[0]
        // The distinct frames are first ..< first + n; the rest repeat the last of them.
        var n = 1
        while n < frames.count && frames[n] == first + n { n += 1 }
        let dataset = try file.openDataset(tap.rawValue)
        try dataset.read(into: UnsafeMutableBufferPointer(start: output, count: n * frameCount),
                         at: [first, 0, 0, 0], shape: [n, shape.height, shape.width, shape.channels])
        for i in n..<frames.count {
            precondition(frames[i] == frames[n - 1], "readFrames: frames must be a run, then padding")
            (output + i * frameCount).update(from: output + (n - 1) * frameCount, count: frameCount)
        }
    }

    /// Per tap, the per-channel standardization of the training videos' features
    /// (`InputNormalization.standardizing`). Random-init VGG16 maps are dominated by what every
    /// frame shares: on the synthetic default about 60% of their energy is the per-channel mean,
    /// and the motion lives in the few percent that changes over time, so the convnet sees it
    /// only once the shared part is taken out. Recomputed from the same files on every run (the
    /// sums run in a fixed order, so it is bit-identical) and recorded in each cube.
    public static func inputNormalization(training videos: [C3DVideo], taps: Int) -> [InputNormalization] {
        (0..<taps).map { b in InputNormalization.standardizing(videos.map { $0.moments[b] }) }
    }

    /// The attention maps `[T2, K·K]` of one video from the previous LSTM round, checked
    /// against the cube's steps and locations.
    public static func attention(_ url: URL, video: String, steps: Int, locations: Int) throws -> [Float] {
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw JAMError("no attention artifact for \(video) (needed because attention_weight > 0 in this round); "
                           + "run jam-lstm of the previous round first", file: url.path)
        }
        let reader = try ArtifactReader(url: url, expecting: .attention)
        let (data, shape) = try reader.file.read("attention", as: Float.self)
        guard shape == [steps, locations] else {
            throw JAMError("attention has shape \(shape), this round's cubes need [\(steps), \(locations)] "
                           + "(T2 steps × K·K locations); rerun jam-lstm of the previous round on these cubes", file: url.path)
        }
        guard data.allSatisfy({ $0.isFinite }) else {
            throw JAMError("attention holds NaN or infinity; rerun jam-lstm of the previous round", file: url.path)
        }
        return data
    }
}

