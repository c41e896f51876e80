import Foundation
import JAMCore
import JAMTestSupport
import Testing

@Suite struct AtomicFileTests {
    @Test func writesReplacesAndLeavesNoTemporaries() throws {
        try withTemporaryDirectory { dir in
            let url = dir.appendingPathComponent("sub/record.json")
            try AtomicFile.write("first", to: url)
            #expect(try String(contentsOf: url, encoding: .utf8) == "first")
            let value: JSONValue = ["b": 1, "a": [true]]
            try AtomicFile.write(value, to: url)
            #expect(try JSONValue.parse(Data(contentsOf: url), file: url.path) == value)
            let names = try FileManager.default.contentsOfDirectory(atPath: url.deletingLastPathComponent().path)
            #expect(names == ["record.json"])
        }
    }

    @Test func temporaryNamesAreSiblingsWithPidAndRandomPart() {
        let url = URL(fileURLWithPath: "/x/y/video.h5")
        let a = AtomicFile.temporaryURL(for: url), b = AtomicFile.temporaryURL(for: url)
        #expect(a.deletingLastPathComponent() == url.deletingLastPathComponent())
        #expect(a.lastPathComponent.hasPrefix("video.h5.tmp-\(getpid())-"))
        #expect(a != b)
        #expect(AtomicFile.isTemporaryName(a.lastPathComponent))
        #expect(!AtomicFile.isTemporaryName("video.h5"))
    }

    @Test func staleTemporariesOfDeadWritersAreRemoved() throws {
        try withTemporaryDirectory { dir in
            // A pid far above any default pid_max stands for a writer that died.
            let stale = dir.appendingPathComponent("a.h5.tmp-2147483000-abc")
            let mine = AtomicFile.temporaryURL(for: dir.appendingPathComponent("b.h5"))
            let keep = dir.appendingPathComponent("c.h5")
            for url in [stale, mine, keep] { try Data([1]).write(to: url) }
            let removed = AtomicFile.removeStaleTemporaries(in: dir)
            #expect(removed.map(\.lastPathComponent) == [stale.lastPathComponent])
            let left = Set(try FileManager.default.contentsOfDirectory(atPath: dir.path))
            #expect(left == [mine.lastPathComponent, keep.lastPathComponent])
        }
    }

    @Test func unwritableFolderNamesTheTarget() {
        let url = URL(fileURLWithPath: "/proc/jam-cannot-write/x.json")
        #expect {
            try AtomicFile.write("x", to: url)
        } throws: { error in
            "\(error)".contains("/proc/jam-cannot-write")
        }
    }
}
