// shapes: cube per branch [T2, K, K, N_k] float32; frame_index [T2]; attention [T, K·K] (per
// branch [T, M, K·K]); clip_starts [clips]; clip_probabilities [clips, L1, C]; predictions per
// test video [V], top5 [V, 5], probabilities [V, C].
import Foundation
import JAMCore

// The artifacts the trained stages write and read: cubes (jam-c3d), attention (jam-lstm) and
// predictions (jam-eval). Each type owns its dataset and attribute names; docs/ARTIFACTS.md
// lists them.

extension HDF5File {
    /// Where a video stands in a trained stage's run: its split and subset (`train` or `test`).
    func setSplitAttributes(split: Int, subset: String) throws {
        try setAttribute("split", split)
        try setAttribute("subset", subset)
    }
}

/// `cubes`: one video's feature cube per branch, `cube/<branch>` `[T2, K, K, N_k]`, and the
/// source frame of each step (`frame_index`).
public enum CubesArtifact {
    public static let kind = ArtifactKind.cubes

    /// The dataset of branch `branch`.
    public static func datasetName(branch: String) -> String { "cube/\(branch)" }

    /// How the cubes were made, recorded beside them.
    public struct Provenance: Sendable {
        public var branches: [String]
        public var gridHeight: Int
        public var gridWidth: Int
        public var channels: Int
        public var middle: String
        public var round: Int
        public var attentionWeight: Double
        /// Cube step j is centred on frame j + timeOffset of the features.
        public var timeOffset: Int
        public var centering: String

        public init(branches: [String], gridHeight: Int, gridWidth: Int, channels: Int, middle: String, round: Int,
                    attentionWeight: Double, timeOffset: Int, centering: String) {
            (self.branches, self.gridHeight, self.gridWidth, self.channels) = (branches, gridHeight, gridWidth, channels)
            (self.middle, self.round, self.attentionWeight, self.timeOffset) = (middle, round, attentionWeight, timeOffset)
            self.centering = centering
        }
    }

    /// How the cube datasets are stored: element type and compression.
    public struct Storage: Sendable, Hashable {
        public var type: HDF5StorageType
        public var compression: Compression

        public init(type: HDF5StorageType = .float32, compression: Compression = .none) {
            (self.type, self.compression) = (type, compression)
        }

        /// Steps per chunk for steps of `stepBytes` stored bytes: whole steps, up to about 64 KiB
        /// (one step when a step is larger), so a clip's read touches few chunks and small cubes
        /// still compress as a block rather than step by step.
        public static func chunkSteps(stepBytes: Int, steps: Int) -> Int {
            max(1, min(steps, (1 << 16) / max(1, stepBytes)))
        }
    }

    /// Writes and publishes one cubes artifact; `cubes[b]` is branch b's `[steps, Kh, Kw, N]`.
    public static func write(
        cubes: [[Float]], steps: Int, frameIndex: [Int32], video: VideoEntry, split: Int, subset: String,
        provenance p: Provenance, storage: Storage = Storage(), to url: URL, header: ArtifactHeader
    ) throws {
        let writer = try ArtifactWriter(url: url, header: header)
        let file = writer.file!
        let stepBytes = p.gridHeight * p.gridWidth * p.channels * (storage.type == .float16 ? 2 : 4)
        let chunk = [Storage.chunkSteps(stepBytes: stepBytes, steps: steps), p.gridHeight, p.gridWidth, p.channels]
        for (b, branch) in p.branches.enumerated() {
            let options = DatasetOptions(storage: storage.type, chunk: storage.compression.deflate > 0 ? chunk : nil,
                                         compression: storage.compression, axes: "T,H,W,C")
            try file.write(datasetName(branch: branch), cubes[b], shape: [steps, p.gridHeight, p.gridWidth, p.channels],
                           options: options)
        }
        try file.write("frame_index", frameIndex, shape: [steps], options: .axes("T"))
        try video.write(to: file)
        try file.setSplitAttributes(split: split, subset: subset)
        try file.setAttribute("branches", strings: p.branches)
        try file.setAttribute("grid", p.gridHeight)
        try file.setAttribute("grid_width", p.gridWidth)
        try file.setAttribute("channels", p.channels)
        try file.setAttribute("middle", p.middle)
        try file.setAttribute("round", p.round)
        try file.setAttribute("attention_weight", p.attentionWeight)
        try file.setAttribute("time_offset", p.timeOffset)
        try file.setAttribute("centering", p.centering)
        try writer.publish()
    }

    /// The cube geometry every video of a run shares (a batch needs equal K and N_k).
    public struct Geometry: Sendable, Hashable, CustomStringConvertible {
        /// Branch names, in the model's branch order.
        public var branches: [String]
        /// K: the cubes are K×K locations.
        public var grid: Int
        /// N_k per branch.
        public var channels: [Int]

