import ArgumentParser
import JAMCommandLine
import JAMConfig
import JAMStages

@main
struct JamDecode: StageCommand {
    static let configuration = CommandConfiguration(
        commandName: "jam-decode",
        abstract: "Decode the videos of the configured splits into frames artifacts ([T, S, S, 3] uint8).",
        discussion: """
            Reads the 'dataset' and 'decode' sections of the config and writes one HDF5 frames \
            artifact per video under <artifacts_root>/<dataset>/frames/<digest>/. A video is a video \
            file or a frame folder of numbered images (<class>/<video>/img_00001.jpg, .jpg/.jpeg/.png, \
            one prefix, one zero padding, no gaps), read through FFmpeg's image2 demuxer; UCF101 and \
            HMDB51 lists naming <video>.avi also find the frame folder <video>/. Finished videos \
            are skipped; bad videos are reported with the reason and the others go on; the exit \
            status is 1 if any video failed. See docs/ARTIFACTS.md.
            """)

    @OptionGroup var options: StageOptions
    @OptionGroup var sharding: ShardOption

    func run() throws {
        let config = try options.loadConfig()
        let report = try DecodeStage.run(config: config, policy: options.policy(defaultWorkers: config.decode.threads, shard: try sharding.resolve()))
        try finish(with: report)
    }
}
