// shapes: per branch cubes [B, T, K, K, N]; the LSTM's input per branch 5·N (pyramid); hidden H.
import ArgumentParser
import Foundation
import JAMArtifacts
import JAMConfig
import JAMCore
import JAMDistributed
import JAMModel
import JAMNN
import JAMTensor
import JAMTraining

/// `jam-bench lstm`: training-step time of the joint-attention LSTM (forward + BPTT with weight
/// decay, then the Adam update and the loop's finiteness checks) at the paper's and the default
/// profile's shapes, next to this process's sgemm peak measured just before each shape.
struct LSTMBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lstm",
        abstract: "Time a joint-attention LSTM training step in s/step and GFLOP/s against the sgemm peak.")

    @OptionGroup var options: TrainingBenchmarkOptions

    @Option(help: "Only these models, comma-separated: joint (the paper's), plain (paper sizes, standard first layer, mean pooling), default.")
    var only: String?

    func validate() throws {
        let known: Set<Substring> = ["joint", "plain", "default"]
        if let unknown = only?.split(separator: ",").first(where: { !known.contains($0) }) {
            throw ValidationError("--only: '\(unknown)' is not one of joint, plain, default")
        }
    }

    struct Shape {
        var name: String
        var shape: SequenceClassifierShape
        var batch: Int
        var time: Int
    }

    /// A joint LSTM of 2 layers of 128 on two branches of 3×3×32 cubes, 6 classes.
    static var defaultShape: SequenceClassifierShape {
        var s = LSTMSettings()
        (s.hidden, s.layers) = (128, 2)
        return SequenceClassifierShape(settings: s, geometry: CubesArtifact.Geometry(branches: ["pool4", "conv5_3"], grid: 3,
                                                                                     channels: [32, 32]), classCount: 6)
    }

    func run() throws {
        let world = try ProcessGroup.join()
        ComputeThreads.set(options.threads)
        if world.isWriter { print(BLASInfo.current) }

        let selected = Set((only ?? "joint,plain,default").split(separator: ",").map(String.init))
        var shapes: [Shape] = []
        if !options.skipPaper, selected.contains("joint") {
            shapes.append(Shape(name: "paper: joint LSTM, 3×1024, 2 branches 11×11×256, late fusion, joint attention",
                                shape: .paper(classCount: 101), batch: 16, time: 30))
        }
        if !options.skipPaper, selected.contains("plain") {
            // The same sizes as a plain stacked LSTM (input 2 × 5 × 256 = 2560), PyTorch's nn.LSTM's job.
            var plain = SequenceClassifierShape.paper(classCount: 101)
            plain.settings.firstLayer = .standard
            plain.settings.attention = .none
            shapes.append(Shape(name: "paper sizes, standard first layer, mean pooling (a plain 3×1024 LSTM on 2560 inputs)",
                                shape: plain, batch: 16, time: 30))
        }
        if selected.contains("default") {
            shapes.append(Shape(name: "default: joint LSTM, 2×128, 2 branches 3×3×32", shape: Self.defaultShape,
                                batch: 16, time: 16))
        }

        for shape in shapes {
            // Re-measured before each shape: on a shared machine the peak moves with the load.
            let peak = BLAS.measureSGEMMPeak(size: 2048, repetitions: 3)
            // Under mpirun -np R each rank times its slice of the batch (as data-parallel training splits it).
            let localBatch = SingleProcess.blockRange(count: shape.batch, block: world.rank, of: world.size).count
            let timing = try SequenceClassifierTiming.timeTrainingStep(
                shape: shape.shape, batchSize: localBatch, steps: shape.time,
                repetitions: options.steps, warmup: 1, communicator: world)
            if world.isDistributed {
                let slowest = try DataParallelTiming.slowest(timing, world: world)
                if world.isWriter {
                    print(shape.name)
                    print(String(format: "  data-parallel, %d ranks × %d thread(s), global batch %d: %.3f s/step median "
                                 + "(compute %.3f s + all-reduce %.4f s of %d floats), slowest rank",
                                 world.size, options.threads, shape.batch, slowest.step, slowest.compute, slowest.reduce,
                                 timing.parameterCount))
                }
                continue
            }
            let update = timeUpdate(parameterCount: timing.parameterCount)
            let best = timing.bestStepSeconds
            let median = timing.medianStepSeconds
            let forward = timing.forwardSeconds.min() ?? .nan
            let backward = timing.backwardSeconds.min() ?? .nan
            let gflops = timing.trainingGemmFlops / 1e9
            print(shape.name)
            print(String(format: "  sgemm 2048³ just before (%d threads): %.1f GFLOP/s", options.threads, peak))
            print(String(format: "  batch %d, T %d, %.1f M parameters, %.1f GFLOP (GEMM) per step",
                         shape.batch, shape.time, Double(timing.parameterCount) / 1e6, gflops))
            print(String(format: "  forward %.3f s + backward %.3f s = %.3f s/step best (median %.3f), %.1f GFLOP/s = %.0f%% of sgemm",
                         forward, backward, best, median, gflops / best, 100 * gflops / best / peak))
            print(String(format: "  + Adam update %.3f s and the NaN/Inf check %.3f s: %.3f s per training-loop step",
                         update.adam, update.check, best + update.adam + update.check))
        }
    }

    /// Best seconds of one Adam update (through `TrainingOptimizer`, as the loop runs it) and of
    /// the loop's finiteness scan of values and gradients, for a store of `parameterCount` floats.
    func timeUpdate(parameterCount: Int) -> (adam: Double, check: Double) {
        let store = ParameterStore()
        store.add("bench", shape: [parameterCount])
        var random = SplitMix64(seed: 4)
        for i in 0..<min(parameterCount, 1 << 16) { store.gradients[i] = Float(random.nextUniform()) - 0.5 }
        var optimizer = TrainingOptimizer.adam(parameterCount: parameterCount)
        var adam = Double.infinity, check = Double.infinity
        for i in 0...options.steps {
            let start = Date()
            optimizer.update(store, learningRate: 1e-4)
            let middle = Date()
            _ = store.firstNonFinite()
            let end = Date()
            if i > 0 {
                adam = min(adam, middle.timeIntervalSince(start))
                check = min(check, end.timeIntervalSince(middle))
            }
        }
        return (adam, check)
    }
}