        public init(branches: [String], grid: Int, channels: [Int]) {
            (self.branches, self.grid, self.channels) = (branches, grid, channels)
        }

        /// Floats of one step of branch k: K·K·N_k.
        public func stepSize(branch k: Int) -> Int { grid * grid * channels[k] }

        public var description: String {
            zip(branches, channels).map { "\($0.0) [T, \(grid), \(grid), \($0.1)]" }.joined(separator: ", ")
        }
    }

    /// What a scan of a cubes artifact found.
    public struct Summary: Sendable {
        public var geometry: Geometry
        /// T2.
        public var steps: Int
        public var frameIndex: [Int32]
        /// Per branch, the channels' moments over every step and location.
        public var moments: [ChannelMoments]
        /// Per branch `[T2, K, K, N_k]` when asked to keep them, else empty.
        public var cubes: [[Float]]
    }

    /// Opens one video's cubes artifact and checks what training and export rely on: kind and
    /// schema, a cube per branch of shape `[T, K, K, N_k]` (K and N_k equal to `expected` when
    /// given), `frame_index` `[T]`, a `label` equal to the split's, and every value finite.
    /// Errors name the file, the reason and the stage to rerun (`rerun`, e.g. "rerun jam-c3d --round 2").
    public static func scan(
        _ url: URL, video: VideoEntry, branches: [String], expected: Geometry?, keep: Bool, rerun: String
    ) throws -> Summary {
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw ArtifactError(path: url.path, "no cubes artifact for \(video.relativePath); \(rerun) first "
                                + "(or see its stage-report.json: did this video fail there?)")
        }
        let file = try openChecked(url)
        var grid = 0, steps = 0
        var channels: [Int] = []
        var kept: [[Float]] = []
        var moments: [ChannelMoments] = []
        for branch in branches {
            let name = datasetName(branch: branch)
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
                throw ArtifactError(path: url.path, "'\(name)' holds \(values[bad]) at step \(bad / (grid * grid * dims[3])) "
                                    + "(element \(bad)); \(rerun) --force")
            }
            var branchMoments = ChannelMoments(channels: dims[3])
            branchMoments.add(values)
            moments.append(branchMoments)
            if keep { kept.append(values) }
        }
        let geometry = Geometry(branches: branches, grid: grid, channels: channels)
        if let expected, expected != geometry {
            throw ArtifactError(path: url.path, "cubes are \(geometry), the other videos' \(expected); "
                                + "all videos need the same grid and channels; \(rerun)")
        }
        let (index, indexShape) = try file.read("frame_index", as: Int32.self)
        guard indexShape == [steps] else {
            throw ArtifactError(path: url.path, "frame_index has shape \(indexShape), expected [\(steps)]; \(rerun)")
        }
        if let label = try file.intAttribute("label"), label != video.label {
            throw ArtifactError(path: url.path, "label is \(label), the split files say \(video.label) "
                                + "(\(video.className)); the class list changed: \(rerun) --force")
        }
        return Summary(geometry: geometry, steps: steps, frameIndex: index, moments: moments, cubes: kept)
    }

    /// Opens a cubes artifact through `ArtifactReader`; a schema-1 file (which carried the input
    /// statistics that now live in the split's normalization.h5) gets a message with the cheap fix.
    static func openChecked(_ url: URL) throws -> HDF5File {
        if let old = try? HDF5File.open(at: url), (try? old.stringAttribute("jam_artifact")) == kind.name,
           let version = try? old.intAttribute("jam_schema_version"), version == 1 {
            throw ArtifactError(path: url.path, "'cubes' artifact has schema version 1, this build reads version "
                + "\(kind.schemaVersion) (the input statistics moved to the split's normalization.h5). Delete the split's "
                + "cube files but keep checkpoint.h5 and rerun jam-c3d: it exports them again from the trained model "
                + "without training; or rerun jam-c3d with --force to start over.")
        }
        return try ArtifactReader(url: url, expecting: kind).file
    }

    /// Copies the steps `steps` (consecutive and ascending, possibly repeating the last step for
    /// a padded clip) of every branch into `outputs[k]` `[steps.count, K, K, N_k]`, from `cubes`
    /// (per branch, in memory) when given, else from the artifact at `url`.
    public static func readClip(
        into outputs: [UnsafeMutablePointer<Float>], url: URL, cubes: [[Float]], steps: [Int], geometry: Geometry
    ) throws {
        let first = steps[0]
        let n = leadingRun(steps)
        let file = cubes.isEmpty ? try HDF5File.open(at: url) : nil
        for k in geometry.branches.indices {
            let size = geometry.stepSize(branch: k)
            if let file {
                try file.openDataset(datasetName(branch: geometry.branches[k])).read(
                    into: UnsafeMutableBufferPointer(start: outputs[k], count: n * size), at: [first, 0, 0, 0],
                    shape: [n, geometry.grid, geometry.grid, geometry.channels[k]])
            } else {
                cubes[k].withUnsafeBufferPointer { outputs[k].update(from: $0.baseAddress! + first * size, count: n * size) }
            }
            repeatLast(outputs[k], run: n, total: steps.count, size: size)
        }
    }
}

