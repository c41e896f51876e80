// shapes: none; a job is `parts` parts numbered 0..<parts, part 0 on the calling thread.
// Tests: Tests/JAMTensorTests/ParallelTests.swift (the pool's jobs, sleeping and spinning helpers,
// nested and concurrent callers)

import CPrefetch
import Dispatch
import Foundation
import Synchronization

/// The helper threads behind `parallelFor`. After a job a helper keeps checking for the next one
/// for `spinNanoseconds` before it sleeps, so that jobs that follow each other closely (the
/// LSTM's per-step products, 20–25 per time step) start on every thread at once.
///
/// Why not libdispatch alone, as before: `DispatchQueue.concurrentPerform` wakes a sleeping
/// worker thread on every call, and on the 2-core virtual machines JAM is measured on the woken
/// thread started its part about 45 µs after the caller (a product of 2 × 164 µs took 212 µs,
/// not 164). docs/BENCHMARKS.md has the LSTM's figures with and without.
///
/// One caller owns the pool at a time. A call made while it is owned (a parallel loop inside a
/// part, or another thread's loop) returns false and the caller runs the job another way.
/// `JAM_WORKER_SPIN_US` sets the spin (microseconds; 0: helpers sleep at once, as
/// libdispatch's did), for machines where an idle core is worth more than the latency.
public final class WorkerPool: @unchecked Sendable {
    /// The pool `parallelFor` uses; its spin from `JAM_WORKER_SPIN_US`.
    public static let shared = WorkerPool(spinNanoseconds: spinSetting(ProcessInfo.processInfo.environment))

    /// The variable that sets the spin, in microseconds.
    public static let spinVariable = "JAM_WORKER_SPIN_US"

    /// The spin from the environment: `JAM_WORKER_SPIN_US` when it is a whole number, else 200 µs.
    public static func spinSetting(_ environment: [String: String]) -> UInt64 {
        environment[spinVariable].flatMap { UInt64($0) }.map { $0 * 1000 } ?? 200_000
    }

    /// Helpers poll for the next job this long after their last one, then sleep on `wakeUp`.
    public let spinNanoseconds: UInt64
    /// The helpers' thread names are `<name>-1`, `<name>-2`, … (seen in /proc, gdb and perf).
    public let name: String

    /// Whether a caller owns the pool (between publishing a job and collecting it).
    private let owned = Atomic<Bool>(false)
    /// The current job's generation (shifted by 16) and part count (low 16 bits), published
    /// together so that a helper never pairs one job's generation with another's part count.
    private let ticket = Atomic<Int>(0)
    /// Helpers that have not finished their part of the current job.
    private let running = Atomic<Int>(0)
    /// Moves on every `releaseCores()`: polling helpers that see it move go to sleep.
    private let releases = Atomic<Int>(0)
    /// The current job's parts. Written by the owner only while no helper runs one (before the
    /// ticket moves, after `running` reaches 0); read by the helpers that take part.
    private var job: ((Int) -> Void)?
    /// Helper threads started so far (their parts are 1...helpers); touched by the owner only.
    private var helpers = 0
    private let lock: UnsafeMutablePointer<pthread_mutex_t>
    private let wakeUp: UnsafeMutablePointer<pthread_cond_t>
    /// Helpers asleep on `wakeUp`; guarded by `lock`.
    private var sleeping = 0

    /// A pool whose helpers (started by the first job that needs them, living as long as the
    /// process) poll `spinNanoseconds` for the next job before they sleep.
    public init(spinNanoseconds: UInt64, name: String = "jam-worker") {
        self.spinNanoseconds = spinNanoseconds
        self.name = name
        lock = .allocate(capacity: 1)
        wakeUp = .allocate(capacity: 1)
        pthread_mutex_init(lock, nil)
        pthread_cond_init(wakeUp, nil)
    }

    /// The most parts a job can have (the part count's 16 bits).
    public static let maximumParts = 0xFFFF

