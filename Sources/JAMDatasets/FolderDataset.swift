import Foundation
import JAMCore

/// A folder-per-class dataset: videos at `<root>/<class>/<video>`, each a video file (`.avi`,
/// `.mp4`, `.mkv`, `.mov`, `.webm`, any letter case) or a frame folder of numbered images
/// (`<root>/<class>/<video>/img_00001.jpg …`, MMAction2's rawframes; `VideoSource`); other files
/// are ignored. The two kinds may be mixed; a frame folder's entry is its folder path.
///
/// Classes are the non-hidden subfolders that hold at least one video, sorted by UTF-8 bytes
/// (label = position). A folder named `splits` is never a class. Two videos of a class whose
/// artifacts would share a name (`a.avi` and `a.mp4`, or `a.avi` and the frame folder `a`)
/// are refused.
///
/// The train/test split:
/// - if `<root>/splits/` holds `trainlist0N.txt` (or `trainlistN.txt`), split N is read from it
///   and the matching test list in UCF101 syntax (`Class/video.avi [label]`, labels 1-based and
///   optional, checked against the class folder); `<root>/splits/classInd.txt`, if present,
///   fixes the class order instead of sorting;
/// - otherwise the split is `DatasetSplit.rotating` over each class's videos in file-name
///   order: video i of a class is a test video in split `i % 3 + 1`. No seed: the same folder
///   always gives the same split, and the three splits test every video once. (Unlike UCF101's
///   groups this cannot keep clips of one actor on one side; ship split files if that matters.)
public enum FolderDataset {
    /// File extensions taken as videos (compared lowercased).
    public static let videoExtensions: Set<String> = ["avi", "mp4", "mkv", "mov", "webm"]
    /// The optional folder of UCF101-syntax split files under the root.
    public static let splitFolderName = "splits"

    /// Every video under the root, labelled by sorted class folder, classes and videos in
    /// byte order. Throws a `JAMError` when the root cannot be listed or has no class folders.
    public static func scan(root: URL) throws -> (classNames: [String], videos: [VideoEntry]) {
        let fm = FileManager.default
        guard let top = try? fm.contentsOfDirectory(atPath: root.path) else {
            throw JAMError("cannot list the dataset folder", file: root.path)
        }
        var perClass: [(String, [String])] = []
        for name in SplitFiles.byteSorted(top) where !name.hasPrefix(".") && name != splitFolderName {
            var isDirectory: ObjCBool = false
            let dir = root.appendingPathComponent(name)
            guard fm.fileExists(atPath: dir.path, isDirectory: &isDirectory), isDirectory.boolValue,
                  let files = try? fm.contentsOfDirectory(atPath: dir.path) else { continue }
            let videos = files.filter {
                !$0.hasPrefix(".") && (isVideoName($0) || VideoSource.isFrameFolder(dir.appendingPathComponent($0)))
            }
            try refuseSharedArtifactNames(videos, in: dir)
            if !videos.isEmpty { perClass.append((name, SplitFiles.byteSorted(videos))) }
        }
        guard !perClass.isEmpty else {
            throw JAMError("no class folders with videos (\(videoExtensions.sorted().joined(separator: ", "))) "
                           + "or frame folders (<class>/<video>/img_00001.jpg)", file: root.path)
        }
        var entries: [VideoEntry] = []
        for (label, (className, files)) in perClass.enumerated() {
            for file in files {
                entries.append(VideoEntry(relativePath: "\(className)/\(file)", label: label, className: className))
            }
        }
        return (perClass.map(\.0), entries)
    }

    /// Throws when two videos of a class folder would write artifacts of one name.
    private static func refuseSharedArtifactNames(_ videos: [String], in dir: URL) throws {
        var byStem: [String: String] = [:]
        for name in SplitFiles.byteSorted(videos) {
            let stem = VideoSource.artifactStem(name)
            if let other = byStem[stem] {
                throw JAMError("\(other) and \(name) would both be stored as \(stem).h5 (artifacts are named without "
                               + "the extension); rename or remove one", file: dir.path)
            }
            byStem[stem] = name
        }
    }

