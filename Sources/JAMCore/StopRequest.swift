// Tests: Tests/JAMCoreTests/StopRequestTests.swift
import Dispatch
import Foundation

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
        private var sources: [DispatchSourceSignal] = []

        public init() {}

        /// What requested a stop (`SIGUSR1`, …), or nil.
        public var reason: String? { lock.withLock { value } }

        public func set(_ reason: String?) { lock.withLock { value = reason } }

        /// Catches SIGUSR1 and SIGTERM from now on (idempotent).
        public func install() {
            lock.withLock {
                guard sources.isEmpty else { return }
                for (number, name) in [(SIGUSR1, "SIGUSR1"), (SIGTERM, "SIGTERM")] {
                    signal(number, SIG_IGN)  // the dispatch source sees it instead
                    let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
                    source.setEventHandler { [weak self] in
                        guard let self else { return }
                        self.lock.withLock { if self.value == nil { self.value = name } }
                        FileHandle.standardError.write(Data(("\(name) received: stopping at the next unit or step boundary "
                                                             + "(the finished work is kept; rerun to resume)\n").utf8))
                    }
                    source.resume()
                    sources.append(source)
                }
            }
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
