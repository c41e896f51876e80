// Tests: Tests/JAMDatasetsTests/FolderDatasetTests.swift (frame folders in folder datasets and in UCF101 lists)
import Foundation

/// Where a listed video's frames are read from: a video file, or a frame folder of numbered
/// images (`<Class>/<video>/img_00001.jpg …`, MMAction2's "rawframes"; the naming rules are
/// JAMVideo's `FrameFolder`, checked when the folder is decoded).
public enum VideoSource {
    /// Image extensions that make a folder a frame folder (compared lowercased); the same set
    /// as JAMVideo's `FrameFolder.imageExtensions`.
    public static let imageExtensions: Set<String> = ["jpg", "jpeg", "png"]

    /// Whether `url` is a folder holding at least one non-hidden image.
    public static func isFrameFolder(_ url: URL) -> Bool {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue,
              let names = try? FileManager.default.contentsOfDirectory(atPath: url.path) else { return false }
        return names.contains { !$0.hasPrefix(".") && imageExtensions.contains(($0 as NSString).pathExtension.lowercased()) }
    }

    /// The file or folder to decode for `relativePath`: `<root>/<relativePath>` when it exists;
    /// otherwise, for a listed file with an extension, the frame folder of the same name without
    /// it when that exists (`Walk/v_Walk_g01_c01.avi` → `Walk/v_Walk_g01_c01/`), as MMAction2
    /// stores UCF101's and HMDB51's frames while their split files still list `.avi` files.
    /// The entry keeps its listed path, so its artifacts have the same names either way.
    public static func url(root: URL, relativePath: String) -> URL {
        let listed = root.appendingPathComponent(relativePath)
        if FileManager.default.fileExists(atPath: listed.path) { return listed }
        let folder = listed.deletingPathExtension()
        return folder != listed && isFrameFolder(folder) ? folder : listed
    }

    /// The name a video's artifacts take in its class folder (`PipelineConfig.artifactURL`):
    /// its file or folder name without what follows the last dot.
    static func artifactStem(_ name: String) -> String {
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return name }
        return String(name[..<dot])
    }
}
