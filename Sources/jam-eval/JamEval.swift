import ArgumentParser
import Foundation
import JAMCommandLine
import JAMConfig
import JAMEval
import JAMStages

@main
struct JamEval: ParsableCommand {
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
            """)

    @OptionGroup var options: StageOptions

    @Option(name: .long, help: "Prediction rule: 'vote' (the paper's) or 'meanProbability'.")
    var rule: String = PredictionRule.vote.rawValue

    @Option(name: .long, help: "The row label of this run in the accuracy table (default: the profile, or 'default').")
    var variant: String?

    func validate() throws {
        guard PredictionRule(rawValue: rule) != nil else {
            throw ValidationError("--rule must be one of \(PredictionRule.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }

    func run() throws {
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
}
