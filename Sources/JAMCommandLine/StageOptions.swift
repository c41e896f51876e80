import ArgumentParser
import Foundation
import JAMConfig
import JAMCore
import JAMDistributed
import JAMStages
import JAMTensor

/// The options every stage command takes: where the config is, which profile of it, and how to
/// treat finished work and failures (docs/DESIGN.md §3).
public struct StageOptions: ParsableArguments {
    @Option(name: .long, help: "The pipeline configuration file.")
    public var config: String = "pipeline.json"

    @Option(name: .long, help: "Profiles of the config to apply over its base settings, left to right (e.g. 'paper' or 'paper,hmdb51,early-fusion').")
    public var profile: String?

    @Flag(name: .long, help: "Redo units whose output already exists.")
    public var force = false

    @Flag(name: .long, help: "Stop at the first failing unit instead of reporting it and going on.")
    public var strict = false

    @Option(name: .long, help: "Units to process in parallel (default: the stage's 'threads' setting).")
    public var threads: Int?

    @Flag(name: .long, help: ArgumentHelp(
        "Check finished outputs fully before skipping them (every value read and finite), not just quickly.",
        discussion: "Without it, a finished output is checked quickly (it opens, right kind and schema, the expected "
            + "datasets and shapes, its last slice readable); a damaged one is redone either way."))
    public var verify = false

    public init() {}

    public func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
        guard FileManager.default.fileExists(atPath: config) else {
            throw ValidationError("\(config): no such config file (pass --config PATH)")
        }
    }

    public var configURL: URL { URL(fileURLWithPath: config) }

    /// The config file with the profile applied.
    public func loadConfig() throws -> PipelineConfig {
        try PipelineConfig.load(from: configURL, profile: profile)
    }

    /// The run policy: --force, --strict, and --threads or the stage's own setting; the whole
    /// of the units unless `shard` says otherwise (`ShardOption`).
    public func policy(defaultWorkers: Int, shard: Shard = .whole) -> RunPolicy {
        RunPolicy(force: force, strict: strict, workers: threads ?? defaultWorkers, verify: verify, shard: shard)
    }
}

/// `--shard i/N`, for the stages whose units are videos (jam-decode, jam-features, and the
/// exports of jam-c3d and jam-lstm): which part of the units this process runs, so that N
/// processes — the tasks of a Slurm job array, on one machine or many — share one stage over
/// one folder. Without it, a Slurm array task takes its shard from `SLURM_ARRAY_TASK_ID`,
/// `SLURM_ARRAY_TASK_COUNT` and `SLURM_ARRAY_TASK_MIN`; anything else runs the whole.
public struct ShardOption: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "Run only shard i of N (0-based): the units at positions i, i+N, i+2N, … of the units sorted by name.",
        discussion: "Without --shard, a Slurm array task (SLURM_ARRAY_TASK_ID set) runs shard (ID - SLURM_ARRAY_TASK_MIN) "
            + "of SLURM_ARRAY_TASK_COUNT; otherwise the run takes every unit. Shards of one stage may run at once, "
            + "on one machine or several sharing the folder; together they write exactly the files one whole run "
            + "writes, and each writes its own report, stage-report.shard-<i>-of-<N>.json.",
        valueName: "i/N"))
    public var shard: String?

    public init() {}

    public func validate() throws {
        _ = try resolve()
    }

    /// `--shard`, else the Slurm array task's shard, else the whole; a bad value or a Slurm
    /// array that maps to no shard is a `ValidationError` with the reason.
    public func resolve(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Shard {
        do {
            return try Shard.resolve(option: shard, environment: environment)
        } catch let error as JAMError {
            throw ValidationError(error.message)
        }
    }
}

/// Ends a stage command: prints the report's summary line and exits non-zero when any unit
/// failed (docs/DESIGN.md §3), after the report has been written; with `StopRequest.exitCode`
/// when a stop request left units untried.
public func finish(with report: StageReport) throws -> Never {
    print(report.summary)
    if !report.failures.isEmpty {
        writeStandardError("\(report.stage): \(report.failures.count) unit(s) failed; see \(report.fileName) for the list\n")
    }
    if report.stoppedEarly && StopRequest.isRequested {
        writeStandardError("\(report.stage): stopped on request (\(StopRequest.reason ?? "stop")); the finished units are kept "
                           + "and the rest are pending: rerun the same command to do them\n")
        throw ExitCode(StopRequest.exitCode)
    }
    throw ExitCode(report.succeeded ? 0 : 1)
}

/// A command of a stage that stops cleanly on SIGUSR1 or SIGTERM (`StopRequest`): declare the
/// `@main` type as `StageCommand` instead of `ParsableCommand`. Its `main` installs the handlers
/// before anything runs and maps training's `StoppedOnRequest` to `StopRequest.exitCode` (75)
/// with the checkpoint's epoch and step; `finish(with:)` does the same for a stopped unit loop.
public protocol StageCommand: ParsableCommand {}

extension StageCommand {
    public static func main() {
        OpenBLASSetup.atProgramStart()
        StopRequest.install()
        do {
            var command = try parseAsRoot()
            try command.run()
            exit()
        } catch let stopped as StoppedOnRequest {
            writeStandardError("\(configuration.commandName ?? "jam"): \(stopped)\n")
            exit(withError: ExitCode(StopRequest.exitCode))
        } catch {
            exit(withError: error)
        }
    }
}

/// Runs a trained stage's command (jam-c3d, jam-lstm) as one rank of the MPI job that launched
/// it, or alone when no launcher did (`ProcessGroup`). An error on one rank ends the whole job,
/// except the command line's own exits and a stop on request, which every rank reaches together.
public func runAsRank(_ body: () throws -> Void) throws {
    try ProcessGroup.join()
    try ProcessGroup.runCommand(body, isExitRequest: { $0 is ExitCode || $0 is CleanExit || $0 is StoppedOnRequest })
}
