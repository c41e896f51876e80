// shapes: frames [T, S, S, 3] uint8; features per tap [T, H, W, C] (H = W = S/16, C = 512);
// frame_index [T] int32, each frame's index in the source video.
import Foundation
import JAMCore

// The per-video artifacts of the feature cache: frames (jam-decode) and features
// (jam-features). Each type owns its dataset and attribute names; docs/ARTIFACTS.md lists them.

/// Every per-video artifact records its video in the attributes `video` (path relative to the
/// dataset root), `class_name` and `label` (0-based).
extension VideoEntry {
    func write(to file: HDF5File) throws {
        try file.setAttribute("video", relativePath)
        try file.setAttribute("class_name", className)
        try file.setAttribute("label", label)
    }

    /// The video recorded in `file` (empty strings and −1 where an attribute is missing).
    static func read(from file: HDF5File) throws -> VideoEntry {
        VideoEntry(relativePath: try file.stringAttribute("video") ?? "", label: try file.intAttribute("label") ?? -1,
                   className: try file.stringAttribute("class_name") ?? "")
    }
}

/// `frames`: one video's decoded frames, `[T, S, S, 3]` uint8 RGB, deflate-compressed.
public enum FramesArtifact {
    public static let kind = ArtifactKind.frames

    /// How the frames were decoded, recorded beside them.
    public struct Decoding: Sendable {
        public var size: Int
        public var resize: String
        public var every: Int
        public var maxFrames: Int
        public var sourceFPS: Double
        public var sourceWidth: Int
        public var sourceHeight: Int
        public var sourceFrameCount: Int

        public init(size: Int, resize: String, every: Int, maxFrames: Int, sourceFPS: Double, sourceWidth: Int,
                    sourceHeight: Int, sourceFrameCount: Int) {
            (self.size, self.resize, self.every, self.maxFrames) = (size, resize, every, maxFrames)
            (self.sourceFPS, self.sourceWidth, self.sourceHeight, self.sourceFrameCount)
                = (sourceFPS, sourceWidth, sourceHeight, sourceFrameCount)
        }
    }

    /// Writes and publishes one frames artifact.
    public static func write(
        frames: [UInt8], frameIndex: [Int32], video: VideoEntry, decoding d: Decoding, to url: URL, header: ArtifactHeader
    ) throws {
        let writer = try ArtifactWriter(url: url, header: header)
        let file = writer.file!
        try file.write("frames", frames, shape: [frameIndex.count, d.size, d.size, 3],
                       options: DatasetOptions(deflate: 1, axes: "T,H,W,C"))
        try file.write("frame_index", frameIndex, shape: [frameIndex.count], options: .axes("T"))
        try video.write(to: file)
        try file.setAttribute("size", d.size)
        try file.setAttribute("resize", d.resize)
        try file.setAttribute("every", d.every)
        try file.setAttribute("max_frames", d.maxFrames)
        try file.setAttribute("source_fps", d.sourceFPS)
        try file.setAttribute("source_width", d.sourceWidth)
        try file.setAttribute("source_height", d.sourceHeight)
        try file.setAttribute("source_frame_count", d.sourceFrameCount)
        try writer.publish()
    }

    /// A frames artifact opened for reading, its kind, schema and frame shape checked.
    public struct Reader: Sendable {
        public let url: URL
        let reader: ArtifactReader
        let dataset: HDF5Dataset
        /// T.
        public let frameCount: Int
        /// S.
        public let size: Int

        /// Opens `url`; `sizeMultiple` is what S must be a multiple of (16 for VGG16's four pools).
        public init(url: URL, sizeMultiple: Int = 1) throws {
            guard FileManager.default.fileExists(atPath: url.path) else {
                throw ArtifactError(path: url.path, "frames artifact missing; run jam-decode first (did that video fail there?)")
            }
            self.url = url
            reader = try ArtifactReader(url: url, expecting: FramesArtifact.kind)
            dataset = try reader.file.openDataset("frames")
            let shape = try dataset.shape()
            guard shape.count == 4, shape[3] == 3, shape[1] == shape[2], shape[1] > 0, shape[1] % sizeMultiple == 0 else {
                let multiple = sizeMultiple > 1 ? " with S a multiple of \(sizeMultiple)" : ""
                throw ArtifactError(path: url.path, "frames dataset has shape \(shape), expected [T, S, S, 3]\(multiple)")
            }
            (frameCount, size) = (shape[0], shape[1])
        }

