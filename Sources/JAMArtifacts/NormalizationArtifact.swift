// shapes: mean/<branch>, scale/<branch> [C] float32, one pair per branch.
import Foundation
import JAMCore

/// `normalization`: the per-channel standardization a trained stage applied to its inputs,
/// `x' = (x − mean[c]) · scale[c]`, written once per split beside the stage's checkpoint
/// (`<stage folder>/split<N>/normalization.h5`) instead of into every exported file.
///
/// jam-c3d records the standardization of the VGG16 maps (statistics of the split's training
/// videos' features); jam-lstm the standardization of the cubes (statistics of the split's
/// training cubes). Both are recomputed bit-identically from the same files on every run; the
/// file says what they were without rerunning anything.
public enum NormalizationArtifact {
    public static let kind = ArtifactKind.normalization
    /// The file's name inside the split folder.
    public static let fileName = "normalization.h5"

    /// The file of split folder `splitFolder` (`…/split<N>/`).
    public static func url(inSplitFolder splitFolder: URL) -> URL {
        splitFolder.appendingPathComponent(fileName)
    }

    /// One standardization per branch: `mean[b]` and `scale[b]` have that branch's channel count.
    public struct Content: Sendable, Equatable {
        public var branches: [String]
        public var mean: [[Float]]
        public var scale: [[Float]]
        /// What was standardized: `features` (jam-c3d) or `cubes` (jam-lstm).
        public var inputs: String
        public var split: Int
        /// Videos whose statistics these are (the split's training videos).
        public var trainingVideos: Int

        public init(branches: [String], mean: [[Float]], scale: [[Float]], inputs: String, split: Int, trainingVideos: Int) {
            precondition(mean.count == branches.count && scale.count == branches.count, "one mean and scale per branch")
            (self.branches, self.mean, self.scale) = (branches, mean, scale)
            (self.inputs, self.split, self.trainingVideos) = (inputs, split, trainingVideos)
        }
    }

    /// Writes and publishes (temporary file + rename) the split's file, replacing an older one.
    public static func write(_ c: Content, to url: URL, header: ArtifactHeader) throws {
        let writer = try ArtifactWriter(url: url, header: header)
        let file = writer.file!
        for (b, branch) in c.branches.enumerated() {
            try file.write("mean/\(branch)", c.mean[b], shape: [c.mean[b].count], options: .axes("C"))
            try file.write("scale/\(branch)", c.scale[b], shape: [c.scale[b].count], options: .axes("C"))
        }
        try file.setAttribute("branches", strings: c.branches)
        try file.setAttribute("inputs", c.inputs)
        try file.setAttribute("split", c.split)
        try file.setAttribute("training_videos", c.trainingVideos)
        try file.setAttribute("formula", "x' = (x - mean[c]) * scale[c]; scale = 1/std, 0 for a constant channel")
        try writer.publish()
    }

    /// Reads the file at `url`, checking its kind, schema and that it holds every branch of
    /// `branches`; errors name the file and the stage to rerun.
    public static func read(_ url: URL, branches: [String]) throws -> Content {
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw ArtifactError(path: url.path, "no normalization artifact; rerun \(kind.producedBy) (it writes one per split)")
        }
        let file = try ArtifactReader(url: url, expecting: kind).file
        var mean: [[Float]] = [], scale: [[Float]] = []
        for branch in branches {
            guard file.contains("mean/\(branch)"), file.contains("scale/\(branch)") else {
                throw ArtifactError(path: url.path, "normalization has no statistics of branch '\(branch)'; rerun \(kind.producedBy)")
            }
            let (m, mShape) = try file.read("mean/\(branch)", as: Float.self)
            let (s, sShape) = try file.read("scale/\(branch)", as: Float.self)
            guard mShape.count == 1, mShape == sShape else {
                throw ArtifactError(path: url.path, "mean/\(branch) \(mShape) and scale/\(branch) \(sShape) are not two [C] vectors")
            }
            mean.append(m)
            scale.append(s)
        }
        return Content(branches: branches, mean: mean, scale: scale, inputs: try file.stringAttribute("inputs") ?? "",
                       split: try file.intAttribute("split") ?? -1, trainingVideos: try file.intAttribute("training_videos") ?? 0)
    }
}
