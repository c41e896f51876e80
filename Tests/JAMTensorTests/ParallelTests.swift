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
