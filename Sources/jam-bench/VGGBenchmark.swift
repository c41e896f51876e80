import ArgumentParser

struct VGGBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "vgg", abstract: "(not written yet)")
    func run() throws { throw ValidationError("the vgg benchmark is not written yet") }
}
