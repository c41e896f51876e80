// shapes: none; work is split into `chunkCount` chunks numbered 0..<chunkCount.

import Dispatch

/// Runs `body(chunk, worker)` for every chunk in `0..<chunkCount` on up to `threads` workers with
/// a fixed partition: worker `w` takes the contiguous chunks `[w·n/T, (w+1)·n/T)`, in order.
///
/// The partition depends only on `chunkCount` and `threads`, so a computation whose chunks write
/// disjoint memory gives the same bits on every run at the same thread count (and at any thread
/// count when each chunk's arithmetic does not depend on its worker). Worker 0 is the calling
/// thread, the others `WorkerPool`'s helpers. `worker` (in `0..<T`)
/// indexes per-worker scratch. `body` runs concurrently: it must only write memory that belongs
/// to its chunk or its worker. With `threads <= 1` or a single chunk everything runs on the
/// calling thread.
public func parallelFor(chunkCount: Int, threads: Int, _ body: (_ chunk: Int, _ worker: Int) -> Void) {
    let workers = max(1, min(threads, chunkCount))
    if workers == 1 {
        for chunk in 0..<chunkCount { body(chunk, 0) }
        return
    }
    withoutActuallyEscaping(body) { escapable in
        let box = UncheckedSendable(escapable)
        let part: @Sendable (Int) -> Void = { worker in
            let first = worker * chunkCount / workers
            let end = (worker + 1) * chunkCount / workers
            for chunk in first..<end { box.value(chunk, worker) }
        }
        // JAM's helper threads (`WorkerPool`); libdispatch's when they are busy with another
        // loop (this one runs inside a part of it, or on another thread).
        if !WorkerPool.shared.run(parts: workers, part) {
            DispatchQueue.concurrentPerform(iterations: workers, execute: part)
        }
    }
}

/// Carries a value that is not `Sendable` (an unsafe pointer, a closure over one) into
/// concurrently running code whose writes the caller has made disjoint.
public struct UncheckedSendable<Value>: @unchecked Sendable {
    public let value: Value
    public init(_ value: Value) { self.value = value }
}
