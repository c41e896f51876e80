// shapes: a branch's cube [T, K, K, N_k] (channels last); a clip of it [L1, K, K, N_k]; a batch
// of clips per branch [B, L1, K, K, N_k]; frame_index [T].
import Foundation
import JAMArtifacts
import JAMCore
import JAMDatasets

/// The cube geometry every video of a run shares (a batch needs equal K and N_k).
public struct LSTMCubeGeometry: Sendable, Hashable, CustomStringConvertible {
    /// Branch names, in the model's branch order (`cube/<name>` datasets).
    public var branches: [String]
    /// K: the cubes are K×K locations.
    public var grid: Int
    /// N_k per branch.
    public var channels: [Int]

    public init(branches: [String], grid: Int, channels: [Int]) {
        self.branches = branches
        self.grid = grid
        self.channels = channels
    }

    /// Floats of one step of branch k: K·K·N_k.
    public func stepSize(branch k: Int) -> Int { grid * grid * channels[k] }

    public var description: String {
        zip(branches, channels).map { "\($0.0) [T, \(grid), \(grid), \($0.1)]" }.joined(separator: ", ")
    }
}

/// One video the LSTM stage works on: its split entry, its checked cubes artifact and, when the
/// run holds the cubes in memory, the cubes themselves.
public struct LSTMVideo: Sendable {
    public var entry: VideoEntry
    /// The cubes artifact.
    public var url: URL
    /// T, steps of the cubes.
    public var steps: Int
    /// `frame_index` of the cubes: each step's frame in the source video.
    public var frameIndex: [Int32]
    /// Per branch `[T, K, K, N_k]`, or empty when the cubes are read from disk per clip.
    public var cubes: [[Float]]
    /// Per branch, the channels' moments over every step and location, for the input normalization.
    public var moments: [ChannelMoments]
}

/// Reads and checks `cubes` artifacts for jam-lstm (docs/ARTIFACTS.md).
public enum LSTMCubes {
    /// Opens one video's cubes artifact and checks what training and export rely on: kind and
    /// schema, a `cube/<branch>` dataset per branch of shape `[T, K, K, N_k]` (K and N_k equal to
    /// `expected` when given), `frame_index` `[T]`, a `label` equal to the split's, and every
    /// value finite (SPEC §3). Throws an `ArtifactError` naming the file, the reason and the
    /// stage to rerun. With `keep`, the cubes are returned in the video (the scan reads them anyway).
    public static func check(
        _ url: URL, entry: VideoEntry, branches: [String], expected: LSTMCubeGeometry?, keep: Bool, round: Int
    ) throws -> (LSTMVideo, LSTMCubeGeometry) {
        let rerun = "rerun jam-c3d --round \(round)"
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw ArtifactError(path: url.path, "no cubes artifact for \(entry.relativePath); run jam-c3d --round \(round) first "
                                + "(or see its stage-report.json: did this video fail there?)")
        }
        let reader = try ArtifactReader(url: url, expecting: .cubes)
        let file = reader.file
        var grid = 0, steps = 0
        var channels: [Int] = []
        var kept: [[Float]] = []
        var moments: [ChannelMoments] = []
        for branch in branches {
            let name = "cube/\(branch)"
            guard file.contains(name) else {
                throw ArtifactError(path: url.path, "cubes artifact has no '\(name)' dataset (the c3d branches changed?); \(rerun)")
            }
            let dataset = try file.openDataset(name)
            let dims = try dataset.shape()
            guard dims.count == 4, dims.allSatisfy({ $0 > 0 }), dims[1] == dims[2] else {
                throw ArtifactError(path: url.path, "'\(name)' has shape \(dims), expected [T, K, K, N] with T, K, N > 0; \(rerun)")
            }
            if !channels.isEmpty, dims[0] != steps || dims[1] != grid {
                throw ArtifactError(path: url.path, "'\(name)' has shape \(dims), the first branch [\(steps), \(grid), \(grid), …]; \(rerun)")
            }
            steps = dims[0]
            grid = dims[1]
            channels.append(dims[3])
            let values = try dataset.read(as: Float.self)
            if let bad = values.firstIndex(where: { !$0.isFinite }) {
                let perStep = grid * grid * dims[3]
                throw ArtifactError(path: url.path, "'\(name)' holds \(values[bad]) at step \(bad / perStep) "
                                    + "(element \(bad)); \(rerun) --force")
            }
            var branchMoments = ChannelMoments(channels: dims[3])
            branchMoments.add(values)
            moments.append(branchMoments)
            if keep { kept.append(values) }
        }
        let geometry = LSTMCubeGeometry(branches: branches, grid: grid, channels: channels)
        if let expected, expected != geometry {
            throw ArtifactError(path: url.path, "cubes are \(geometry), the other videos' \(expected); "
                                + "all videos need the same grid and channels; \(rerun)")
        }
        let (index, indexShape) = try file.read("frame_index", as: Int32.self)
        guard indexShape == [steps] else {
            throw ArtifactError(path: url.path, "frame_index has shape \(indexShape), expected [\(steps)]; \(rerun)")
        }
        if let label = try file.intAttribute("label"), label != entry.label {
            throw ArtifactError(path: url.path, "label is \(label), the split files say \(entry.label) "
                                + "(\(entry.className)); the class list changed: \(rerun) --force")
        }
        let video = LSTMVideo(entry: entry, url: url, steps: steps, frameIndex: index, cubes: kept, moments: moments)
        return (video, geometry)
    }

    /// Copies the steps `frames` (consecutive and ascending, possibly repeating the last step
    /// for a padded clip, as `ClipSampler.frameIndices` gives them) of every branch of `video`
    /// into `outputs[k]` `[frames.count, K, K, N_k]`, from memory or from the artifact.
    public static func readClip(
        into outputs: [UnsafeMutablePointer<Float>], video: LSTMVideo, frames: [Int], geometry: LSTMCubeGeometry
    ) throws {
        let first = frames[0]
        var n = 1
        while n < frames.count && frames[n] == first + n { n += 1 }
        let file = video.cubes.isEmpty ? try HDF5File.open(at: video.url) : nil
        for k in geometry.branches.indices {
            let size = geometry.stepSize(branch: k)
            let output = outputs[k]
            if let file {
                let dataset = try file.openDataset("cube/\(geometry.branches[k])")
                try dataset.read(into: UnsafeMutableBufferPointer(start: output, count: n * size), at: [first, 0, 0, 0],
                                 shape: [n, geometry.grid, geometry.grid, geometry.channels[k]])
            } else {
                video.cubes[k].withUnsafeBufferPointer { cube in
                    output.update(from: cube.baseAddress! + first * size, count: n * size)
                }
            }
            for i in n..<frames.count {
                precondition(frames[i] == frames[n - 1], "readClip: frames must be a run, then padding")
                (output + i * size).update(from: output + (n - 1) * size, count: size)
            }
        }
    }
}
