import ArgumentParser
import JAMCommandLine
import JAMConfig
import JAMStages
import JAMTensor

@main
struct JamFeatures: StageCommand {
    static let configuration = CommandConfiguration(
        commandName: "jam-features",
        abstract: "Run VGG16 over every frames artifact and write pool4 and conv5_3 maps ([T, S/16, S/16, 512]).",
        discussion: """
            Reads the 'features' section of the config and the frames artifacts of jam-decode; \
            writes one HDF5 features artifact per video under \
            <artifacts_root>/<dataset>/features/<digest>/. Weights come from a Keras VGG16 file \
            (features.weights); without one, a deterministic He-initialised network is used and \
            every artifact says so. --threads sets the threads inside each layer (results do not \
            depend on it). Finished videos are skipped. See docs/ARTIFACTS.md.
            """)

    @OptionGroup var options: StageOptions
    @OptionGroup var sharding: ShardOption

    func run() throws {
        let config = try options.loadConfig()
        print("jam-features: BLAS \(BLASInfo.current)")
        let report = try FeaturesStage.run(config: config, policy: options.policy(defaultWorkers: config.features.threads, shard: try sharding.resolve()))
        try finish(with: report)
    }
}
