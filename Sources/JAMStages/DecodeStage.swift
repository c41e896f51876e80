import Foundation
import JAMArtifacts
import JAMConfig
import JAMCore
import JAMDatasets
import JAMVideo

/// Stage 1, `jam-decode`: one `frames` artifact per video of the configured splits
/// (docs/ARTIFACTS.md), in `<artifacts_root>/<dataset>/frames/<decode digest>/`.
public enum DecodeStage {

    /// The videos of the configured splits (each once), with the problems the split files
    /// reported as failures (missing file, path escaping the root).
    public static func videos(config: PipelineConfig) throws -> (videos: [VideoEntry], classNames: [String], problems: [UnitFailure]) {
        var seen = Set<String>()
        var videos: [VideoEntry] = []
        var classNames: [String] = []
        var problems: [UnitFailure] = []
        var seenProblems = Set<DatasetProblem>()
        for split in config.dataset.splits {
            let result: SplitReadResult
            do {
                result = try DatasetReader.read(config.dataset.format, root: config.datasetRoot, split: split)
            } catch let error as JAMError where config.dataset.synthetic {
                throw JAMError("\(error.description) (the dataset is synthetic: run jam-synth first)")
            }
            classNames = result.split.classNames
            for entry in result.split.allVideos where seen.insert(entry.relativePath).inserted {
                videos.append(entry)
            }
            for problem in result.problems where seenProblems.insert(problem).inserted {
                // The split file is the failure's file: its name once, then the line and the listed path.
                let line = problem.line.map { "line \($0): " } ?? ""
                problems.append(UnitFailure(unit: problem.path, file: problem.file, reason: "\(line)\(problem.path): \(problem.reason)"))
            }
        }
        return (videos, classNames, problems)
    }

    public static func run(config: PipelineConfig, policy: RunPolicy, progress: ProgressReporter? = nil) throws -> StageReport {
        let (videos, _, problems) = try videos(config: config)
        if config.dataset.format == .folders { warnAboutSharedSources(config: config) }
        for warning in emptyClassWarnings(config: config) { writeStandardError("jam-decode: WARNING: \(warning)\n") }
        let folder = config.stageDirectory(ArtifactLayout.framesFolderName, digest: config.decodeDigest)
        try SystemError.createFolder(folder, purpose: "jam-decode's output folder")
        try config.decodeStage.record(in: folder)
        removeStaleTemporaries(under: folder)

        let root = config.datasetRoot
        let decode = config.decode
        let options = DecodeOptions(
            size: decode.size, resize: decode.resize,
            every: decode.every, maxFrames: decode.maxFrames, threads: 1)
        let header: @Sendable (String) -> ArtifactHeader = { source in
            ArtifactHeader(kind: .frames, producer: "jam-decode \(jamVersion)", configDigest: config.decodeDigest,
                           config: config.decodeStage.canonicalJSON, source: source)
        }
        let entries = Dictionary(uniqueKeysWithValues: videos.map { ($0.relativePath, $0) })
        let units = videos.map {
            // A video file, or a frame folder of numbered images (for UCF101/HMDB51 lists, the
            // folder named like the listed .avi when only the folder exists).
            WorkUnit(name: $0.relativePath, input: VideoSource.url(root: root, relativePath: $0.relativePath),
                     output: PipelineConfig.artifactURL(forVideo: $0.relativePath, in: folder))
        }
        let runner = StageRunner(stage: "jam-decode", policy: policy, progress: progress)
        // Videos decode in parallel, one FFmpeg thread each: whole-video parallelism scales
        // better than codec threads on short clips and keeps every artifact independent of
        // the thread count.
        let report = runner.run(units: units, knownFailures: problems, configDigest: config.decodeDigest,
                                verify: FinishedOutput.frames(size: decode.size)) { unit in
            let entry = entries[unit.name]!
            let video = try decodeVideo(at: unit.input, options: options)
            try FramesArtifact.write(
                frames: video.frames, frameIndex: video.frameIndices,
                video: entry,
                decoding: FramesArtifact.Decoding(
                    size: video.size, resize: decode.resize.rawValue, every: decode.every, maxFrames: decode.maxFrames,
                    sourceFPS: video.fps, sourceWidth: video.sourceWidth, sourceHeight: video.sourceHeight,
                    sourceFrameCount: video.sourceFrameCount),
                to: unit.output, header: header(unit.input.path))
        }
        try report.write(to: folder)
        return report
    }
}

/// Clears temporaries of killed runs in a stage folder and its class subfolders.
func removeStaleTemporaries(under folder: URL) {
    AtomicFile.removeStaleTemporaries(in: folder)
    let children = (try? FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: [.isDirectoryKey])) ?? []
    for child in children where (try? child.resourceValues(forKeys: [.isDirectoryKey]).isDirectory) == true {
        AtomicFile.removeStaleTemporaries(in: child)
    }
}

extension DecodeStage {
    /// Per split, the classes of the class list without videos (`DatasetSplit.emptyClassWarning`).
    static func emptyClassWarnings(config: PipelineConfig) -> [String] {
        let classFile = config.dataset.format == .ucf101 ? "classInd.txt" : "the class list"
        return config.dataset.splits.compactMap { split in
            guard let result = try? DatasetReader.read(config.dataset.format, root: config.datasetRoot, split: split,
                                                       checkFiles: false) else { return nil }
            return result.split.emptyClassWarning(split: split, classFile: classFile)
        }
    }

    /// Warns, per split, when test videos look like segments of a training video's source
    /// (`FolderDataset.sharedSources`): the folder split rotates videos, not sources.
    static func warnAboutSharedSources(config: PipelineConfig) {
        for split in config.dataset.splits {
            guard let result = try? DatasetReader.read(.folders, root: config.datasetRoot, split: split, checkFiles: false)
            else { continue }
            let shared = FolderDataset.sharedSources(result.split)
            guard let example = shared.first else { continue }
            writeStandardError("""
                jam-decode: WARNING: split \(split): \(shared.count) of \(result.split.test.count) test videos share a source \
                name with a training video (e.g. \(example.test.relativePath) and \(example.train.relativePath)); segments \
                of one source on both sides inflate accuracy. Put split files in \(config.datasetRoot.path)/splits/ \
                that keep each source on one side (see README, "Real data").

                """)
        }
    }
}
