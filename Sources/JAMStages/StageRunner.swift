import Dispatch
import Foundation
import JAMArtifacts
import JAMCore

// The shared loop of every per-video stage (docs/DESIGN.md §3): a list of units, each with one output
// file; finished units are skipped unless forced; units run in parallel on a fixed number of
// workers; a failing unit is reported with its file and reason and the others go on (or the
// stage stops at the first with --strict); a report of what failed is written beside the
// outputs; the exit status says whether anything failed.

/// One unit of work, usually one video, and the file that proves it finished.
public struct WorkUnit: Sendable, Hashable {
    /// A stable name for messages and the report, e.g. `MoveLeft/v_MoveLeft_g01_c02.avi`.
    public var name: String
    /// The input this unit reads (shown in failure messages).
    public var input: URL
    /// Its output. The unit is finished iff this exists and `isFinished` accepts it.
    public var output: URL

    public init(name: String, input: URL, output: URL) {
        (self.name, self.input, self.output) = (name, input, output)
    }
}

/// A unit that failed, or a problem found before any unit ran (a missing file in a split list).
public struct UnitFailure: Sendable, Codable, Equatable, CustomStringConvertible {
    public var unit: String
    /// The file at fault (the video, the split file ...).
    public var file: String
    public var reason: String

    public init(unit: String, file: String, reason: String) {
        (self.unit, self.file, self.reason) = (unit, file, reason)
    }

    public var description: String { "\(file): \(reason)" }
}

/// How a stage run treats finished work and failures.
public struct RunPolicy: Sendable {
    /// Redo units whose output already exists.
    public var force: Bool
    /// Stop at the first failure (units already running finish).
    public var strict: Bool
    /// Units processed at once.
    public var workers: Int
    /// Check finished outputs fully (every value finite) before skipping them, not just quickly.
    public var verify: Bool
    /// The part of the units this process runs (`Shard`'s rule); `.whole` for all of them.
    public var shard: Shard
    private var trainsHereOverride: Bool?

    public init(force: Bool = false, strict: Bool = false, workers: Int = 1, verify: Bool = false, shard: Shard = .whole) {
        self.force = force
        self.strict = strict
        self.workers = max(1, workers)
        self.verify = verify
        self.shard = shard
    }

    /// Whether a trained stage (jam-c3d, jam-lstm) may train in this process. By default only
    /// a whole run trains: a shard exports from a finished checkpoint and refuses to start
    /// otherwise (N array tasks must not train N copies). A data-parallel run (MPI, every rank
    /// one shard of the exports) sets it to true: its ranks train together, then each exports
    /// its shard.
    public var trainsHere: Bool {
        get { trainsHereOverride ?? shard.isWhole }
        set { trainsHereOverride = newValue }
    }
}

/// What a stage run did. Written as `stage-report.json` in the stage's output folder (a shard's run as
/// `stage-report.shard-<i>-of-<N>.json`, counting only its units: `fileName`).
public struct StageReport: Sendable, Codable {
    public var stage: String
    public var producer: String
    public var configDigest: String
    public var totalUnits: Int
    public var completed: Int
    public var skipped: Int
    public var failures: [UnitFailure]
    /// True when --strict or a stop request (`StopRequest`) ended the run before every unit was tried.
    public var stoppedEarly: Bool
    public var seconds: Double
    public var finished: String
    /// `i/N` when the run was one shard of the stage's units (it then counts only that shard's
    /// units, and is written as `Shard.reportFileName`); absent for a whole run.
    public var shard: String?

    public var succeeded: Bool { failures.isEmpty && !stoppedEarly }

    /// The file name this report is written under in its folder.
    public var fileName: String {
        (shard.flatMap { try? Shard(parsing: $0) } ?? .whole).reportFileName
    }

    enum CodingKeys: String, CodingKey {
        case stage, producer, failures, seconds, finished, shard
        case configDigest = "config_digest"
        case totalUnits = "total_units"
        case completed, skipped
        case stoppedEarly = "stopped_early"
    }
}

/// Runs units with the policy and reports progress on standard error.
public struct StageRunner: Sendable {
    public var stage: String
    public var policy: RunPolicy
    public var progress: ProgressReporter
    /// Asked before each unit is taken: once true, no new unit starts (running ones finish),
    /// the report is written with the rest pending, and the command exits with
    /// `StopRequest.exitCode` (a signal from Slurm before the time limit; see `StopRequest`).
    public var stopRequested: @Sendable () -> Bool = { StopRequest.isRequested }

    public init(stage: String, policy: RunPolicy, progress: ProgressReporter? = nil) {
        self.stage = stage
        self.policy = policy
        self.progress = progress ?? ProgressReporter(label: stage)
    }

