import ArgumentParser
import Foundation
import JAMCommandLine
import JAMConfig
import JAMStages

@main
struct JamC3D: StageCommand {
    static let configuration = CommandConfiguration(
        commandName: "jam-c3d",
        abstract: "Train the 3D convnet on VGG16 features and export a feature cube per video ([T, K, K, N] float32).",
        discussion: """
            Reads the 'c3d' section of the config and the features artifacts of the configured \
            splits. Per split, trains one 3D convnet per branch with deep supervision on the \
            split's training videos (the test videos validate), checkpointing as it goes, then \
            writes one cubes artifact per video under \
            <artifacts_root>/<dataset>/cubes/<digest>/split<N>/. Rerunning resumes training from \
            the checkpoint and skips finished cubes; --force starts over. Round 1 trains with \
            attention_weight 0; later rounds (--round 2) regularise the cubes towards the attention \
            maps the previous LSTM round wrote (found from the config, or given with --attention). \
            Raising 'epochs' continues the finished training and exports the cubes again; fewer \
            epochs than the checkpoint has done are refused. Training logs a line every \
            'log_every_steps' steps; when standard error is not a terminal, progress lines come \
            every JAM_PROGRESS_INTERVAL seconds (default 30). With --shard (or in a Slurm array) \
            it only exports its shard of the videos, from the finished checkpoint: train first \
            without --shard. See docs/ARTIFACTS.md.

            Data-parallel: 'mpirun -np R jam-c3d ...' or 'srun -n R jam-c3d ...' splits every \
            batch over R ranks (same weights within float32 summation; rank 0 writes; exports sharded).
            """)

    @OptionGroup var options: StageOptions
    @OptionGroup var sharding: ShardOption

    @Option(name: .long, help: "The round of the c3d → lstm pipeline (1: attention_weight 0).")
    var round: Int = 1

    @Option(name: .long, help: "The attention artifacts of the previous LSTM round (its digest folder); default: where this config's jam-lstm --round N-1 wrote them.")
    var attention: String?

    func validate() throws {
        guard round >= 1 else { throw ValidationError("--round must be at least 1, got \(round)") }
        if round == 1 && attention != nil {
            throw ValidationError("--attention is for rounds 2 and later (round 1 trains with attention_weight 0)")
        }
    }

    func run() throws {
        try runAsRank {
            let config = try options.loadConfig()
            let policy = try DataParallelStage.distributedPolicy(
                options.policy(defaultWorkers: config.c3d.threads, shard: try sharding.resolve()))
            let report = try C3DStage.run(config: config, policy: policy, round: round,
                                          attentionFolder: attention.map { URL(fileURLWithPath: $0) })
            try finish(with: report)
        }
    }
}
