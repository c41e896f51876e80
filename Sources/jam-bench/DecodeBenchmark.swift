import ArgumentParser

struct DecodeBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "decode", abstract: "(not written yet)")
    func run() throws { throw ValidationError("the decode benchmark is not written yet") }
}
