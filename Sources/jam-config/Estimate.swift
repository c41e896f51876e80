import ArgumentParser
import Foundation
import JAMConfig
import JAMCore
import JAMStages
import JAMTensor

/// `jam-config estimate`: hours per stage and disk per artifact kind, before anything long starts.
struct Estimate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Estimate hours per stage on this machine and disk per artifact kind, from a short calibration.",
        discussion: """
            Times one unit of every stage (a decoded frame, a VGG16 frame, a 3D-convnet and an LSTM \
            training clip and forward pass) with the config's own shapes and thread counts, then \
            multiplies by the work the dataset holds. The dataset's split files are read and a \
            sample of its videos is decoded for their frame counts; without a dataset, give \
            --videos and --frames (UCF101: --videos 13320 --frames 186 --classes 101). Calibration takes \
            seconds at the default shapes and about a minute at the paper's.
            """)

    @OptionGroup var source: JamConfig.Source

    @Option(help: "Videos in the dataset (instead of reading its split files).")
    var videos: Int?
    @Option(help: "Frames per video after decoding (with --videos).")
    var frames: Int?
    @Option(help: "Classes (with --videos).")
    var classes: Int = 101
    @Option(help: "Share of each split's videos used for training (with --videos).")
    var trainShare: Double = 0.7
    @Option(help: "Videos decoded to measure frame counts (when reading the dataset).")
    var sample: Int = 20

    func validate() throws {
        if (videos == nil) != (frames == nil) { throw ValidationError("give --videos and --frames together") }
        if let videos, videos < 2 { throw ValidationError("--videos must be at least 2") }
        if let frames, frames < 1 { throw ValidationError("--frames must be at least 1") }
        if classes < 2 { throw ValidationError("--classes must be at least 2") }
        if !(0.05...0.95).contains(trainShare) { throw ValidationError("--train-share must be in 0.05...0.95") }
        if sample < 1 { throw ValidationError("--sample must be at least 1") }
    }

    func run() throws {
        let config = try source.load()
        let workload: Workload
        if let videos, let frames {
            workload = .given(videos: videos, frames: frames, classCount: classes, splits: config.dataset.splits,
                              trainShare: trainShare)
        } else {
            guard FileManager.default.fileExists(atPath: config.datasetRoot.path) else {
                throw ValidationError("\(config.datasetRoot.path): the dataset is not there"
                    + (config.dataset.synthetic ? " (run jam-synth first)" : "")
                    + "; give --videos N --frames F (e.g. UCF101: --videos 13320 --frames 186 --classes 101)")
            }
            workload = try .measured(config, sample: sample)
        }
        print("workload: \(workload.source); \(workload.classCount) classes; "
              + String(format: "%.0f frames per video on average", workload.meanFrames))
        print("machine: \(BLASInfo.current)")
        print("calibration (this machine, now; the config's shapes and threads):")
        let costs = try CostCalibration.measure(config, classCount: workload.classCount) { print($0) }
        print("")
        print(CostEstimate(config: config, workload: workload, costs: costs).table)
    }
}
