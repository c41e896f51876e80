import ArgumentParser

struct GEMMBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "gemm", abstract: "(not written yet)")
    func run() throws { throw ValidationError("the gemm benchmark is not written yet") }
}