    /// Whether a file name has one of `videoExtensions`.
    public static func isVideoName(_ name: String) -> Bool {
        let ext = (name as NSString).pathExtension.lowercased()
        return videoExtensions.contains(ext)
    }

    /// Reads split `split` (1...3); see the type's doc for where the split comes from and
    /// `DatasetReader.read` for `checkFiles` and what throws.
    public static func read(root: URL, split: Int, checkFiles: Bool = true) throws -> SplitReadResult {
        let (scannedClasses, videos) = try scan(root: root)
        let splitDir = root.appendingPathComponent(splitFolderName, isDirectory: true)
        guard let trainURL = listURL(splitDir, "trainlist", split) else {
            if hasAnyList(splitDir) {
                throw JAMError("split files exist but none for split \(split) (trainlist\(SplitFiles.twoDigits(split)).txt)",
                               file: splitDir.path)
            }
            return SplitReadResult(
                split: DatasetSplit.rotating(classNames: scannedClasses, videos: videos, split: split), problems: [])
        }
        let testURL = listURL(splitDir, "testlist", split)
            ?? splitDir.appendingPathComponent("testlist\(SplitFiles.twoDigits(split)).txt")  // throws as missing
        let classInd = splitDir.appendingPathComponent("classInd.txt")
        let classNames = FileManager.default.fileExists(atPath: classInd.path)
            ? try UCF101Splits.readClassIndex(classInd) : scannedClasses
        var parser = UCFListParser(root: root, classNames: classNames, checkFiles: checkFiles)
        let train = try parser.entries(of: trainURL)
        let test = try parser.entries(of: testURL)
        return SplitReadResult(
            split: DatasetSplit(classNames: classNames, train: train, test: test), problems: parser.problems)
    }

    /// `<dir>/<stem>0N.txt` or `<dir>/<stem>N.txt`, whichever exists.
    private static func listURL(_ dir: URL, _ stem: String, _ split: Int) -> URL? {
        [SplitFiles.twoDigits(split), "\(split)"]
            .map { dir.appendingPathComponent("\(stem)\($0).txt") }
            .first { FileManager.default.fileExists(atPath: $0.path) }
    }

    private static func hasAnyList(_ dir: URL) -> Bool {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return names.contains { $0.hasPrefix("trainlist") || $0.hasPrefix("testlist") }
    }

    /// The source a clip was cut from, as its name says: the file name, lowercased, without its
    /// extension and without a trailing segment marker (`_seg2`, `-part3`, `_clip01`, `_c02`,
    /// `.s1`): `walk_017_seg2.avi` → `walk_017`, `v_Walk_g03_c02.avi` → `v_walk_g03`. A bare
    /// number (`walk_017`) is not a segment marker: it usually numbers sources.
    public static func sourceStem(_ fileName: String) -> String {
        let name = ((fileName as NSString).deletingPathExtension).lowercased()
        guard let marker = name.range(of: #"[_\-. ](seg|segment|part|clip|c|s)\d+$"#, options: .regularExpression) else {
            return name
        }
        return String(name[..<marker.lowerBound])
    }

    /// Test videos that share a source (`sourceStem`) with a training video of their class, each
    /// with one such training video: segments of one source on both sides of a split inflate
    /// accuracy, since the model has seen the test video's scene and actor.
    public static func sharedSources(_ split: DatasetSplit) -> [(test: VideoEntry, train: VideoEntry)] {
        func key(_ e: VideoEntry) -> String { "\(e.label)/" + sourceStem((e.relativePath as NSString).lastPathComponent) }
        var training: [String: VideoEntry] = [:]
        for entry in split.train where training[key(entry)] == nil { training[key(entry)] = entry }
        return split.test.compactMap { test in training[key(test)].map { (test, $0) } }
    }
}
