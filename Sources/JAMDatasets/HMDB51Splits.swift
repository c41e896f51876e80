// Tests: Tests/JAMDatasetsTests/DatasetReaderTests.swift (HMDB51 split files, a missing per-class file named, wrong layout)
import Foundation
import JAMCore

/// HMDB51's split files, read.
///
/// Layout: videos at `<root>/<class>/<video>.avi`; for every class and split N (1...3) a file
/// `<root>/testTrainMulti_7030_splits/<class>_test_splitN.txt` with lines `<video>.avi <tag>`,
/// tag 1 = train, 2 = test, 0 = not used in this split. HMDB51 has no class-index file: classes
/// are the class names of all split files, sorted (by UTF-8 bytes, as Python's `sorted`), so a
/// label means the same class in every split.
public enum HMDB51Splits {
    /// The folder HMDB51 ships its split files in.
    public static let listFolderName = "testTrainMulti_7030_splits"

    /// `(class, split)` from a split file name such as `brush_hair_test_split2.txt`.
    static func parseName(_ name: String) -> (className: String, split: Int)? {
        let marker = "_test_split"
        guard name.hasSuffix(".txt"), let range = name.range(of: marker, options: .backwards) else { return nil }
        let digits = name[range.upperBound..<name.index(name.endIndex, offsetBy: -4)]
        guard let split = Int(digits), range.lowerBound > name.startIndex else { return nil }
        return (String(name[..<range.lowerBound]), split)
    }

    /// Sorted class names found in the split folder. Throws a `JAMError` naming the folder
    /// when it is missing or holds no split files.
    public static func classNames(root: URL) throws -> [String] {
        let dir = root.appendingPathComponent(listFolderName, isDirectory: true)
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir.path) else {
            throw JAMError("split folder not found; is dataset.format right?", file: dir.path)
        }
        let classes = Set(names.compactMap { parseName($0)?.className })
        guard !classes.isEmpty else { throw JAMError("no <class>_test_split<N>.txt files", file: dir.path) }
        return SplitFiles.byteSorted(classes)
    }

    /// Reads split `split` (1...3). See `DatasetReader.read` for `checkFiles` and what throws; a
    /// class whose split file for `split` is missing throws, naming that file.
    public static func read(root: URL, split: Int, checkFiles: Bool = true) throws -> SplitReadResult {
        let classNames = try classNames(root: root)
        let dir = root.appendingPathComponent(listFolderName, isDirectory: true)
        var result = SplitReadResult(split: DatasetSplit(classNames: classNames, train: [], test: []), problems: [])
        var seen: [String: Int] = [:]
        for (label, className) in classNames.enumerated() {
            let url = dir.appendingPathComponent("\(className)_test_split\(split).txt")
            for line in try SplitFiles.lines(of: url) {
                let (video, tag) = SplitFiles.pathAndNumber(line.text)
                func problem(_ reason: String) {
                    result.problems.append(DatasetProblem(file: url.path, line: line.number, path: video, reason: reason))
                }
                guard let tag, (0...2).contains(tag) else {
                    problem("expected \"<video> <tag>\" with tag 0 (unused), 1 (train) or 2 (test)")
                    continue
                }
                if tag == 0 { continue }
                let relativePath: String
                switch SplitFiles.normalize(video) {
                case .failure(let e): problem(e.reason); continue
                case .success(let p): relativePath = "\(className)/\(p)"
                }
                if let first = seen[relativePath] {
                    problem("listed more than once (first at line \(first))")
                    continue
                }
                if checkFiles, let reason = SplitFiles.fileProblem(root: root, relativePath: relativePath) {
                    problem(reason)
                    continue
                }
                seen[relativePath] = line.number
                let entry = VideoEntry(relativePath: relativePath, label: label, className: className)
                if tag == 1 { result.split.train.append(entry) } else { result.split.test.append(entry) }
            }
        }
        return result
    }
}
