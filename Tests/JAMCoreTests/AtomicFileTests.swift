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
        #expect(a.lastPathComponent.hasPrefix("video.h5.tmp-\(AtomicFile.hostName)-\(getpid())-"))
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

    @Test func temporaryNamesParseBackToHostAndPid() throws {
        let name = AtomicFile.temporaryURL(for: URL(fileURLWithPath: "/x/Class-A/v-1.h5")).lastPathComponent
        let writer = try #require(AtomicFile.writer(ofTemporary: name))
        #expect(writer.host == AtomicFile.hostName && writer.pid == getpid())
        #expect(!AtomicFile.hostName.isEmpty && !AtomicFile.hostName.contains("-") && !AtomicFile.hostName.contains("."))
        // The older name without a host, a dashed file name, and names that are no writer's.
        let old = try #require(AtomicFile.writer(ofTemporary: "a-b.h5.tmp-123-9f"))
        #expect(old.host == nil && old.pid == 123)
        let other = try #require(AtomicFile.writer(ofTemporary: "a.h5.tmp-node7-123-9f"))
        #expect(other.host == "node7" && other.pid == 123)
        #expect(AtomicFile.writer(ofTemporary: "a.h5.tmp-x-y-z-w") == nil)
        #expect(AtomicFile.writer(ofTemporary: "a.h5") == nil)
        // Any host name becomes letters, digits and `_`: nothing that could split the name wrongly.
        #expect(AtomicFile.sanitizedHost("gpu-node.07é") == "gpu_node_07_")
        #expect(name.hasPrefix("v-1.h5.tmp-"))
    }

    /// On a shared folder: this host's temporaries go when their writer is dead; another host's
    /// only when untouched for more than 24 hours (its pid means nothing here).
    @Test func theSweepRemovesOnlyThisHostsDeadWritersAndOtherHostsDayOldFiles() throws {
        try withTemporaryDirectory { dir in
            let host = AtomicFile.hostName, other = host == "hostB" ? "hostA" : "hostB"
            let dead: Int32 = 2147483000  // above any default pid_max: a writer that died
            let names = [
                "mineDead": "a.h5.tmp-\(host)-\(dead)-1", "mineLive": "b.h5.tmp-\(host)-\(getppid())-2",
                "mineSelf": "c.h5.tmp-\(host)-\(getpid())-3", "oldFormatDead": "d.h5.tmp-\(dead)-4",
                "otherFresh": "e.h5.tmp-\(other)-\(dead)-5", "otherOld": "f.h5.tmp-\(other)-\(getpid())-6",
                "otherAlmostADay": "g.h5.tmp-\(other)-\(dead)-7", "unparsedOld": "h.h5.tmp-what-ever-x-y",
                "unparsedFresh": "i.h5.tmp-zz", "result": "j.h5",
            ]
            let now = Date()
            for (key, name) in names {
                let url = dir.appendingPathComponent(name)
                try Data([1]).write(to: url)
                let age: TimeInterval = key.hasSuffix("Old") ? 24 * 3600 + 60 : key == "otherAlmostADay" ? 24 * 3600 - 60 : 0
                try FileManager.default.setAttributes([.modificationDate: now.addingTimeInterval(-age)], ofItemAtPath: url.path)
            }
            let removed = Set(AtomicFile.removeStaleTemporaries(in: dir, now: now).map(\.lastPathComponent))
            #expect(removed == Set(["mineDead", "oldFormatDead", "otherOld", "unparsedOld"].map { names[$0]! }))
            let left = Set(try FileManager.default.contentsOfDirectory(atPath: dir.path))
            #expect(left == Set(["mineLive", "mineSelf", "otherFresh", "otherAlmostADay", "unparsedFresh", "result"].map { names[$0]! }))
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