        /// Reads `count` frames from `start` into `output` `[count, S, S, 3]`.
        public func readFrames(into output: UnsafeMutableBufferPointer<UInt8>, start: Int, count: Int) throws {
            try dataset.read(into: output, at: [start, 0, 0, 0], shape: [count, size, size, 3])
        }

        public func frameIndex() throws -> [Int32] { try reader.file.read("frame_index", as: Int32.self).data }

        public func video() throws -> VideoEntry { try VideoEntry.read(from: reader.file) }
    }
}

/// `features`: one video's VGG16 maps, one dataset per tap (`pool4`, `conv5_3`), each
/// `[T, S/16, S/16, 512]`, chunked per frame.
public enum FeaturesArtifact {
    public static let kind = ArtifactKind.features

    /// Map sizes shared by every video of a run (batches need equal H, W, C).
    public struct MapShape: Sendable, Hashable, CustomStringConvertible {
        public var height, width, channels: Int

        public init(height: Int, width: Int, channels: Int) {
            (self.height, self.width, self.channels) = (height, width, channels)
        }

        public var count: Int { height * width * channels }
        public var description: String { "[T, \(height), \(width), \(channels)]" }
    }

    /// A features artifact being written: its tap datasets are created up front and filled a
    /// slice of frames at a time, so memory does not grow with the video.
    public final class Writer {
        let writer: ArtifactWriter
        let datasets: [HDF5Dataset]
        let shape: MapShape

        /// One chunk per frame, compressed as `compression`.
        public init(url: URL, header: ArtifactHeader, taps: [String], frames: Int, shape: MapShape, storage: HDF5StorageType,
                    compression: Compression = .none) throws {
            let writer = try ArtifactWriter(url: url, header: header)
            self.writer = writer
            self.shape = shape
            let options = DatasetOptions(storage: storage, chunk: [1, shape.height, shape.width, shape.channels],
                                         compression: compression, axes: "T,H,W,C")
            datasets = try taps.map {
                try writer.file!.createDataset($0, of: Float.self, shape: [frames, shape.height, shape.width, shape.channels],
                                               options: options)
            }
        }

        /// Writes `count` frames from `start` of tap `tap` (its index in `taps`).
        public func write(tap: Int, _ values: UnsafeBufferPointer<Float>, start: Int, count: Int) throws {
            try datasets[tap].write(buffer: values, at: [start, 0, 0, 0], shape: [count, shape.height, shape.width, shape.channels])
        }

        /// Records the frame index, the video and the network, and publishes the file.
        public func publish(frameIndex: [Int32], video: VideoEntry, inputSize: Int, weights: String, preprocessing: String) throws {
            let file = writer.file!
            try file.write("frame_index", frameIndex, shape: [frameIndex.count], options: .axes("T"))
            try video.write(to: file)
            try file.setAttribute("input_size", inputSize)
            try file.setAttribute("weights", weights)
            try file.setAttribute("preprocessing", preprocessing)
            try writer.publish()
        }
    }

    /// What a scan of a features artifact found: its frames, shape, frame index, and per tap
    /// the channels' moments and (when asked) the mean map over frames.
    public struct Summary: Sendable {
        public var frames: Int
        public var shape: MapShape
        public var frameIndex: [Int32]
        public var moments: [ChannelMoments]
        /// Per tap `[H, W, C]`, or empty.
        public var meanMaps: [[Float]]
    }