/// `attention`: one video's LSTM attention, `attention` `[T, K·K]` per step (the mean over
/// branches when per-branch, with `attention_per_branch` `[T, M, K·K]`), and the per-clip
/// class probabilities evaluation votes on.
public enum AttentionArtifact {
    public static let kind = ArtifactKind.attention

    /// Everything jam-lstm exports for one video.
    public struct Content: Sendable {
        /// `[T, S]`.
        public var attention: [Float]
        /// `[T, M, S]`, or nil for one shared map.
        public var perBranch: [Float]?
        public var branchCount: Int
        public var clipStarts: [Int]
        /// `[clips, L1, C]`.
        public var clipProbabilities: [Float]
        public var frameIndex: [Int32]
        public var classNames: [String]
        public var round: Int
        public var branches: [String]
        public var grid: Int
        public var clipLength: Int
        public var clipStride: Int
        public var attentionMode: String
        /// Said beside the maps when they are not attention at all (mean pooling).
        public var note: String?
        public var checkpointStep: Int

        public init(attention: [Float], perBranch: [Float]?, branchCount: Int, clipStarts: [Int], clipProbabilities: [Float],
                    frameIndex: [Int32], classNames: [String], round: Int, branches: [String], grid: Int, clipLength: Int,
                    clipStride: Int, attentionMode: String, note: String?, checkpointStep: Int) {
            (self.attention, self.perBranch, self.branchCount, self.clipStarts) = (attention, perBranch, branchCount, clipStarts)
            (self.clipProbabilities, self.frameIndex, self.classNames, self.round) = (clipProbabilities, frameIndex, classNames, round)
            (self.branches, self.grid, self.clipLength, self.clipStride) = (branches, grid, clipLength, clipStride)
            (self.attentionMode, self.note, self.checkpointStep) = (attentionMode, note, checkpointStep)
        }
    }

    public static func write(_ c: Content, video: VideoEntry, split: Int, subset: String, to url: URL,
                             header: ArtifactHeader) throws {
        let t = c.frameIndex.count, s = c.grid * c.grid
        let writer = try ArtifactWriter(url: url, header: header)
        let file = writer.file!
        try file.write("attention", c.attention, shape: [t, s], options: .axes("T,L"))
        if let perBranch = c.perBranch {
            try file.write("attention_per_branch", perBranch, shape: [t, c.branchCount, s], options: .axes("T,B,L"))
        }
        try file.write("clip_starts", c.clipStarts.map(Int32.init), shape: [c.clipStarts.count], options: .axes("N"))
        try file.write("clip_probabilities", c.clipProbabilities, shape: [c.clipStarts.count, c.clipLength, c.classNames.count],
                       options: .axes("N,T,K"))
        try file.write("frame_index", c.frameIndex, shape: [t], options: .axes("T"))
        try video.write(to: file)
        try file.setAttribute("class_names", strings: c.classNames)
        try file.setSplitAttributes(split: split, subset: subset)
        try file.setAttribute("round", c.round)
        try file.setAttribute("branches", strings: c.branches)
        try file.setAttribute("grid", c.grid)
        try file.setAttribute("clip_length", c.clipLength)
        try file.setAttribute("clip_stride", c.clipStride)
        try file.setAttribute("attention_mode", c.attentionMode)
        if let note = c.note { try file.setAttribute("attention_note", note) }
        try file.setAttribute("checkpoint_step", c.checkpointStep)
        try writer.publish()
    }

