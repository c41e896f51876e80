// Tests: Tests/JAMDatasetsTests/DatasetReaderTests.swift (reading each format's splits and problems), Tests/JAMDatasetsTests/SplitWriterTests.swift (rotating splits, problem descriptions)
import Foundation
import JAMCore

/// One train/test split of a dataset: the class list and the videos on each side.
public struct DatasetSplit: Sendable, Hashable, Codable {
    /// Class names; index = label. For UCF101 the `classInd.txt` order, otherwise sorted.
    public var classNames: [String]
    public var train: [VideoEntry]
    public var test: [VideoEntry]

    public init(classNames: [String], train: [VideoEntry], test: [VideoEntry]) {
        (self.classNames, self.train, self.test) = (classNames, train, test)
    }

    /// Training videos, then test videos.
    public var allVideos: [VideoEntry] { train + test }

    /// A deterministic split of `videos` that rotates which videos are held out: within each
    /// class, in the order given, the i-th video is a test video when `i % splitCount == split - 1`,
    /// and a training video otherwise. Over splits 1...`splitCount` every video is tested exactly
    /// once, and each split keeps about 1/`splitCount` of every class for testing.
    ///
    /// `jam-synth` makes its three splits this way (videos in generation order), and
    /// `FolderDataset` uses it when a folder dataset has no split files (videos in file-name order).
    public static func rotating(
        classNames: [String], videos: [VideoEntry], split: Int, splitCount: Int = 3
    ) -> DatasetSplit {
        precondition((1...splitCount).contains(split), "split \(split) is not in 1...\(splitCount)")
        var seen = [Int](repeating: 0, count: classNames.count)
        var result = DatasetSplit(classNames: classNames, train: [], test: [])
        for video in videos {
            let i = seen[video.label]
            seen[video.label] += 1
            if i % splitCount == split - 1 {
                result.test.append(video)
            } else {
                result.train.append(video)
            }
        }
        return result
    }
}

/// A listed video that could not be used, and why; the stage reports it and goes on.
public struct DatasetProblem: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The split file that lists the video (or the class folder, for folder datasets without
    /// split files).
    public var file: String
    /// 1-based line in `file`, when there is one.
    public var line: Int?
    /// The path as listed.
    public var path: String
    /// What is wrong: `file not found`, `path escapes the dataset root`, ...
    public var reason: String

    public init(file: String, line: Int?, path: String, reason: String) {
        (self.file, self.line, self.path, self.reason) = (file, line, path, reason)
    }

    /// `trainlist01.txt:12: ../x.avi: path escapes the dataset root`, with the full file path.
    public var description: String {
        "\(file)\(line.map { ":\($0)" } ?? ""): \(path): \(reason)"
    }
}

/// What a dataset reader returns: the usable split, and the listed videos it had to leave out.
/// Every problem is one listed line (or file) that is in neither `train` nor `test`.
public struct SplitReadResult: Sendable, Hashable {
    public var split: DatasetSplit
    public var problems: [DatasetProblem]

    public init(split: DatasetSplit, problems: [DatasetProblem]) {
        self.split = split
        self.problems = problems
    }
}

/// Reads any supported layout; the entry point for stages.
///
///     let result = try DatasetReader.read(.ucf101, root: config.datasetRoot, split: 1)
///     for p in result.problems { report(p) }     // then go on with result.split
public enum DatasetReader {
    /// Reads split `split` (1...3) of the dataset at `root` in `format`.
    ///
    /// - Parameter checkFiles: when true (the default), listed videos that do not exist, are not
    ///   regular files, or resolve outside `root` through a symlink become problems.
    /// - Throws: a `JAMError` naming the split file when one is missing, unreadable or malformed
    ///   (`classInd.txt`); problems with single listed videos are returned, not thrown.
    public static func read(
        _ format: DatasetFormat, root: URL, split: Int, checkFiles: Bool = true
    ) throws -> SplitReadResult {
        guard (1...3).contains(split) else {
            throw JAMError("split \(split) does not exist (splits are 1, 2, 3)", file: root.path)
        }
        switch format {
        case .ucf101: return try UCF101Splits.read(root: root, split: split, checkFiles: checkFiles)
        case .hmdb51: return try HMDB51Splits.read(root: root, split: split, checkFiles: checkFiles)
        case .folders: return try FolderDataset.read(root: root, split: split, checkFiles: checkFiles)
        }
    }
}
