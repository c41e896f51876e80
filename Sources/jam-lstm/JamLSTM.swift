import ArgumentParser
import JAMCommandLine
import JAMConfig
import JAMStages

@main
struct JamLSTM: StageCommand {
    static let configuration = CommandConfiguration(
        commandName: "jam-lstm",
        abstract: "Train the joint-attention LSTM on feature cubes and export attention and per-clip probabilities per video.",
        discussion: """
            Reads the 'lstm' section of the config and the cubes artifacts jam-c3d wrote for the \
            same round. Per split, trains one LSTM on the split's training videos (the test videos \
            validate), checkpointing every 'checkpoint_every' steps and at each epoch end into \
            <artifacts_root>/<dataset>/lstm/<digest>/split<N>/, then writes one attention artifact \
            per video ([T, K*K] maps averaged over the clips covering each step, and the per-step \
            class probabilities of every clip) under <artifacts_root>/<dataset>/attention/<digest>/split<N>/. \
            Rerunning resumes training from the checkpoint (bit-identical at the same --threads) \
            and skips finished videos; --force starts over. Raising 'epochs' continues the \
            finished training and exports again; fewer epochs than the checkpoint has done are \
            refused. Training that produces NaN or infinity stops and keeps the last good \
            checkpoint. Training logs a line every 'log_every_steps' steps; when standard error \
            is not a terminal, progress lines come every JAM_PROGRESS_INTERVAL seconds \
            (default 30). With --shard (or in a Slurm array) it only exports its shard of the \
            videos, from the finished checkpoint: train first without --shard. See docs/ARTIFACTS.md.

            Data-parallel: 'mpirun -np R jam-lstm ...' or 'srun -n R jam-lstm ...' splits every \
            batch over R ranks (same weights within float32 summation; rank 0 writes; exports sharded).
            """)

    @OptionGroup var options: StageOptions
    @OptionGroup var sharding: ShardOption

    @Option(name: .long, help: "The round of the c3d → lstm pipeline: trains on the cubes of jam-c3d --round R.")
    var round: Int = 1

    func validate() throws {
        guard round >= 1 else { throw ValidationError("--round must be at least 1, got \(round)") }
    }

    func run() throws {
        try runAsRank {
            let config = try options.loadConfig()
            let policy = try DataParallelStage.distributedPolicy(
                options.policy(defaultWorkers: config.lstm.threads, shard: try sharding.resolve()))
            let report = try LSTMStage.run(config: config, policy: policy, round: round)
            try finish(with: report)
        }
    }
}