    /// The maps `[steps, locations]` of one video, checked against the steps and locations the
    /// reader needs (jam-c3d's later rounds: T2 cube steps × K·K).
    public static func readMaps(_ url: URL, video: String, steps: Int, locations: Int) throws -> [Float] {
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw JAMError("no attention artifact for \(video) (needed because attention_weight > 0 in this round); "
                           + "run jam-lstm of the previous round first", file: url.path)
        }
        let (data, shape) = try ArtifactReader(url: url, expecting: kind).file.read("attention", as: Float.self)
        guard shape == [steps, locations] else {
            throw JAMError("attention has shape \(shape), this round's cubes need [\(steps), \(locations)] "
                           + "(T2 steps × K·K locations); rerun jam-lstm of the previous round on these cubes", file: url.path)
        }
        guard data.allSatisfy({ $0.isFinite }) else {
            throw JAMError("attention holds NaN or infinity; rerun jam-lstm of the previous round", file: url.path)
        }
        return data
    }

    /// The per-clip probabilities `[clips, L1, C]` for evaluation, with C checked.
    public static func readClipProbabilities(_ url: URL, classes: Int, rerun: String) throws -> (values: [Float], clips: Int, steps: Int) {
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw ArtifactError(path: url.path, "attention artifact missing; \(rerun) first")
        }
        let (values, shape) = try ArtifactReader(url: url, expecting: kind).file.read("clip_probabilities", as: Float.self)
        guard shape.count == 3, shape[2] == classes else {
            throw ArtifactError(path: url.path, "clip_probabilities has shape \(shape), expected [clips, L1, \(classes)]")
        }
        return (values, shape[0], shape[1])
    }

    /// The maps `[T, K·K]`, the source frame of each step and K, for the attention-tracking
    /// score; throws a `JAMError` naming the file when they do not fit together.
    public static func readMapsAndFrames(_ url: URL) throws -> (maps: [Float], frameIndex: [Int32], grid: Int) {
        let file = try ArtifactReader(url: url, expecting: kind).file
        guard let grid = try file.intAttribute("grid") else {
            throw JAMError("attention artifact has no 'grid' attribute; rerun jam-lstm", file: url.path)
        }
        let (maps, shape) = try file.read("attention", as: Float.self)
        let (frames, frameShape) = try file.read("frame_index", as: Int32.self)
        guard shape.count == 2, shape[1] == grid * grid, frameShape == [shape[0]] else {
            throw JAMError("attention \(shape) and frame_index \(frameShape) do not fit a \(grid)×\(grid) grid; rerun jam-lstm",
                           file: url.path)
        }
        return (maps, frames, grid)
    }

    /// The maps `[T, K·K]`, K and the video, for pictures (nil when the file cannot be read or
    /// its maps are not `[T, K·K]`).
    public static func readForFigure(_ url: URL) throws -> (maps: [Float], steps: Int, grid: Int, video: String)? {
        guard let reader = try? ArtifactReader(url: url, expecting: kind),
              let video = try reader.file.stringAttribute("video"),
              let grid = try reader.file.intAttribute("grid") else { return nil }
        let (maps, shape) = try reader.file.read("attention", as: Float.self)
        guard shape.count == 2, shape[1] == grid * grid else { return nil }
        return (maps, shape[0], grid, video)
    }
}

/// `predictions`: one split's test-video predictions by jam-eval.
public enum PredictionsArtifact {
    public static let kind = ArtifactKind.predictions

    /// One test video's row.
    public struct Row: Sendable {
        public var video: String
        public var trueLabel: Int
        public var predictedLabel: Int
        /// Up to 5 labels, best first.
        public var top5: [Int]
        /// `[C]`, averaged over the voting window.
        public var probabilities: [Float]

        public init(video: String, trueLabel: Int, predictedLabel: Int, top5: [Int], probabilities: [Float]) {
            (self.video, self.trueLabel, self.predictedLabel, self.top5, self.probabilities)
                = (video, trueLabel, predictedLabel, top5, probabilities)
        }
    }

    /// Writes `true_label`, `predicted_label` `[V]`, `top5` `[V, 5]` (−1 where fewer than 5
    /// classes), `probabilities` `[V, C]`, and the rule that made them.
    public static func write(_ rows: [Row], classNames: [String], rule: String, voteSteps: Int, to url: URL,
                             header: ArtifactHeader) throws {
        let writer = try ArtifactWriter(url: url, header: header)
        let file = writer.file!
        let v = rows.count, c = classNames.count
        try file.write("true_label", rows.map { Int32($0.trueLabel) }, shape: [v], options: .axes("V"))
        try file.write("predicted_label", rows.map { Int32($0.predictedLabel) }, shape: [v], options: .axes("V"))
        try file.write("top5", rows.flatMap { r in (0..<5).map { Int32($0 < r.top5.count ? r.top5[$0] : -1) } }, shape: [v, 5],
                       options: .axes("V,R"))
        try file.write("probabilities", rows.flatMap(\.probabilities), shape: [v, c], options: .axes("V,K"))
        try file.setAttribute("videos", strings: rows.map(\.video))
        try file.setAttribute("class_names", strings: classNames)
        try file.setAttribute("rule", rule)
        try file.setAttribute("vote_steps", voteSteps)
        try writer.publish()
    }
}
