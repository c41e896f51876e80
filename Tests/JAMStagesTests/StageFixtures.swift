import Foundation
import JAMArtifacts
import JAMCore
import JAMTestSupport
import Testing

/// The repository's root folder (for its scripts and pipeline.json).
let repositoryRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// A small pipeline config in `dir`: a synthetic dataset under `dir/synth`, artifacts under
/// `dir/<artifacts>`. Sizes are kept tiny so end-to-end runs take a second or two.
func writeTinyConfig(
    in dir: URL, name: String = "pipeline.json", artifacts: String = "artifacts",
    videosPerClass: Int = 3, frames: Int = 12, size: Int = 32, root: String = "synth",
    synthetic: Bool = true, format: String = "ucf101", splits: String = "[1, 2]", extraDecode: String = "", training: String = "",
    weights: String = "null"
) throws -> URL {
    let text = """
        {
          "artifacts_root": "\(artifacts)",
          "dataset": { "name": "tiny", "format": "\(format)", "root": "\(root)", "splits": \(splits), "synthetic": \(synthetic) },
          "synth": { "seed": 7, "classes": 6, "videos_per_class": \(videosPerClass), "frames": \(frames), "motion_period": 0,
                     "width": 64, "height": 48, "fps": 25, "container": "avi" },
          "decode": { "size": \(size), "resize": "stretch", "every": 1, "max_frames": 0, "threads": 2\(extraDecode) },
          "features": { "weights": \(weights), "init_seed": 3, "batch": 4, "storage": "float32", "threads": 2 }\(training)
        }
        """
    let url = dir.appendingPathComponent(name)
    try text.write(to: url, atomically: true, encoding: .utf8)
    return url
}

/// Every `.h5` file under `folder`, as paths relative to it, sorted.
func artifactFiles(under folder: URL) -> [String] {
    guard let walker = FileManager.default.enumerator(atPath: folder.path) else { return [] }
    return walker.compactMap { $0 as? String }.filter { $0.hasSuffix(".h5") }.sorted()
}

/// The single digest folder of a stage (`<root>/tiny/<stage>/<digest>`).
func stageFolder(_ artifacts: URL, _ stage: String) throws -> URL {
    let base = artifacts.appendingPathComponent("tiny/\(stage)")
    let digests = try FileManager.default.contentsOfDirectory(atPath: base.path).sorted()
    try #require(digests.count == 1, "expected one digest folder under \(base.path), found \(digests)")
    return base.appendingPathComponent(digests[0])
}

/// Everything in an artifact that must not depend on how the run went: every dataset's shape
/// and values, and every root attribute but the creation time and the source path (which
/// names the input's folder, different for runs under different artifact roots).
func artifactContents(_ url: URL) throws -> [String: String] {
    let file = try HDF5File.open(at: url)
    var contents: [String: String] = [:]
    for name in file.attributeNames() where name != "jam_created" && name != "jam_source" {
        if let s = try? file.stringAttribute(name) {
            contents["@" + name] = s
        } else if let v = try file.numericAttribute(name, as: Double.self) {
            contents["@" + name] = "\(v)"
        }
    }
    for name in file.memberNames() {
        let dataset = try file.openDataset(name)
        let values = try dataset.read(as: Double.self)
        let digest = values.withUnsafeBytes { SHA256.hex($0) }
        contents[name] = "\(try dataset.shape()) \(try dataset.storageType()) sha256:\(digest)"
    }
    return contents
}

/// Starts a built executable without waiting for it.
func launch(_ name: String, _ arguments: [String], in directory: URL) throws -> Process {
    let process = Process()
    process.executableURL = productsDirectory.appendingPathComponent(name)
    process.arguments = arguments
    process.currentDirectoryURL = directory
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    return process
}

/// Waits until `condition` holds or `timeout` seconds pass; returns whether it held.
func waitUntil(timeout: Double, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if condition() { return true }
        usleep(2_000)
    }
    return condition()
}
