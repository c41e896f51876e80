import Foundation

extension PipelineConfig {
    /// The folder holding one stage's artifacts for one digest:
    /// `<artifacts_root>/<dataset.name>/<stage>/<digest>/`. Two configurations that differ in a
    /// setting the stage depends on get different digests, so they never share a folder.
    ///
    ///     config.stageDirectory("frames", digest: config.decodeDigest)
    public func stageDirectory(_ stage: String, digest: String) -> URL {
        artifactsRoot
            .appendingPathComponent(dataset.name, isDirectory: true)
            .appendingPathComponent(stage, isDirectory: true)
            .appendingPathComponent(digest, isDirectory: true)
    }

    /// The artifact of one video inside a stage folder, keeping the class folder and replacing
    /// the extension: `ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi` →
    /// `<stageDirectory>/ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.h5`.
    ///
    /// - Parameter relativePath: a video path relative to the dataset root, as in
    ///   `VideoEntry.relativePath` (already checked not to escape the root).
    public static func artifactURL(
        forVideo relativePath: String, in stageDirectory: URL, pathExtension: String = "h5"
    ) -> URL {
        precondition(!relativePath.hasPrefix("/") && !relativePath.split(separator: "/").contains(".."),
                     "video path \(relativePath) escapes its root")
        var url = stageDirectory
        let parts = relativePath.split(separator: "/", omittingEmptySubsequences: true)
        for part in parts.dropLast() { url.appendPathComponent(String(part), isDirectory: true) }
        var name = String(parts.last ?? "")
        if let dot = name.lastIndex(of: "."), dot != name.startIndex { name = String(name[..<dot]) }
        return url.appendingPathComponent(name + "." + pathExtension)
    }

    /// `artifactURL(forVideo:in:)` in `stageDirectory(stage, digest:)`.
    public func artifactURL(forVideo relativePath: String, stage: String, digest: String) -> URL {
        PipelineConfig.artifactURL(forVideo: relativePath, in: stageDirectory(stage, digest: digest))
    }
}
