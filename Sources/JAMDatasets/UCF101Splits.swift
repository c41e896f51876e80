// Tests: Tests/JAMDatasetsTests/DatasetReaderTests.swift (classInd and train/test lists read, errors with lines), Tests/JAMDatasetsTests/SplitWriterTests.swift (written lists read back)
import Foundation
import JAMCore

/// UCF101's split files, read and written.
///
/// Layout: videos at `<root>/<Class>/<video>`; `classInd.txt`, `trainlist0N.txt` and
/// `testlist0N.txt` (N = 1...3) in `<root>/ucfTrainTestlist/` (as the dataset ships them) or
/// directly in `<root>`.
/// - `classInd.txt`: `1 ApplyEyeMakeup`, 1-based, one class per line.
/// - `trainlist0N.txt`: `ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1` (path, 1-based label).
/// - `testlist0N.txt`: the path alone, or path and label (some copies add it); both are accepted.
///
/// Labels come from the class FOLDER, not the file name: folder `HandstandPushups/` holds
/// `v_HandStandPushups_*.avi`. A listed label that disagrees with the folder is a problem.
public enum UCF101Splits {
    /// The folder name UCF101 ships its split files in.
    public static let listFolderName = "ucfTrainTestlist"

    /// The folder holding the split files: `<root>/ucfTrainTestlist` when it has a
    /// `classInd.txt`, else `<root>` when that has one. Throws a `JAMError` when neither does.
    public static func listDirectory(root: URL) throws -> URL {
        let nested = root.appendingPathComponent(listFolderName, isDirectory: true)
        for dir in [nested, root] where FileManager.default.fileExists(atPath: dir.appendingPathComponent("classInd.txt").path) {
            return dir
        }
        throw JAMError("no classInd.txt in \(nested.path) or in the dataset root itself; is dataset.format right?",
                       file: root.path)
    }

    /// Class names in `classInd.txt` order (index = 0-based label). Throws a `JAMError` naming the
    /// file and line when it is missing or malformed (the indices must be 1...n, each once).
    public static func readClassIndex(_ url: URL) throws -> [String] {
        var byIndex: [Int: String] = [:]
        var names: Set<String> = []
        for line in try SplitFiles.lines(of: url, what: "class index") {
            let fields = line.text.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count == 2, let index = Int(fields[0]), index >= 1 else {
                throw JAMError("expected \"<index> <ClassName>\", found \"\(line.text)\"",
                               file: url.path, location: "line \(line.number)")
            }
            let name = String(fields[1])
            guard byIndex[index] == nil, !names.contains(name) else {
                throw JAMError("class index \(index) or class \(name) appears twice", file: url.path,
                               location: "line \(line.number)")
            }
            byIndex[index] = name
            names.insert(name)
        }
        guard !byIndex.isEmpty else { throw JAMError("no classes listed", file: url.path) }
        guard let missing = (1...byIndex.count).first(where: { byIndex[$0] == nil }) else {
            return (1...byIndex.count).map { byIndex[$0]! }
        }
        throw JAMError("class indices must run 1...\(byIndex.count) without gaps; \(missing) is missing",
                       file: url.path)
    }

    /// Reads split `split` (1...3). See `DatasetReader.read` for `checkFiles` and what throws.
    public static func read(root: URL, split: Int, checkFiles: Bool = true) throws -> SplitReadResult {
        let dir = try listDirectory(root: root)
        let classNames = try readClassIndex(dir.appendingPathComponent("classInd.txt"))
        var parser = UCFListParser(root: root, classNames: classNames, checkFiles: checkFiles)
        let n = SplitFiles.twoDigits(split)
        let train = try parser.entries(of: dir.appendingPathComponent("trainlist\(n).txt"))
        let test = try parser.entries(of: dir.appendingPathComponent("testlist\(n).txt"))
        return SplitReadResult(
            split: DatasetSplit(classNames: classNames, train: train, test: test), problems: parser.problems)
    }

    /// Writes `classInd.txt` and, for each `splits[i]`, `trainlist0<i+1>.txt` (path and 1-based
    /// label) and `testlist0<i+1>.txt` (path only, as UCF101 ships them) into `directory`, each
    /// atomically. All splits must share `classNames`.
    ///
    /// `jam-synth` writes its three splits with this after `DatasetSplit.rotating`.
    public static func write(classNames: [String], splits: [DatasetSplit], to directory: URL) throws {
        precondition(splits.allSatisfy { $0.classNames == classNames }, "splits disagree on the class list")
        precondition((1...99).contains(splits.count))
        let classInd = classNames.enumerated().map { "\($0.offset + 1) \($0.element)\n" }.joined()
        try AtomicFile.write(classInd, to: directory.appendingPathComponent("classInd.txt"))
        for (i, split) in splits.enumerated() {
            let n = SplitFiles.twoDigits(i + 1)
            let train = split.train.map { "\($0.relativePath) \($0.label + 1)\n" }.joined()
            let test = split.test.map { "\($0.relativePath)\n" }.joined()
            try AtomicFile.write(train, to: directory.appendingPathComponent("trainlist\(n).txt"))
            try AtomicFile.write(test, to: directory.appendingPathComponent("testlist\(n).txt"))
        }
    }
}
