import ArgumentParser
import JAMCommandLine
import JAMConfig
import JAMStages

@main
struct JamSynth: StageCommand {
    static let configuration = CommandConfiguration(
        commandName: "jam-synth",
        abstract: "Write the synthetic action dataset (classes that differ only in motion) in UCF101 layout.",
        discussion: """
            Reads the 'synth' and 'dataset' sections of the config and writes videos and split \
            files under dataset.root. Videos already written are kept; rerunning after an \
            interruption finishes the rest. The same seed gives byte-identical files.
            """)

    @OptionGroup var options: StageOptions

    func run() throws {
        let config = try options.loadConfig()
        guard config.dataset.synthetic else {
            // The pipeline script runs every stage; a real dataset simply has nothing to make.
            print("jam-synth: nothing to do: dataset.synthetic is false (\(config.dataset.root) is read as is)")
            return
        }
        let report = try SynthStage.run(config: config, policy: options.policy(defaultWorkers: config.decode.threads))
        try finish(with: report)
    }
}
