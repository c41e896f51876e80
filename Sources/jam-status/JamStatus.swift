import ArgumentParser
import Foundation
import JAMConfig
import JAMStages

@main
struct JamStatus: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jam-status",
        abstract: "Show what is done, failed and pending in every stage of a config, and the command to run next.",
        discussion: """
            Lists every stage of every round in run order (jam-synth for a synthetic dataset, \
            jam-decode, jam-features, then jam-c3d and jam-lstm for each round, then jam-eval) with \
            its units done, failed, pending and in total, every shard's report merged; for jam-c3d \
            and jam-lstm, each split's checkpoint (absent, at which epoch and step, or finished) and \
            whether its exports are current; the failures with the file and the reason; and the \
            next command to run, with --config and --profile as given here.

            A unit counts as done when its output file exists under its final name (outputs are \
            published by rename); the stages' quick check of each file is not repeated, so that a \
            dataset of thousands of videos is counted in seconds. Failures come from the stage \
            reports (stage-report.json and stage-report.shard-<i>-of-<N>.json), leaving out units \
            done since. Nothing is written: it is safe to run while stages run, and a temporary \
            beside an output counts that unit as being written.

            Exit status: 0 when every stage is done (through jam-eval's metrics.json) and nothing \
            failed; 1 when work is left or units failed; 2 when the config cannot be read or its \
            folders cannot be resolved (64 for an unknown option, as every command). --json prints one JSON object instead of the table (keys \
            in docs/ARTIFACTS.md, "jam-status --json").
            """)

    @Option(name: .long, help: "The pipeline configuration file (default: pipeline.json).")
    var config: String?

    @Option(name: .long, help: "Profiles of the config to apply over its base settings, left to right (e.g. 'paper').")
    var profile: String?

    @Option(name: .long, help: "The prediction rule whose jam-eval folder counts ('vote', as jam-eval by default, or 'meanProbability').")
    var rule: String = "vote"

    @Flag(name: .long, help: "Print a JSON object for scripts instead of the table.")
    var json = false

    func run() throws {
        let path = config ?? "pipeline.json"
        let status: PipelineStatus
        do {
            guard FileManager.default.fileExists(atPath: path) else {
                throw ValidationError("\(path): no such config file (pass --config PATH)")
            }
            let loaded = try PipelineConfig.load(from: URL(fileURLWithPath: path), profile: profile)
            status = try PipelineStatus.read(config: loaded, evalRule: rule)
        } catch {
            writeStandardError("jam-status: error: \(error)\n")
            throw ExitCode(2)
        }
        // The next command repeats the config options as the user gave them.
        var options: [String] = []
        if let config { options += ["--config", config] }
        if let profile { options += ["--profile", profile] }
        if json {
            print(status.json(config: path, profile: profile, options: options).prettyString, terminator: "")
        } else {
            print("jam-status: \(path)" + (profile.map { " (profile \($0))" } ?? ""))
            print(status.table(options: options), terminator: "")
        }
        throw ExitCode(status.complete ? 0 : 1)
    }
}
