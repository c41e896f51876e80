import Foundation
import JAMCore
import JAMTestSupport
import Testing

/// Issue 13, points 5 and 7: a zombie writer's temporary is swept; folders that cannot be made
/// say why in the system's words, never in Foundation's.
@Suite struct SystemErrorTests {
    /// The state letter of `pid` in /proc (R, S, Z, …), or nil.
    func state(of pid: pid_t) -> Character? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        return stat[stat.index(after: close)...].drop { $0 == " " }.first
    }

    @Test func aZombieWritersTemporaryIsRemoved() throws {
        try withTemporaryDirectory { dir in
            // A child that exits at once and is not reaped yet: a zombie, which kill(pid, 0) still finds.
            var pid: pid_t = 0
            let argv: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/true"), nil]
            defer { free(argv[0]) }
            #expect(posix_spawn(&pid, "/bin/true", nil, nil, argv, environ) == 0)
            defer { var status: Int32 = 0; waitpid(pid, &status, 0) }
            #expect(waitUntil(timeout: 10) { state(of: pid) == "Z" }, "the child never became a zombie")
            #expect(kill(pid, 0) == 0, "kill -0 succeeds on a zombie: the reason this test exists")

            let zombie = dir.appendingPathComponent("x.h5.tmp-\(pid)-9f3a")
            let live = dir.appendingPathComponent("y.h5.tmp-\(getppid())-9f3a")
            for url in [zombie, live] { try Data([1]).write(to: url) }
            let removed = AtomicFile.removeStaleTemporaries(in: dir)
            #expect(removed.map(\.lastPathComponent) == [zombie.lastPathComponent])
            #expect(FileManager.default.fileExists(atPath: live.path), "a live writer's temporary must stay")
            #expect(!SystemError.isRunning(pid: pid))
            #expect(SystemError.isRunning(pid: getpid()))
        }
    }

    @Test func aFolderThatCannotBeMadeSaysWhyWithoutFoundationText() throws {
        try withTemporaryDirectory { dir in
            let blocker = dir.appendingPathComponent("artifacts")
            try Data("a file where a folder should be".utf8).write(to: blocker)
            let folder = blocker.appendingPathComponent("tiny/frames")
            #expect(throws: JAMError.self) { try SystemError.createFolder(folder) }
            do {
                try AtomicFile.write("{}", to: folder.appendingPathComponent("stage-report.json"))
                Issue.record("wrote under a file")
            } catch {
                let text = String(describing: error)
                #expect(text.contains("not a directory"), "\(text)")
                #expect(text.contains(blocker.path), "\(text)")
                #expect(!text.contains("Error Domain") && !text.contains("NSCocoa"), "\(text)")
            }
        }
    }

    @Test func errnoTextsReadAsPartOfASentence() {
        #expect(SystemError.text(ENOSPC) == "no space left on device")
        #expect(SystemError.text(EACCES) == "permission denied")
        #expect(SystemError.text(EROFS) == "read-only file system")
        #expect(SystemError.reason(of: CocoaError(.fileWriteNoPermission)) == "permission denied")
    }
}

/// Waits until `condition` holds or `timeout` seconds pass; returns whether it held.
private func waitUntil(timeout: Double, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if condition() { return true }
        usleep(2_000)
    }
    return condition()
}
