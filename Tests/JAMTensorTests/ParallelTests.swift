import Dispatch
import Foundation
import JAMTensor
import Synchronization
import Testing

@Suite struct ParallelTests {
    /// Every chunk runs exactly once, on the worker that the fixed partition assigns.
    @Test(arguments: [(10, 1), (10, 2), (10, 3), (3, 8), (1, 2), (0, 2)])
    func eachChunkOnceOnItsWorker(chunkCount: Int, threads: Int) {
        let workerOfChunk = Mutex([Int](repeating: -1, count: chunkCount))
        let runs = Mutex(0)
        parallelFor(chunkCount: chunkCount, threads: threads) { chunk, worker in
            workerOfChunk.withLock { $0[chunk] = worker }
            runs.withLock { $0 += 1 }
        }
        #expect(runs.withLock { $0 } == chunkCount)
        let workers = max(1, min(threads, chunkCount))
        let expected = (0..<chunkCount).map { chunk in
            (0..<workers).first { w in chunk >= w * chunkCount / workers && chunk < (w + 1) * chunkCount / workers }!
        }
        #expect(workerOfChunk.withLock { $0 } == expected)
    }

    @Test func disjointWritesThroughAPointer() {
        var values = [Int](repeating: 0, count: 1000)
        values.withUnsafeMutableBufferPointer { buffer in
            let base = buffer.baseAddress!
            parallelFor(chunkCount: 10, threads: 2) { chunk, _ in
                for i in (chunk * 100)..<((chunk + 1) * 100) { base[i] = i * i }
            }
        }
        #expect(values == (0..<1000).map { $0 * $0 })
    }
}

/// `WorkerPool`, the helper threads behind `parallelFor`: every part of every job runs once,
/// helpers that poll and helpers that sleep both take the next job, and a pool that is busy
/// says so instead of running a second caller's job.
@Suite struct WorkerPoolTests {
    /// Jobs back to back with 2, 4 and 3 parts (the pool grows to 3 helpers; the third sits out
    /// the 3-part jobs): each part once per job, on its own thread for the helpers' parts.
    @Test(arguments: [UInt64(0), 200_000])
    func everyPartOfEveryJobRunsOnce(spinNanoseconds: UInt64) {
        let pool = WorkerPool(spinNanoseconds: spinNanoseconds, name: "test-each")
        let jobs = 600
        let runs = Mutex([[Int]](repeating: [0, 0, 0, 0], count: jobs))
        let callers = Mutex(Set<Int>())
        for job in 0..<jobs {
            let parts = [2, 4, 3][job % 3]
            let ran = pool.run(parts: parts) { part in
                runs.withLock { $0[job][part] += 1 }
                if part == 0 { callers.withLock { _ = $0.insert(Int(bitPattern: pthread_self())) } }
            }
            #expect(ran)
            if job % 100 == 99 { usleep(2_000) }  // long enough for polling helpers with no spin to sleep
        }
        let counts = runs.withLock { $0 }
        for job in 0..<jobs {
            let parts = [2, 4, 3][job % 3]
            #expect(counts[job] == (0..<4).map { $0 < parts ? 1 : 0 }, "job \(job): \(counts[job])")
        }
        // Part 0 is always the calling thread's.
        #expect(callers.withLock { $0 } == [Int(bitPattern: pthread_self())])
    }

    /// With a long spin, a helper still polls (scheduler state R) 10 ms after a job; after
    /// `releaseCores()` it sleeps (S, within a second on a loaded machine), and the next job
    /// wakes it.
    @Test func helpersPollUntilReleasedThenSleep() throws {
        try #require(ProcessInfo.processInfo.activeProcessorCount >= 2, "a polling helper needs a core of its own")
        let pool = WorkerPool(spinNanoseconds: 2_000_000_000, name: "test-poll")
        let parts = Mutex(0)
        #expect(pool.run(parts: 2) { _ in parts.withLock { $0 += 1 } })
        usleep(10_000)
        #expect(threadStates(named: "test-poll-1") == ["R"])
        pool.releaseCores()
        #expect(threadStates(named: "test-poll-1", within: 1) == ["S"])
        #expect(pool.run(parts: 2) { _ in parts.withLock { $0 += 1 } })
        #expect(parts.withLock { $0 } == 4)
        pool.releaseCores()
    }