    /// Runs `part(0)` on this thread and `part(1)` … `part(parts − 1)` on helpers, and returns
    /// when all have finished; false, without running anything, when another call owns the pool.
    public func run(parts: Int, _ part: @escaping (Int) -> Void) -> Bool {
        precondition(parts >= 1 && parts <= Self.maximumParts, "WorkerPool: \(parts) parts")
        guard owned.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            return false
        }
        let generation = ticket.load(ordering: .relaxed) >> 16
        while helpers < parts - 1 {
            helpers += 1
            startHelper(part: helpers, seenGeneration: generation)
        }
        job = part
        running.store(parts - 1, ordering: .relaxed)
        ticket.store((generation + 1) << 16 | parts, ordering: .releasing)
        pthread_mutex_lock(lock)
        if sleeping > 0 { pthread_cond_broadcast(wakeUp) }
        pthread_mutex_unlock(lock)

        part(0)
        var polls = 0
        while running.load(ordering: .acquiring) > 0 {
            // A helper that the host has descheduled can take milliseconds: then stop spinning.
            if polls < 100_000 {
                jam_spin_pause()
                polls += 1
            } else {
                sched_yield()
            }
        }
        job = nil
        owned.store(false, ordering: .releasing)
        return true
    }

    /// Sends polling helpers to sleep now. `BLAS.sgemm` calls it before OpenBLAS starts its own
    /// threads on the same cores: a polling helper there cost the default profile's small LSTM,
    /// whose products are OpenBLAS's, a third of its speed.
    public func releaseCores() {
        releases.add(1, ordering: .relaxed)
    }

    private func startHelper(part index: Int, seenGeneration: Int) {
        let threadName = "\(name)-\(index)"
        let thread = Thread { [self] in
            #if os(Linux)
            // Foundation does not pass the name on to Linux; the kernel takes it from here.
            let comm = open("/proc/thread-self/comm", O_WRONLY)
            if comm >= 0 {
                _ = threadName.withCString { write(comm, $0, strlen($0)) }
                close(comm)
            }
            #endif
            var seen = seenGeneration
            var releasesBefore = releases.load(ordering: .relaxed)
            while true {
                let current = nextTicket(after: seen, releasesBefore: releasesBefore)
                seen = current >> 16
                if index < current & 0xFFFF {
                    runPart(index)
                    // Read before the part is reported done: the owner may call OpenBLAS (and
                    // `releaseCores`) as soon as it is, and this helper must not miss that.
                    releasesBefore = releases.load(ordering: .relaxed)
                    running.subtract(1, ordering: .releasing)
                } else {
                    releasesBefore = releases.load(ordering: .relaxed)
                }
            }
        }
        thread.name = threadName
        thread.start()
    }

    /// Calls the current job's part `index`; its own frame, so that the helper has released the
    /// job's closure before it reports the part done.
    @inline(never)
    private func runPart(_ index: Int) {
        job!(index)
    }

    /// Waits for a ticket of a generation other than `seen`: polling for `spinNanoseconds` (or
    /// until `releases` has moved from `releasesBefore`), then asleep until the owner signals.
    private func nextTicket(after seen: Int, releasesBefore: Int) -> Int {
        if spinNanoseconds > 0 {
            let start = DispatchTime.now().uptimeNanoseconds
            var polls = 0
            while true {
                let current = ticket.load(ordering: .acquiring)
                if current >> 16 != seen { return current }
                if releases.load(ordering: .relaxed) != releasesBefore { break }
                jam_spin_pause()
                polls += 1
                if polls & 63 == 0, DispatchTime.now().uptimeNanoseconds - start >= spinNanoseconds { break }
            }
        }
        pthread_mutex_lock(lock)
        sleeping += 1
        var current = ticket.load(ordering: .acquiring)
        while current >> 16 == seen {
            pthread_cond_wait(wakeUp, lock)
            current = ticket.load(ordering: .acquiring)
        }
        sleeping -= 1
        pthread_mutex_unlock(lock)
        return current
    }
}
