// Tests: Tests/JAMStagesTests/DecodeStageTests.swift (jam-synth end to end: UCF101 layout and lists, same videos at any thread count), Tests/JAMStagesTests/PipelineTests.swift
import Foundation
import JAMConfig
import JAMCore
import JAMDatasets
import JAMVideo

/// Stage 0, `jam-synth`: writes the synthetic action dataset of docs/DESIGN.md §7 in UCF101 layout.
///
///     <root>/jam_synth.json                      settings and digest (written first)
///     <root>/<Class>/v_<Class>_gNN_c01.avi       one video per unit, published by rename
///     <root>/ucfTrainTestlist/classInd.txt, trainlist0{1,2,3}.txt, testlist0{1,2,3}.txt
///     <root>/stage-report.json
///
/// Video `v` of a class is group `v + 1`; split `s` tests the videos with `v % 3 == s - 1`
/// (`DatasetSplit.rotating`), so the three splits test every video once.
public enum SynthStage {
    public static let manifestName = "jam_synth.json"

    /// The dataset's entries in generation order (class-major), as the split files list them.
    public static func entries(settings: SynthSettings, container: VideoCodec) -> (classNames: [String], videos: [VideoEntry]) {
        let classNames = Array(SyntheticActionGenerator.motionNames.prefix(settings.classes))
        var videos: [VideoEntry] = []
        for (label, name) in classNames.enumerated() {
            for v in 0..<settings.videosPerClass {
                let file = String(format: "v_%@_g%02d_c01.%@", name, v + 1, container.fileExtension)
                videos.append(VideoEntry(relativePath: "\(name)/\(file)", label: label, className: name))
            }
        }
        return (classNames, videos)
    }

    public static func run(config: PipelineConfig, policy: RunPolicy, progress: ProgressReporter? = nil) throws -> StageReport {
        guard config.dataset.synthetic else {
            throw JAMError("dataset.synthetic is false: jam-synth only writes synthetic datasets "
                           + "(this config reads \(config.dataset.root))", file: config.file, location: "$.dataset.synthetic")
        }
        let settings = config.synth
        let root = config.datasetRoot
        let codec: VideoCodec = settings.container == .mp4 ? .h264 : .mpeg4
        let generator = try SyntheticActionGenerator(
            width: settings.width, height: settings.height, frames: settings.frames, fps: Double(settings.fps),
            classes: settings.classes, seed: UInt64(settings.seed), motionPeriod: settings.motionPeriod)

        try claimRoot(root, config: config, force: policy.force)
        let (classNames, videos) = entries(settings: settings, container: codec)
        let splits = (1...3).map { DatasetSplit.rotating(classNames: classNames, videos: videos, split: $0) }
        try UCF101Splits.write(
            classNames: classNames, splits: splits,
            to: root.appendingPathComponent(UCF101Splits.listFolderName, isDirectory: true))

        for name in classNames {
            AtomicFile.removeStaleTemporaries(in: root.appendingPathComponent(name, isDirectory: true))
        }
        let units = videos.map { entry in
            WorkUnit(name: entry.relativePath, input: root, output: entry.url(root: root))
        }
        let indexByPath = Dictionary(uniqueKeysWithValues: videos.enumerated().map { ($1.relativePath, $0) })
        let runner = StageRunner(stage: "jam-synth", policy: policy, progress: progress)
        let report = runner.run(units: units, configDigest: config.synthDigest) { unit in
            let index = indexByPath[unit.name]!
            let entry = videos[index]
            let videoIndex = index - entry.label * settings.videosPerClass
            try SystemError.createFolder(unit.output.deletingLastPathComponent())
            let temporary = AtomicFile.temporaryURL(for: unit.output)
            do {
                try generator.writeVideo(classIndex: entry.label, videoIndex: videoIndex, to: temporary, codec: codec)
                try AtomicFile.commit(temporary: temporary, to: unit.output)
            } catch {
                try? FileManager.default.removeItem(at: temporary)
                throw error
            }
        }
        try writeMissingTracks(videos, root: root, generator: generator, videosPerClass: settings.videosPerClass)
        try report.write(to: root)
        return report
    }

    /// The object track beside every video that has none (`ObjectTrack`): each is a pure function
    /// of the synth settings, like the video, so datasets made before tracks existed get them too.
    private static func writeMissingTracks(_ videos: [VideoEntry], root: URL, generator: SyntheticActionGenerator,
                                           videosPerClass: Int) throws {
        for (index, entry) in videos.enumerated() {
            let video = entry.url(root: root)
            let track = ObjectTrack.sidecarURL(forVideo: video)
            guard FileManager.default.fileExists(atPath: video.path),
                  !FileManager.default.fileExists(atPath: track.path) else { continue }
            try generator.objectTrack(classIndex: entry.label, videoIndex: index - entry.label * videosPerClass)
                .write(to: track)
        }
    }

    /// Writes the manifest on first use; refuses a root made with other settings unless forced,
    /// in which case the old dataset is removed first (only a root that holds our manifest).
    private static func claimRoot(_ root: URL, config: PipelineConfig, force: Bool) throws {
        let manifestURL = root.appendingPathComponent(manifestName)
        let manifest: JSONValue = [
            "jam_artifact": "synthetic-dataset", "jam_producer": .string("jam-synth \(jamVersion)"),
            "synth_digest": .string(config.synthDigest), "settings": config.synthStage.settings,
        ]
        let fm = FileManager.default
        if fm.fileExists(atPath: manifestURL.path) {
            let existing = try JSONValue.read(contentsOf: manifestURL)
            let digest = existing["synth_digest"]?.stringValue ?? "unknown"
            if digest == config.synthDigest { return }
            guard force else {
                throw JAMError("holds a synthetic dataset made with other synth settings (digest \(digest), "
                               + "this config \(config.synthDigest)); rerun with --force to replace it, "
                               + "or set dataset.root to another folder", file: root.path)
            }
            for name in try fm.contentsOfDirectory(atPath: root.path) {
                try fm.removeItem(at: root.appendingPathComponent(name))
            }
        } else if fm.fileExists(atPath: root.path),
                  let contents = try? fm.contentsOfDirectory(atPath: root.path), !contents.isEmpty {
            throw JAMError("exists and is not a JAM synthetic dataset (no \(manifestName)), and dataset.synthetic "
                           + "is true; if these are your own videos, set \"synthetic\": false (or leave the key out), "
                           + "else set dataset.root to an empty or new folder", file: root.path)
        }
        try AtomicFile.write(manifest, to: manifestURL)
    }
}
