// Tests: Tests/JAMCoreTests/StopRequestTests.swift
import Foundation
import Synchronization

/// A request to stop cleanly at the next unit or training-step boundary, leaving a resumable
/// state. Slurm sends one before a job's time limit (`sbatch --signal=B:USR1@120` forwarded by
/// the job script, or SIGTERM at the limit); a user may send one with `kill -USR1`.
///
/// Long loops ask `StopRequest.isRequested` between units or steps; a stage that stopped this
/// way exits with `StopRequest.exitCode`, so a requeue or resubmit runs it again and it resumes.
public enum StopRequest {
    /// The exit status of a stage that stopped on request (EX_TEMPFAIL: try again later).
    public static let exitCode: Int32 = 75

    private static let state = Listener()

    /// Catches SIGUSR1 and SIGTERM from now on (idempotent). Before this, they end the process
    /// as usual.
    public static func install() {
        state.install()
    }

    /// Whether a stop was requested (by a signal or `request(_:)`).
    public static var isRequested: Bool { state.reason != nil }

    /// What requested it (`SIGTERM`, `SIGUSR1`, …), or nil.
    public static var reason: String? { state.reason }

    /// Requests a stop without a signal (tests, an MPI peer that was signalled).
    public static func request(_ reason: String) { state.set(reason) }

    /// Forgets a request (tests).
    public static func reset() { state.set(nil) }

    /// What `StopRequest` keeps, as an object of its own: a test that sends itself a signal
    /// listens with a private one, so that the process-wide request, which every stage loop
    /// asks, stays unset for the other tests running in the same process.
    public final class Listener: @unchecked Sendable {
        private let lock = NSLock()
        private var value: String?
        /// `stopSignals.count` when this listener was installed (nil: not installed).
        private var baseline: Int?

        public init() {}

        /// What requested a stop (`SIGUSR1`, …), or nil.
        public var reason: String? {
            lock.withLock {
                if value == nil, let baseline, stopSignals.count.load(ordering: .acquiring) > baseline {
                    value = stopSignals.name(stopSignals.last.load(ordering: .relaxed))
                }
                return value
            }
        }

        /// Sets or forgets the request; forgetting also forgets the signals received so far.
        public func set(_ reason: String?) {
            lock.withLock {
                value = reason
                if reason == nil, baseline != nil { baseline = stopSignals.count.load(ordering: .acquiring) }
            }
        }

        /// Catches SIGUSR1 and SIGTERM from now on (idempotent).
        public func install() {
            lock.withLock {
                guard baseline == nil else { return }
                stopSignals.installHandlers()
                baseline = stopSignals.count.load(ordering: .acquiring)
            }
        }
    }
}

/// The signals that request a stop, caught by a handler of their own (any thread may take a
/// process-directed signal, and the handler runs on whichever does; a signal set to be ignored
/// is dropped by a thread that does not block it, so nothing else would be reliable in a process
/// whose BLAS or test-runner threads exist before the handler). The handler only does what is
/// safe in a signal handler: two atomic stores and one `write(2)` of a prepared message.
private let stopSignals = StopSignals()

private final class StopSignals: @unchecked Sendable {  // immutable but for the atomics and the mutex
    static let numbers: [Int32] = [SIGUSR1, SIGTERM]
    /// Stop signals received since the process started.
    let count = Atomic<Int>(0)
    /// The latest one's number.
    let last = Atomic<Int32>(0)
    private let installed = Mutex(false)
    /// `"<SIGNAL> received: …\n"`, as bytes the handler can write without allocating (kept for
    /// the life of the process).
    let usr1Message = StopSignals.message(SIGUSR1)
    let termMessage = StopSignals.message(SIGTERM)

    private static func message(_ number: Int32) -> UnsafeBufferPointer<UInt8> {
        let text = "\(name(number)) received: stopping at the next unit or step boundary "
            + "(the finished work is kept; rerun to resume)\n"
        let bytes = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: text.utf8.count)
        _ = bytes.initialize(from: text.utf8)
        return UnsafeBufferPointer(bytes)
    }

    static func name(_ number: Int32) -> String { number == SIGTERM ? "SIGTERM" : "SIGUSR1" }
    func name(_ number: Int32) -> String { Self.name(number) }

    /// Installs the handler once per process (glibc's `signal` restarts interrupted system calls)
    /// and unblocks the signals in the calling thread, and so in the threads it starts: a program
    /// started by a thread that blocks them (a dispatch worker's, say) inherits that mask, and a
    /// signal no thread takes would stay pending.
    func installHandlers() {
        installed.withLock { done in
            guard !done else { return }
            var set = sigset_t()
            sigemptyset(&set)
            for number in Self.numbers { sigaddset(&set, number) }
            pthread_sigmask(SIG_UNBLOCK, &set, nil)
            for number in Self.numbers {
                signal(number) { number in
                    stopSignals.last.store(number, ordering: .relaxed)
                    stopSignals.count.wrappingAdd(1, ordering: .releasing)
                    let message = number == SIGTERM ? stopSignals.termMessage : stopSignals.usr1Message
                    _ = write(STDERR_FILENO, message.baseAddress, message.count)
                }
            }
            done = true
        }
    }
}

/// Training stopped on a `StopRequest` after an optimizer step, its state saved: the command
/// exits with `StopRequest.exitCode`, and rerunning it resumes from the checkpoint.
public struct StoppedOnRequest: UserFacingError, Sendable {
    /// What requested it (`SIGUSR1`, …), when known.
    public var reason: String?
    /// The checkpoint holding the state.
    public var checkpoint: URL
    /// 0-based epoch and optimizer steps done, as the checkpoint records them.
    public var epoch: Int
    public var step: Int

    public init(reason: String?, checkpoint: URL, epoch: Int, step: Int) {
        (self.reason, self.checkpoint, self.epoch, self.step) = (reason, checkpoint, epoch, step)
    }

    public var description: String {
        "stopped on request\(reason.map { " (\($0))" } ?? ""): the checkpoint \(checkpoint.path) holds the training state "
            + "at epoch \(epoch + 1), \(step) steps done; rerun the same command to resume from it"
    }
}
