import ArgumentParser
import Foundation
import JAMConfig
import JAMCore
import JAMStages

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

    /// The run policy: --force, --strict, and --threads or the stage's own setting.
    public func policy(defaultWorkers: Int) -> RunPolicy {
        RunPolicy(force: force, strict: strict, workers: threads ?? defaultWorkers, verify: verify)
    }
}

/// Ends a stage command: prints the report's summary line and exits non-zero when any unit
/// failed (docs/DESIGN.md §3), after the report has been written; with `StopRequest.exitCode`
/// when a stop request left units untried.
public func finish(with report: StageReport) throws -> Never {
    print(report.summary)
    if !report.failures.isEmpty {
        writeStandardError("\(report.stage): \(report.failures.count) unit(s) failed; see stage-report.json for the list\n")
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
