import Foundation
import JAMCore
import JAMDatasets
import JAMTestSupport
import Testing

@Suite struct FolderDatasetTests {
    /// `<dir>/<class>/<file>` for every path, as empty files.
    private func makeTree(_ dir: URL, _ paths: [String]) throws {
        for p in paths {
            let url = dir.appendingPathComponent(p)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data().write(to: url)
        }
    }

    @Test func everyThirdVideoIsTestedInTurn() throws {
        try withTemporaryDirectory { dir in
            try makeTree(dir, [
                "walk/d.mp4", "walk/a.avi", "walk/c.MKV", "walk/b.webm", "walk/notes.txt", "walk/.hidden.avi",
                "jump/x.mov", "jump/y.avi", "jump/z.avi",
                "empty/readme.md", ".git/o.avi", "splits/README",
            ])
            let (classes, videos) = try FolderDataset.scan(root: dir)
            #expect(classes == ["jump", "walk"])
            #expect(pairs(videos) == ["jump/x.mov=0", "jump/y.avi=0", "jump/z.avi=0",
                                      "walk/a.avi=1", "walk/b.webm=1", "walk/c.MKV=1", "walk/d.mp4=1"])
            // Hand-worked: index within class i goes to test in split i % 3 + 1.
            let expectedTest = [
                1: ["jump/x.mov=0", "walk/a.avi=1", "walk/d.mp4=1"],
                2: ["jump/y.avi=0", "walk/b.webm=1"],
                3: ["jump/z.avi=0", "walk/c.MKV=1"],
            ]
            var tested: [String] = []
            for split in 1...3 {
                let r = try DatasetReader.read(.folders, root: dir, split: split)
                #expect(pairs(r.split.test) == expectedTest[split]!)
                #expect(Set(pairs(r.split.train)) == Set(pairs(videos)).subtracting(expectedTest[split]!))
                #expect(r.problems.isEmpty)
                tested += pairs(r.split.test)
            }
            #expect(tested.sorted() == pairs(videos).sorted())  // each video tested exactly once
        }
    }

    @Test func splitFilesInUCFSyntaxTakePrecedence() throws {
        try withTemporaryDirectory { dir in
            try makeTree(dir, ["b/1.avi", "b/2.avi", "a/3.avi"])
            let splits = dir.appendingPathComponent("splits")
            try FileManager.default.createDirectory(at: splits, withIntermediateDirectories: true)
            try "b/1.avi 2\na/3.avi\nb/9.avi 2\n".write(
                to: splits.appendingPathComponent("trainlist1.txt"), atomically: true, encoding: .utf8)
            try "b/2.avi\n".write(to: splits.appendingPathComponent("testlist1.txt"), atomically: true, encoding: .utf8)
            let r = try DatasetReader.read(.folders, root: dir, split: 1)
            #expect(r.split.classNames == ["a", "b"])
            #expect(pairs(r.split.train) == ["b/1.avi=1", "a/3.avi=0"])
            #expect(pairs(r.split.test) == ["b/2.avi=1"])
            #expect(r.problems.count == 1 && r.problems[0].path == "b/9.avi" && r.problems[0].line == 3)
            // Split files exist, but not for split 2: that is an error, not a silent fallback.
            #expect(throws: JAMError.self) { try DatasetReader.read(.folders, root: dir, split: 2) }
        }
    }

    @Test func emptyOrMissingRootThrows() throws {
        try withTemporaryDirectory { dir in
            #expect(throws: JAMError.self) { try DatasetReader.read(.folders, root: dir, split: 1) }
            #expect(throws: JAMError.self) {
                try DatasetReader.read(.folders, root: dir.appendingPathComponent("nope"), split: 1)
            }
        }
    }
}
