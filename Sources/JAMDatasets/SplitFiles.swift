// Tests: Tests/JAMDatasetsTests/DatasetReaderTests.swift (list lines, bad lines with line numbers, missing files, symlinks escaping the root)
import Foundation
import JAMCore

/// Helpers shared by the split-file readers: reading list files, checking listed paths.
enum SplitFiles {
    /// One non-blank line of a list file, trimmed (CR of CRLF files included).
    struct Line {
        var number: Int
        var text: String
    }

    /// The non-blank, non-comment (`#`) lines of a text file. Throws a `JAMError` naming the file
    /// when it is missing or unreadable: without its split file a split cannot be read at all.
    static func lines(of url: URL, what: String = "split file") throws -> [Line] {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            let exists = FileManager.default.fileExists(atPath: url.path)
            throw JAMError(exists ? "cannot read the \(what)" : "\(what) not found", file: url.path)
        }
        var out: [Line] = []
        // Split the bytes, not the String: Swift takes "\r\n" as one Character, which a split on
        // "\n" would not break, and the UCF101 lists have CRLF endings.
        for (i, raw) in data.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated() {
            let text = String(decoding: raw, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            if text.isEmpty || text.hasPrefix("#") { continue }
            out.append(Line(number: i + 1, text: text))
        }
        return out
    }

    /// Splits `path [integer]` at the last run of whitespace when what follows is an integer.
    static func pathAndNumber(_ text: String) -> (path: String, number: Int?) {
        guard let gap = text.lastIndex(where: { $0 == " " || $0 == "\t" }) else { return (text, nil) }
        let tail = text[text.index(after: gap)...]
        guard let n = Int(tail) else { return (text, nil) }
        return (text[..<gap].trimmingCharacters(in: .whitespaces), n)
    }

    /// A listed path made canonical (`./a//b.avi` → `a/b.avi`), or the reason it is refused:
    /// absolute paths and `..` components would reach outside the dataset root.
    static func normalize(_ raw: String) -> Result<String, ReasonError> {
        if raw.hasPrefix("/") || raw.hasPrefix("~") {
            return .failure(ReasonError("absolute path: listed paths must be relative to the dataset root"))
        }
        let parts = raw.split(separator: "/").filter { $0 != "." }
        if parts.contains("..") { return .failure(ReasonError("path escapes the dataset root ('..')")) }
        if parts.isEmpty { return .failure(ReasonError("empty path")) }
        return .success(parts.joined(separator: "/"))
    }

    struct ReasonError: Error {
        var reason: String
        init(_ reason: String) { self.reason = reason }
    }

    /// Why the video at `relativePath` under `root` cannot be used, or nil when it is a regular
    /// file or a frame folder (`VideoSource.url`) inside the root (after resolving symlinks).
    static func fileProblem(root: URL, relativePath: String) -> String? {
        let url = VideoSource.url(root: root, relativePath: relativePath)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            let folder = url.deletingPathExtension()
            return folder == url ? "file not found: \(url.path)"
                : "file not found: \(url.path) (nor a frame folder \(folder.path)/ of numbered images)"
        }
        if isDirectory.boolValue && !VideoSource.isFrameFolder(url) {
            return "is a folder without images (.jpg, .jpeg, .png), neither a video file nor a frame folder: \(url.path)"
        }
        let realRoot = root.resolvingSymlinksInPath().standardizedFileURL.path
        let realFile = url.resolvingSymlinksInPath().standardizedFileURL.path
        if !realFile.hasPrefix(realRoot.hasSuffix("/") ? realRoot : realRoot + "/") {
            return "path escapes the dataset root through a symlink (to \(realFile))"
        }
        return nil
    }

    /// Sorted by UTF-8 bytes, as Python's `sorted` orders ASCII names: independent of locale.
    static func byteSorted(_ names: some Sequence<String>) -> [String] {
        names.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    /// `01`, `02`, `03`.
    static func twoDigits(_ n: Int) -> String {
        n < 10 ? "0\(n)" : "\(n)"
    }
}

/// Turns the lines of UCF101-syntax train/test lists into entries, labels from class folders.
/// Used for UCF101 itself and for folder datasets that ship split files.
struct UCFListParser {
    let root: URL
    let classNames: [String]
    let checkFiles: Bool
    private let labelOf: [String: Int]
    private var firstSeen: [String: (file: String, line: Int)] = [:]
    var problems: [DatasetProblem] = []

    init(root: URL, classNames: [String], checkFiles: Bool) {
        self.root = root
        self.classNames = classNames
        self.checkFiles = checkFiles
        var map: [String: Int] = [:]
        for (i, name) in classNames.enumerated() { map[name] = i }
        labelOf = map
    }

    /// Entries of one list file. A trailing number is a 1-based label; it is optional (test
    /// lists usually have none) and, when present, must agree with the class folder.
    mutating func entries(of url: URL) throws -> [VideoEntry] {
        var out: [VideoEntry] = []
        for line in try SplitFiles.lines(of: url) {
            let (listed, number) = SplitFiles.pathAndNumber(line.text)
            func problem(_ reason: String) {
                problems.append(DatasetProblem(file: url.path, line: line.number, path: listed, reason: reason))
            }
            let path: String
            switch SplitFiles.normalize(listed) {
            case .failure(let e): problem(e.reason); continue
            case .success(let p): path = p
            }
            let parts = path.split(separator: "/")
            guard parts.count >= 2 else { problem("expected <Class>/<video>: the class folder is missing"); continue }
            // The label comes from the folder, never the file name (`HandstandPushups/v_HandStandPushups_...`).
            let className = String(parts[0])
            guard let label = labelOf[className] else {
                problem("class folder \"\(className)\" is not one of the dataset's classes")
                continue
            }
            if let number, number != label + 1 {
                problem("listed label \(number) disagrees with class folder \"\(className)\" (label \(label + 1))")
                continue
            }
            if let first = firstSeen[path] {
                problem("listed more than once (first at \(URL(fileURLWithPath: first.file).lastPathComponent):\(first.line))")
                continue
            }
            if checkFiles, let reason = SplitFiles.fileProblem(root: root, relativePath: path) {
                problem(reason)
                continue
            }
            firstSeen[path] = (url.path, line.number)
            out.append(VideoEntry(relativePath: path, label: label, className: className))
        }
        return out
    }
}
