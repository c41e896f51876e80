// Tests: Tests/JAMTensorTests/ParallelTests.swift (WorkerPool's helpers seen polling and asleep),
// Tests/JAMTensorTests/OpenBLASIdleThreadsTests.swift (through `jam-bench gemm`)

import Foundation

/// This process's threads as the Linux scheduler sees them, from /proc/self/task: how JAM shows
/// (and tests) whether idle worker threads (OpenBLAS's, `WorkerPool`'s) spin or sleep.
public enum ProcessThreads {
    public struct Thread: Sendable, Equatable {
        /// The thread's name (`comm`, e.g. `jam-worker-1`).
        public var name: String
        /// The scheduler state: R running or runnable, S sleeping, D waiting on I/O, …
        public var state: Character
        /// Whether it is the thread that asked.
        public var isCaller: Bool
    }

    /// Every thread of this process; empty where /proc is not there.
    public static func all() -> [Thread] {
        // /proc/thread-self links to "<pid>/task/<tid>" of the calling thread.
        let caller = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/thread-self"))?
            .split(separator: "/").last.map(String.init)
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        return tasks.compactMap { tid in
            // "tid (comm) S …": the name lies between the first '(' and the last ')', since it
            // may hold spaces and parentheses; the state follows.
            guard let stat = try? String(contentsOfFile: "/proc/self/task/\(tid)/stat", encoding: .utf8),
                  let open = stat.firstIndex(of: "("), let close = stat.lastIndex(of: ")"), open < close,
                  let state = stat[stat.index(after: close)...].first(where: { $0 != " " }) else { return nil }
            return Thread(name: String(stat[stat.index(after: open)..<close]), state: state, isCaller: tid == caller)
        }
    }
}
