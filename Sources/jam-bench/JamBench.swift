import ArgumentParser

/// Benchmarks that print their figures next to the machine's own measured peaks.
@main
struct JamBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jam-bench",
        abstract: "Measure JAM's speed against this machine's own peaks (see docs/BENCHMARKS.md).",
        subcommands: [GEMMBenchmark.self, DecodeBenchmark.self, VGGBenchmark.self, C3DBenchmark.self,
                      LSTMBenchmark.self])
}
