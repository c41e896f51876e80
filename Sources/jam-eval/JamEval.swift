import ArgumentParser
import JAMTensor
import Foundation
import JAMCommandLine
import JAMConfig
import JAMEval
import JAMStages

@main
struct JamEval: ParsableCommand {
    /// With OpenBLAS set up for this CPU (`OpenBLASSetup`: its best kernels, idle threads that sleep), then as usual.
    static func main() {
        OpenBLASSetup.atProgramStart()
        main(nil)
    }

    static let configuration = CommandConfiguration(
        commandName: "jam-eval",
        abstract: "Predict every test video from the last LSTM round, and write metrics, predictions and a report.",
        discussion: """
            For each configured split, applies the prediction rule (the paper's: a vote of the \
            argmax over the last L2 = lstm.vote_steps steps of each clip, then over clips; or the \
            mean probability) to the clip probabilities jam-lstm exported, and writes a \
            predictions artifact per split, metrics.json (top-1, top-5, mean class accuracy, \
            confusion matrix; per split and averaged) and report/index.html under \
            <artifacts_root>/<dataset>/eval/<eval digest>/<rule>/. Prints the accuracy table \
            (top-5 left out, with a note, for 5 classes or fewer).

            The report shows the accuracy table, confusion matrices, the misclassified test \
            videos with their clip votes, training curves of every round of jam-c3d and jam-lstm \
            (the attention-regularisation term in its own chart), and attention over frames on \
            one colour scale per video with its range printed (or, with lstm.attention none, a \
            note that the model mean-pools); a banner warns when the features came from a \
            randomly initialised VGG16. The folder is built under a temporary name and renamed \
            into place. scripts/report-screenshot.sh renders it in headless Chromium.

            --compare P (repeatable) evaluates nothing: it reads the metrics.json that earlier \
            runs of jam-eval wrote for each profile P of the config (composed profiles such as \
            paper,early-fusion work; 'default' is the base settings) and prints them side by \
            side, one row per variant: top-1 per split, the mean, mean class accuracy, chance.
            """)

    @OptionGroup var options: StageOptions

    @Option(name: .long, help: "Prediction rule: 'vote' (the paper's) or 'meanProbability'.")
    var rule: String = PredictionRule.vote.rawValue

    @Option(name: .long, help: "The row label of this run in the accuracy table (default: the profile, or 'default').")
    var variant: String?

    @Option(name: .long, help: "Print finished variants side by side instead of evaluating: a profile (or 'default'); repeat for each row.")
    var compare: [String] = []

    func validate() throws {
        guard PredictionRule(rawValue: rule) != nil else {
            throw ValidationError("--rule must be one of \(PredictionRule.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }

    func run() throws {
        if !compare.isEmpty { return try printComparison() }
        let config = try options.loadConfig()
        let result = try EvalStage.run(config: config, rule: PredictionRule(rawValue: rule)!,
                                       variant: variant ?? options.profile ?? "default")
        print(AccuracyTable.render([result.summary]))
        if let tracking = result.summary.attentionTracking {
            print(SplitAttentionTracking.lines(tracking).joined(separator: "\n"))
        }
        print("jam-eval: report \(result.report.path)")
        for failure in result.failures { writeStandardError("jam-eval: FAILED \(failure)\n") }
        if !result.failures.isEmpty { throw ExitCode(1) }
    }

    /// `--compare`: every variant's finished metrics, one table.
    func printComparison() throws {
        var rows: [(name: String, summary: MetricsSummary)] = []
        for name in compare {
            let config = try PipelineConfig.load(from: options.configURL, profile: name == "default" ? nil : name)
            let folder = try ArtifactLayout(config).evalFolder(rule: rule)
            let url = folder.appendingPathComponent("metrics.json")
            guard FileManager.default.fileExists(atPath: url.path) else {
                let profile = name == "default" ? "" : " --profile \(name)"
                throw ValidationError("\(url.path): variant \(name) has not been evaluated with rule \(rule); run "
                                      + "bash scripts/run-pipeline.sh --config \(options.config)\(profile) (or its missing stages, then jam-eval)")
            }
            rows.append((name, try MetricsSummary.read(from: url)))
        }
        print(ComparisonTable.render(rows))
    }
}
