import ArgumentParser
import JAMTensor

/// Benchmarks that print their figures next to the machine's own measured peaks.
@main
struct JamBench: ParsableCommand {
    /// With OpenBLAS set up for this CPU (`OpenBLASSetup`: its best kernels, idle threads that sleep), then as usual.
    static func main() {
        OpenBLASSetup.atProgramStart()
        main(nil)
    }

    static let configuration = CommandConfiguration(
        commandName: "jam-bench",
        abstract: "Measure JAM's speed against this machine's own peaks (see docs/BENCHMARKS.md).",
        subcommands: [GEMMBenchmark.self, DecodeBenchmark.self, VGGBenchmark.self, C3DBenchmark.self,
                      LSTMBenchmark.self, SkinnyGEMMBenchmark.self, DiskBenchmark.self, AllReduceBenchmark.self])
}

/// The options of the training-step benchmarks (`c3d`, `lstm`).
struct TrainingBenchmarkOptions: ParsableArguments {
    @Option(name: .long, help: "BLAS threads.")
    var threads: Int = 2

    @Option(name: .long, help: "Timed steps per shape (the best is reported, after one warm-up step).")
    var steps: Int = 3

    @Flag(name: .long, help: "Only the default profile's shapes (skips the paper's, which take seconds per step).")
    var skipPaper = false
}