    /// Runs `work` for every unit not yet finished. `isFinished` decides whether an existing
    /// output counts as done (by default: the file exists — outputs are published by rename,
    /// so an existing file is complete); `verify` then checks it (quickly, or fully with
    /// `policy.verify`), and a unit whose output fails is redone, saying which and why (a file
    /// damaged after it was published). Failures found before the run (`knownFailures`) are
    /// reported alongside.
    public func run(
        units: [WorkUnit],
        knownFailures: [UnitFailure] = [],
        configDigest: String,
        isFinished: @Sendable (WorkUnit) -> Bool = { FileManager.default.fileExists(atPath: $0.output.path) },
        verify: ((WorkUnit, VerificationDepth) throws -> Void)? = nil,
        work: @escaping @Sendable (WorkUnit) throws -> Void
    ) -> StageReport {
        let start = Date()
        let (units, knownFailures) = Self.select(policy.shard, units: units, knownFailures: knownFailures)
        for failure in knownFailures { progress.log("FAILED \(failure)") }
        let state = RunState(failures: knownFailures)
        if policy.strict && !knownFailures.isEmpty { state.stop = true }

        var pending: [WorkUnit] = []
        for unit in units {
            guard !policy.force && isFinished(unit) else {
                pending.append(unit)
                continue
            }
            if let verify, let problem = Self.problem(verifying: unit, depth: policy.verify ? .full : .quick, with: verify) {
                progress.log("REDO \(unit.name): its finished output is damaged: \(problem)")
                pending.append(unit)
            } else {
                state.skipped += 1
            }
        }
        progress.start(total: pending.count, skipped: state.skipped)
        let queue = pending
        let workers = min(policy.workers, max(1, queue.count))
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            while !stopRequested(), let unit = state.next(from: queue) {
                do {
                    try work(unit)
                    state.finish(failure: nil, strict: policy.strict)
                    progress.advance(failed: false)
                } catch {
                    var failure = UnitFailure(unit: unit.name, error: error, file: unit.input.path)
                    if failure.isDiskFull {
                        failure = Self.diskFullAdvice(failure, output: unit.output, units: units,
                                                      remaining: state.remaining(of: queue.count))
                    }
                    progress.log("FAILED \(failure)")
                    state.finish(failure: failure, strict: policy.strict)
                    progress.advance(failed: true)
                }
            }
        }
        if stopRequested() { state.stop = true }  // what was not taken stays pending
        progress.finish()
        return StageReport(
            stage: stage, producer: "\(stage) \(jamVersion)", configDigest: configDigest,
            totalUnits: units.count, completed: state.completed, skipped: state.skipped,
            failures: state.failures, stoppedEarly: state.stop && state.taken < queue.count,
            seconds: Date().timeIntervalSince(start),
            finished: ISO8601DateFormatter().string(from: Date()),
            shard: policy.shard.isWhole ? nil : policy.shard.description)
    }

    /// The shard's units and the failures found before the run that are its own. The rule
    /// (`Shard.select`) runs over the names of both together — every unit the stage was asked
    /// for, usable or not — so a unit keeps its shard whether or not its input is readable.
    public static func select(_ shard: Shard, units: [WorkUnit], knownFailures: [UnitFailure])
        -> (units: [WorkUnit], knownFailures: [UnitFailure])
    {
        guard !shard.isWhole else { return (units, knownFailures) }
        let owned = Set(shard.select(Array(Set(units.map(\.name) + knownFailures.map(\.unit)))) { $0 })
        return (units.filter { owned.contains($0.name) }, knownFailures.filter { owned.contains($0.unit) })
    }
}

/// Shared progress of the workers; every access holds the lock.
private final class RunState: @unchecked Sendable {
    private let lock = NSLock()
    var taken = 0
    var completed = 0
    var skipped = 0
    var failures: [UnitFailure]
    var stop = false

    init(failures: [UnitFailure]) { self.failures = failures }

    /// Units of the run not finished (the failed ones included: they are to be redone).
    func remaining(of total: Int) -> Int { lock.withLock { total - completed } }

    func next(from queue: [WorkUnit]) -> WorkUnit? {
        lock.withLock {
            guard !stop, taken < queue.count else { return nil }
            defer { taken += 1 }
            return queue[taken]
        }
    }

    func finish(failure: UnitFailure?, strict: Bool) {
        lock.withLock {
            if let failure {
                failures.append(failure)
                if strict { stop = true }
            } else {
                completed += 1
            }
        }
    }
}

extension StageReport {
    /// Writes the report into `folder`, atomically, as `fileName`: `stage-report.json` for a
    /// whole run, `stage-report.shard-<i>-of-<N>.json` for a shard (so that shards running at
    /// once never overwrite each other's report; readers merge them).
    public func write(to folder: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var sorted = self
        sorted.failures.sort { ($0.unit, $0.file) < ($1.unit, $1.file) }
        try AtomicFile.write(encoder.encode(sorted), to: folder.appendingPathComponent(fileName))
    }

    /// Runs `body` for each split in order and merges the splits' reports into the stage's,
    /// stopping after a split that `--strict` stopped.
    public static func overSplits(
        _ splits: [Int], stage: String, configDigest: String, started: Date,
        _ body: (Int) throws -> StageReport
    ) rethrows -> StageReport {
        var merged = StageReport(
            stage: stage, producer: "\(stage) \(jamVersion)", configDigest: configDigest, totalUnits: 0,
            completed: 0, skipped: 0, failures: [], stoppedEarly: false, seconds: 0, finished: "")
        for split in splits {
            let report = try body(split)
            merged.totalUnits += report.totalUnits
            merged.completed += report.completed
            merged.skipped += report.skipped
            merged.failures += report.failures
            merged.shard = report.shard
            if report.stoppedEarly {
                merged.stoppedEarly = true
                break
            }
        }
        merged.seconds = Date().timeIntervalSince(started)
        merged.finished = ISO8601DateFormatter().string(from: Date())
        return merged
    }

    /// The line printed at the end of a run.
    public var summary: String {
        var text = "\(stage)\(shard.map { " shard \($0)" } ?? ""): \(completed) done, \(skipped) already done, \(failures.count) failed of \(totalUnits)"
        text += String(format: " in %.1f s", seconds)
        if stoppedEarly {
            // --strict stops only at a failure; without one, a stop was requested.
            text += StopRequest.isRequested || failures.isEmpty ? " (stopped on request: rerun to do the rest)"
                : " (stopped at the first failure: --strict)"
        }
        return text
    }
}