    /// With no spin a helper sleeps right after its job (within a second on a loaded machine).
    @Test func helpersWithoutSpinSleep() {
        let pool = WorkerPool(spinNanoseconds: 0, name: "test-nospin")
        #expect(pool.run(parts: 2) { _ in })
        #expect(threadStates(named: "test-nospin-1", within: 1) == ["S"])
    }

    /// A job given to a pool that is running one (here from inside a part) is refused, and
    /// `parallelFor` inside `parallelFor` still runs every chunk (the inner one on libdispatch).
    @Test func aBusyPoolRefusesAndNestedLoopsStillRun() {
        let pool = WorkerPool(spinNanoseconds: 0, name: "test-busy")
        let refused = Mutex(0)
        #expect(pool.run(parts: 2) { _ in
            if !pool.run(parts: 2, { _ in }) { refused.withLock { $0 += 1 } }
        })
        #expect(refused.withLock { $0 } == 2)

        let sums = Mutex([Int](repeating: 0, count: 6))
        parallelFor(chunkCount: 6, threads: 2) { outer, _ in
            parallelFor(chunkCount: 10, threads: 2) { inner, _ in
                sums.withLock { $0[outer] += inner }
            }
        }
        #expect(sums.withLock { $0 } == [Int](repeating: 45, count: 6))
    }

    /// Four threads calling `parallelFor` at once, 200 times each: every chunk's write lands.
    @Test func concurrentCallersAllFinish() {
        let results = Mutex([[Int]](repeating: [], count: 4))
        DispatchQueue.concurrentPerform(iterations: 4) { caller in
            var mine: [Int] = []
            for round in 0..<200 {
                var values = [Int](repeating: 0, count: 64)
                values.withUnsafeMutableBufferPointer { buffer in
                    let base = UncheckedSendable(buffer.baseAddress!)
                    parallelFor(chunkCount: 8, threads: 2) { chunk, _ in
                        for i in (chunk * 8)..<((chunk + 1) * 8) { base.value[i] = i + round }
                    }
                }
                mine.append(values.reduce(0, +))
            }
            results.withLock { $0[caller] = mine }
        }
        let expected = (0..<200).map { round in (0..<64).reduce(0) { $0 + $1 + round } }
        #expect(results.withLock { $0 } == [[Int]](repeating: expected, count: 4))
    }

    @Test func theSpinComesFromTheEnvironment() {
        #expect(WorkerPool.spinSetting([:]) == 200_000)
        #expect(WorkerPool.spinSetting([WorkerPool.spinVariable: "0"]) == 0)
        #expect(WorkerPool.spinSetting([WorkerPool.spinVariable: "50"]) == 50_000)
        #expect(WorkerPool.spinSetting([WorkerPool.spinVariable: "soon"]) == 200_000)
    }
}

/// The scheduler states of this process's threads called `name` once they are all S (asleep),
/// or at the end of `seconds` of checking every 10 ms.
private func threadStates(named name: String, within seconds: Double) -> [Character] {
    let deadline = Date().addingTimeInterval(seconds)
    var states = threadStates(named: name)
    while !states.isEmpty && states.contains(where: { $0 != "S" }) && Date() < deadline {
        usleep(10_000)
        states = threadStates(named: name)
    }
    return states
}

/// The scheduler states (R, S, …) of this process's threads called `name`.
private func threadStates(named name: String) -> [Character] {
    ProcessThreads.all().filter { $0.name == name }.map(\.state)
}