    /// Opens one video's features artifact and checks what training and export rely on: kind
    /// and schema, a dataset per tap of shape `[T, H, W, C]` (equal across taps, and equal to
    /// `expected` when given), `frame_index` `[T]`, and every value finite (NaN/Inf in features
    /// is a bad input, docs/DESIGN.md §3). Reads one frame at a time, so memory stays at a frame.
    public static func scan(_ url: URL, video: String, taps: [String], expected: MapShape?, meanMaps: Bool) throws -> Summary {
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw ArtifactError(path: url.path, "no features artifact for \(video); run jam-features first")
        }
        let file = try ArtifactReader(url: url, expecting: kind).file
        var shape: MapShape?
        var frames = 0
        var moments: [ChannelMoments] = []
        var means: [[Float]] = []
        for tap in taps {
            guard file.contains(tap) else {
                throw ArtifactError(path: url.path, "features artifact has no '\(tap)' dataset; rerun jam-features")
            }
            let dataset = try file.openDataset(tap)
            let dims = try dataset.shape()
            guard dims.count == 4, dims.allSatisfy({ $0 > 0 }) else {
                throw ArtifactError(path: url.path, "'\(tap)' has shape \(dims), expected [T, H, W, C]")
            }
            let here = MapShape(height: dims[1], width: dims[2], channels: dims[3])
            if let shape, shape != here || frames != dims[0] {
                throw ArtifactError(path: url.path, "'\(tap)' has shape \(dims), the other taps [\(frames), \(shape.height), \(shape.width), \(shape.channels)]")
            }
            if let expected, expected != here {
                throw ArtifactError(path: url.path, "'\(tap)' maps are \(here), the other videos' \(expected); "
                                    + "all videos need the same map size (one decode size)")
            }
            shape = here
            frames = dims[0]
            let count = here.count
            var buffer = [Float](repeating: 0, count: count)
            var tapMoments = ChannelMoments(channels: here.channels)
            var sums = [Double](repeating: 0, count: meanMaps ? count : 0)
            for t in 0..<frames {
                try buffer.withUnsafeMutableBufferPointer {
                    try dataset.read(into: $0, at: [t, 0, 0, 0], shape: [1, here.height, here.width, here.channels])
                }
                if let bad = buffer.firstIndex(where: { !$0.isFinite }) {
                    throw ArtifactError(path: url.path, "'\(tap)' holds \(buffer[bad]) at frame \(t) "
                                        + "(element \(bad)); rerun jam-features --verify (it finds and redoes files holding NaN or infinity)")
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
        return Summary(frames: frames, shape: shape!, frameIndex: index, moments: moments, meanMaps: means)
    }

    /// Reads frames `frames` (consecutive and ascending, possibly repeating the last frame for
    /// a padded clip) of one tap into `output` `[frames.count, H, W, C]`.
    public static func readFrames(
        into output: UnsafeMutablePointer<Float>, file: HDF5File, tap: String, frames: [Int], shape: MapShape
    ) throws {
        let n = leadingRun(frames)
        let dataset = try file.openDataset(tap)
        try dataset.read(into: UnsafeMutableBufferPointer(start: output, count: n * shape.count),
                         at: [frames[0], 0, 0, 0], shape: [n, shape.height, shape.width, shape.channels])
        repeatLast(output, run: n, total: frames.count, size: shape.count)
    }
}

/// The length of the consecutive run `first, first + 1, …` that starts `indices`; what follows
/// must repeat its last element (a clip padded past the end of its video).
func leadingRun(_ indices: [Int]) -> Int {
    var n = 1
    while n < indices.count && indices[n] == indices[0] + n { n += 1 }
    precondition(indices[n...].allSatisfy { $0 == indices[n - 1] }, "frames must be a run, then padding")
    return n
}

/// Fills elements `run ..< total` of `output` (each `size` floats) with copies of element `run − 1`.
func repeatLast(_ output: UnsafeMutablePointer<Float>, run: Int, total: Int, size: Int) {
    for i in run..<total { (output + i * size).update(from: output + (run - 1) * size, count: size) }
}
