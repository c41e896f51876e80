import ArgumentParser
import JAMTensor
import Foundation
import JAMConfig
import JAMCore
import JAMEval
import JAMStages

/// Reads a pipeline config the way the stages do and prints what they would use.
@main
struct JamConfig: ParsableCommand {
    /// With OpenBLAS set up for this CPU (`OpenBLASSetup`: its best kernels, idle threads that sleep), then as usual.
    static func main() {
        OpenBLASSetup.atProgramStart()
        main(nil)
    }

    static let configuration = CommandConfiguration(
        commandName: "jam-config",
        abstract: "Show the effective settings of a pipeline config, one value of it, where its stages write, or what a run will cost.",
        subcommands: [Show.self, Get.self, Paths.self, Estimate.self],
        defaultSubcommand: Show.self)

    struct Source: ParsableArguments {
        @Option(name: .long, help: "The pipeline configuration file.")
        var config: String = "pipeline.json"

        @Option(name: .long, help: "Profiles of the config to apply over its base settings, left to right (e.g. paper,hmdb51).")
        var profile: String?

        func load() throws -> PipelineConfig {
            try PipelineConfig.load(from: URL(fileURLWithPath: config), profile: profile)
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print every setting with its effective value (profile merged, defaults filled in).")
        @OptionGroup var source: Source

        func run() throws {
            print(try source.load().effectiveSettings.prettyString)
        }
    }

    struct Get: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print one effective setting, e.g. 'c3d.rounds' or 'decode.size' (strings without quotes).")
        @OptionGroup var source: Source
        @Argument(help: "A dotted key: section.setting.") var key: String

        func run() throws {
            var value = try source.load().effectiveSettings
            for part in key.split(separator: ".") {
                guard let next = value[String(part)] else {
                    throw ValidationError("\(source.config): no setting '\(key)'")
                }
                value = next
            }
            print(value.stringValue ?? value.canonicalString)
        }
    }

    struct Paths: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print each stage's output folder (named by the digest of the settings it depends on).")
        @OptionGroup var source: Source

        func run() throws {
            let config = try source.load()
            print("dataset       \(config.datasetRoot.path)")
            for (stage, folder) in try ArtifactLayout(config).allFolders(evalRule: PredictionRule.vote.rawValue) {
                print("\(stage.padding(toLength: 13, withPad: " ", startingAt: 0)) \(folder.path)")
            }
        }
    }
}
