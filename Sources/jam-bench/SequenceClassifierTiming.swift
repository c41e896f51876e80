// shapes: cubes per branch [B, T, K, K, N_k] (random, non-negative as after a ReLU); labels [B].

import Dispatch
import JAMCore
import JAMDistributed
import JAMModel
import JAMNN

/// Times of one training step (forward + backward) of the sequence classifier.
struct SequenceClassifierStepTiming: Sendable {
    /// Seconds per repetition.
    var forwardSeconds: [Double]
    var backwardSeconds: [Double]
    /// The gradient all-reduce of each repetition (empty in a plain run).
    var allReduceSeconds: [Double] = []
    /// GEMM floating-point operations of one forward and of one training step (forward, the
    /// input-gradient GEMMs and the weight-gradient GEMMs: three times the forward's).
    var forwardGemmFlops: Double
    var trainingGemmFlops: Double
    var parameterCount: Int

    /// The fastest forward + backward, in seconds.
    var bestStepSeconds: Double {
        zip(forwardSeconds, backwardSeconds).map { $0 + $1 }.min() ?? .nan
    }

    /// The median forward + backward, in seconds.
    var medianStepSeconds: Double {
        let steps = zip(forwardSeconds, backwardSeconds).map { $0 + $1 }.sorted()
        return steps.isEmpty ? .nan : steps[steps.count / 2]
    }
}

/// One training step of the joint-attention LSTM, timed for `jam-bench lstm`.
enum SequenceClassifierTiming {
    /// Times `repetitions` training steps (after `warmup` untimed ones) on random cubes: zero the
    /// gradients, `forward`, `backward` (weight decay included), as a training loop does.
    ///
    /// Paper profile: `SequenceClassifierShape.paper(classCount: 101)`, `batchSize` 16, `steps` 30.
    static func timeTrainingStep(
        shape: SequenceClassifierShape, batchSize: Int, steps: Int,
        repetitions: Int = 3, warmup: Int = 1, seed: UInt64 = 1, communicator: any Communicator = SingleProcess()
    ) throws -> SequenceClassifierStepTiming {
        let model = try SequenceClassifier(shape: shape, seed: seed)
        var generator = SplitMix64(seed: seed ^ 0xC0FF_EE00)
        let s = shape.gridSize * shape.gridSize
        let cubes = shape.branchChannels.map { n in
            (0..<(batchSize * steps * s * n)).map { _ in (generator.nextUniform(bound: 1) + 1) / 2 }
        }
        let labels = (0..<batchSize).map { _ in Int(generator.next() % UInt64(shape.classCount)) }
        var timing = SequenceClassifierStepTiming(
            forwardSeconds: [], backwardSeconds: [],
            forwardGemmFlops: shape.forwardGemmFlops(batchSize: batchSize, steps: steps),
            trainingGemmFlops: 3 * shape.forwardGemmFlops(batchSize: batchSize, steps: steps),
            parameterCount: model.store.totalCount)
        for repetition in 0..<(warmup + repetitions) {
            model.store.zeroGradients()
            let start = DispatchTime.now().uptimeNanoseconds
            _ = try model.forward(cubes: cubes, labels: labels)
            let middle = DispatchTime.now().uptimeNanoseconds
            model.backward()
            let end = DispatchTime.now().uptimeNanoseconds
            if communicator.isDistributed {
                try communicator.sumAllReduce(&model.store.gradients)
            }
            let reduced = DispatchTime.now().uptimeNanoseconds
            if repetition >= warmup {
                timing.forwardSeconds.append(Double(middle - start) * 1e-9)
                timing.backwardSeconds.append(Double(end - middle) * 1e-9)
                if communicator.isDistributed { timing.allReduceSeconds.append(Double(reduced - end) * 1e-9) }
            }
        }
        return timing
    }
}

/// The slowest rank's median step of a data-parallel timing (every rank waits for it).
enum DataParallelTiming {
    static func slowest(_ timing: SequenceClassifierStepTiming, world: any Communicator) throws
        -> (step: Double, compute: Double, reduce: Double)
    {
        func median(_ values: [Double]) -> Double { values.isEmpty ? 0 : values.sorted()[values.count / 2] }
        let compute = median(zip(timing.forwardSeconds, timing.backwardSeconds).map { $0 + $1 })
        let reduce = median(timing.allReduceSeconds)
        let slowestCompute = Double(try world.maxAllReduce(Int(compute * 1e9))) / 1e9
        let slowestReduce = Double(try world.maxAllReduce(Int(reduce * 1e9))) / 1e9
        return (slowestCompute + slowestReduce, slowestCompute, slowestReduce)
    }
}
