import ArgumentParser
import Foundation
import JAMArtifacts

/// Disk use of an artifacts folder, and what HDF5's built-in filters would change.
///
/// Without `--filters`: every `.h5` under the folder, grouped by its digest folder
/// (`<dataset>/<kind folder>/<digest>`), with its artifact kind, files, bytes, frames (the length of
/// each file's `frame_index`: decoded frames, or cube steps) and bytes per frame.
///
/// With `--filters`: the array datasets of up to `--sample` features and cubes files are read and
/// rewritten into a temporary folder once per candidate layout (contiguous; chunked; deflate with
/// and without the byte shuffle at several levels; and float16 for float32 data), timing the
/// write, a whole read and a frame-by-frame read, checking that every lossless candidate reads
/// back bit for bit. Features are chunked one frame per chunk, cubes in whole steps up to 64 KiB,
/// as the stages write them. The files stay in the page cache, and times are CPU time of the
/// calling thread (HDF5 filters run there), so they are the CPU cost of the filters, not of the
/// disk, and a shared machine slows them less than wall time.
struct DiskBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "disk",
        abstract: "Print bytes per frame of each artifact folder; with --filters, measure shuffle/deflate and float16.")

    @Option(help: "Artifacts folder to measure (e.g. data/artifacts).")
    var artifacts = "data/artifacts"
    @Flag(help: "Rewrite a sample of features and cubes files with each candidate filter and time it.")
    var filters = false
    @Option(help: "Files of each kind (features, cubes) rewritten by --filters.")
    var sample = 8
    @Option(help: "Deflate levels tried by --filters, comma-separated.")
    var levels = "1,4,9"

    func validate() throws {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: artifacts, isDirectory: &isFolder), isFolder.boolValue else {
            throw ValidationError("--artifacts \(artifacts) is not a folder; run the pipeline first (scripts/run-pipeline.sh)")
        }
        if sample < 1 { throw ValidationError("--sample must be at least 1") }
        if deflateLevels.isEmpty { throw ValidationError("--levels must list deflate levels 1-9, e.g. 1,4,9") }
    }

    var deflateLevels: [Int] {
        levels.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }.filter { (1...9).contains($0) }
    }

    func run() throws {
        let root = URL(fileURLWithPath: artifacts).standardizedFileURL
        let files = try artifactFiles(under: root)
        printUsage(files, root: root)
        guard filters else { return }
        for kind in ["features", "cubes"] {
            let sampled = files.filter { $0.kind == kind }.prefix(sample)
            guard !sampled.isEmpty else { print("\n\(kind): no files under \(root.path)"); continue }
            try measureFilters(kind: kind, files: Array(sampled))
        }
    }

    // MARK: Usage

    struct ArtifactFile {
        var url: URL
        var group: String
        var kind: String
        var bytes: Int
        var frames: Int
    }

    func artifactFiles(under root: URL) throws -> [ArtifactFile] {
        guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.fileSizeKey]) else { return [] }
        var files: [ArtifactFile] = []
        for case let url as URL in walker where url.pathExtension == "h5" {
            let relative = url.standardizedFileURL.path.dropFirst(root.path.count + 1).split(separator: "/")
            let group = relative.prefix(3).joined(separator: "/")
            let bytes = (try? url.resourceValues(forKeys: [.fileSizeKey]).fileSize) ?? 0
            guard let file = try? HDF5File.open(at: url) else { continue }
            let kind = (try? file.stringAttribute("jam_artifact")) ?? nil
            let frames = file.contains("frame_index") ? ((try? file.openDataset("frame_index").shape().first) ?? 0) ?? 0 : 0
            files.append(ArtifactFile(url: url, group: group, kind: kind ?? "?", bytes: bytes, frames: frames))
        }
        return files.sorted { ($0.group, $0.url.path) < ($1.group, $1.url.path) }
    }

    func printUsage(_ files: [ArtifactFile], root: URL) {
        print("disk use under \(root.path) (frames: the length of each file's frame_index; cube steps for cubes)")
        print(pad("folder", 40) + pad("kind", 16) + lpad("files", 7) + lpad("MB", 10) + lpad("frames", 9) + lpad("bytes/frame", 13))
        let groups = Dictionary(grouping: files) { "\($0.group)\t\($0.kind)" }
        for key in groups.keys.sorted() {
            let members = groups[key]!
            let parts = key.split(separator: "\t").map(String.init)
            let bytes = members.reduce(0) { $0 + $1.bytes }, frames = members.reduce(0) { $0 + $1.frames }
            print(pad(parts[0], 40) + pad(parts[1], 16) + lpad("\(members.count)", 7)
                  + lpad(String(format: "%.2f", Double(bytes) / 1e6), 10) + lpad("\(frames)", 9)
                  + lpad(frames > 0 ? String(format: "%.0f", Double(bytes) / Double(frames)) : "-", 13))
        }
    }

    // MARK: Filters

    /// One way of storing an array.
    struct Candidate {
        var name: String
        var options: DatasetOptions
        var lossless: Bool
    }

    func candidates(stored: HDF5StorageType, chunk: [Int]) -> [Candidate] {
        var list = [Candidate(name: "contiguous (no filter)", options: DatasetOptions(storage: stored), lossless: true),
                    Candidate(name: "chunked \(chunk)", options: DatasetOptions(storage: stored, chunk: chunk), lossless: true)]
        for level in deflateLevels {
            list.append(Candidate(name: "deflate \(level)", options: DatasetOptions(storage: stored, chunk: chunk, deflate: level,
                                                                                  shuffle: false), lossless: true))
            list.append(Candidate(name: "shuffle + deflate \(level)",
                                  options: DatasetOptions(storage: stored, chunk: chunk, deflate: level), lossless: true))
        }
        if stored == .float32 {
            list.append(Candidate(name: "float16", options: DatasetOptions(storage: .float16), lossless: false))
            for shuffle in [false, true] {
                list.append(Candidate(name: "float16 + \(shuffle ? "shuffle + " : "")deflate \(deflateLevels[0])",
                                      options: DatasetOptions(storage: .float16, chunk: chunk, deflate: deflateLevels[0],
                                                              shuffle: shuffle), lossless: false))
            }
        }
        return list
    }

    /// The arrays of one file: name, stored type, shape and values.
    func arrays(of url: URL, kind: String) throws -> [(String, HDF5StorageType, [Int], [Float])] {
        let file = try HDF5File.open(at: url)
        let names = kind == "features" ? ["pool4", "conv5_3"]
            : ((try file.stringArrayAttribute("branches")) ?? []).map { CubesArtifact.datasetName(branch: $0) }
        return try names.filter { file.contains($0) }.map { name in
            let dataset = try file.openDataset(name)
            return (name, try dataset.storageType(), try dataset.shape(), try dataset.read(as: Float.self))
        }
    }

    func measureFilters(kind: String, files: [ArtifactFile]) throws {
        let loaded = try files.map { try arrays(of: $0.url, kind: kind) }
        guard let first = loaded.first?.first else { return }
        let frames = loaded.reduce(0) { $0 + ($1.first?.2.first ?? 0) }
        let rawBytes = loaded.joined().reduce(0) { $0 + $1.3.count * ($1.1 == .float16 ? 2 : 4) }
        print("\n\(kind): \(files.count) files, \(frames) frames, arrays \(loaded[0].map { "\($0.0) \($0.2)" }.joined(separator: ", ")) "
              + "stored as \(first.1.rawValue); \(rawBytes / max(frames, 1)) raw bytes/frame")
        print("MB/s: raw (uncompressed) megabytes per CPU-second of the calling thread; per-frame: one frame per read")
        print(pad("candidate", 34) + lpad("bytes/frame", 12) + lpad("ratio", 7) + lpad("write MB/s", 11)
              + lpad("read MB/s", 10) + lpad("per-frame MB/s", 15) + "  values")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("jam-bench-disk-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let frame = Array(first.2.dropFirst())
        let stepBytes = frame.reduce(1, *) * (first.1 == .float16 ? 2 : 4)
        let chunkSteps = kind == "cubes" ? CubesArtifact.Storage.chunkSteps(stepBytes: stepBytes, steps: first.2[0]) : 1
        for candidate in candidates(stored: first.1, chunk: [chunkSteps] + frame) {
            var (bytes, writeTime, readTime, frameTime, worst) = (0, 0.0, 0.0, 0.0, 0.0)
            var exact = true
            for (i, arrays) in loaded.enumerated() {
                let url = folder.appendingPathComponent("\(i).h5")
                let start = threadCPUTime()
                do {
                    let file = try HDF5File.create(at: url)
                    for (name, _, shape, values) in arrays {
                        var options = candidate.options
                        if let chunk = options.chunk { options.chunk = zip(chunk, shape).map { min($0, $1) } }
                        try file.write(name, values, shape: shape, options: options)
                    }
                    try file.flush()
                }
                writeTime += threadCPUTime() - start
                bytes += (try url.resourceValues(forKeys: [.fileSizeKey]).fileSize) ?? 0
                for (name, _, shape, values) in arrays {
                    // A fresh open for each kind of read: HDF5's chunk cache would serve the
                    // second read without decompressing.
                    // (The first dataset is released before the second open, or HDF5 would share it.)
                    let back = try timed(&readTime) { try HDF5File.open(at: url).openDataset(name).read(as: Float.self) }
                    try timed(&frameTime) {
                        let dataset = try HDF5File.open(at: url).openDataset(name)
                        var frame = [Float](repeating: 0, count: shape.reduce(1, *) / shape[0])
                        for t in 0..<shape[0] {
                            try frame.withUnsafeMutableBufferPointer {
                                try dataset.read(into: $0, at: [t] + shape.dropFirst().map { _ in 0 }, shape: [1] + shape.dropFirst())
                            }
                        }
                    }
                    if back.withUnsafeBytes({ a in values.withUnsafeBytes { b in !a.elementsEqual(b) } }) { exact = false }
                    for (a, b) in zip(back, values) where b != 0 { worst = max(worst, Double(abs(a - b) / abs(b))) }
                }
            }
            let megabytes = Double(rawBytes) / 1e6
            let values = exact ? "bit-identical" : String(format: "max relative error %.2g", worst)
            if candidate.lossless && !exact { throw ValidationError("\(candidate.name) did not read back the values written") }
            print(pad(candidate.name, 34) + lpad("\(bytes / max(frames, 1))", 12)
                  + lpad(String(format: "%.2f", Double(rawBytes) / Double(bytes)), 7)
                  + lpad(String(format: "%.0f", megabytes / writeTime), 11) + lpad(String(format: "%.0f", megabytes / readTime), 10)
                  + lpad(String(format: "%.0f", megabytes / frameTime), 15) + "  " + values)
        }
    }
}

/// Runs `body`, adding the CPU time it took to `total`.
private func timed<R>(_ total: inout Double, _ body: () throws -> R) rethrows -> R {
    let start = threadCPUTime()
    defer { total += threadCPUTime() - start }
    return try body()
}

/// CPU seconds used by the calling thread so far.
private func threadCPUTime() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
}

private func pad(_ s: String, _ width: Int) -> String { s.count >= width ? s + " " : s + String(repeating: " ", count: width - s.count) }
private func lpad(_ s: String, _ width: Int) -> String { s.count >= width ? " " + s : String(repeating: " ", count: width - s.count) + s }
