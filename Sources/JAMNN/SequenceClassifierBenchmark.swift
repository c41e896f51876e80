// shapes: cubes per branch [B, T, K, K, N_k] (random, non-negative as after a ReLU); labels [B].

import Dispatch

/// Times of one training step (forward + backward) of the sequence classifier.
public struct SequenceClassifierStepTiming: Sendable {
    /// Seconds per repetition.
    public var forwardSeconds: [Double]
    public var backwardSeconds: [Double]
    /// GEMM floating-point operations of one forward and of one training step (forward, the
    /// input-gradient GEMMs and the weight-gradient GEMMs: three times the forward's).
    public var forwardGemmFlops: Double
    public var trainingGemmFlops: Double
    public var parameterCount: Int

    /// The fastest forward + backward, in seconds.
    public var bestStepSeconds: Double {
        zip(forwardSeconds, backwardSeconds).map { $0 + $1 }.min() ?? .nan
    }

    /// The median forward + backward, in seconds.
    public var medianStepSeconds: Double {
        let steps = zip(forwardSeconds, backwardSeconds).map { $0 + $1 }.sorted()
        return steps.isEmpty ? .nan : steps[steps.count / 2]
    }
}

/// A benchmark entry for `jam-bench`: one training step of the joint-attention LSTM.
public enum SequenceClassifierBenchmark {
    /// Times `repetitions` training steps (after `warmup` untimed ones) on random cubes: zero the
    /// gradients, `forward`, `backward` (weight decay included), as a training loop does.
    ///
    /// Paper profile: `.paper(classCount: 101)`, `batchSize` 16, `steps` 30.
    public static func timeTrainingStep(
        configuration: SequenceClassifierConfiguration, batchSize: Int, steps: Int,
        repetitions: Int = 3, warmup: Int = 1, seed: UInt64 = 1
    ) throws -> SequenceClassifierStepTiming {
        let model = try SequenceClassifier(configuration: configuration, seed: seed)
        var generator = LSTMSplitMix64(seed: seed ^ 0xC0FF_EE00)
        let s = configuration.gridSize * configuration.gridSize
        let cubes = configuration.branchChannels.map { n in
            (0..<(batchSize * steps * s * n)).map { _ in (generator.nextUniform(bound: 1) + 1) / 2 }
        }
        let labels = (0..<batchSize).map { _ in Int(generator.next() % UInt64(configuration.classCount)) }
        var timing = SequenceClassifierStepTiming(
            forwardSeconds: [], backwardSeconds: [],
            forwardGemmFlops: forwardGemmFlops(configuration: configuration, batchSize: batchSize, steps: steps),
            trainingGemmFlops: 3 * forwardGemmFlops(configuration: configuration, batchSize: batchSize, steps: steps),
            parameterCount: model.store.totalCount)
        for repetition in 0..<(warmup + repetitions) {
            model.store.zeroGradients()
            let start = DispatchTime.now().uptimeNanoseconds
            _ = try model.forward(cubes: cubes, labels: labels)
            let middle = DispatchTime.now().uptimeNanoseconds
            model.backward()
            let end = DispatchTime.now().uptimeNanoseconds
            if repetition >= warmup {
                timing.forwardSeconds.append(Double(middle - start) * 1e-9)
                timing.backwardSeconds.append(Double(end - middle) * 1e-9)
            }
        }
        return timing
    }

    /// GEMM FLOPs (2 per multiply-add) of one forward over `batchSize` clips and `steps` steps.
    public static func forwardGemmFlops(
        configuration c: SequenceClassifierConfiguration, batchSize: Int, steps: Int
    ) -> Double {
        let h = Double(c.hiddenSize)
        let sizes = c.branchInputSizes.map(Double.init)
        let total = sizes.reduce(0, +)
        var perRow = 0.0
        if c.attention != .meanPooling {
            perRow += Double(c.attentionMapCount) * h * Double(c.gridSize * c.gridSize)
        }
        switch c.firstLayer {
        case .joint:
            for d in sizes { perRow += (d + h) * 3 * d + 3 * d * h }
            perRow += (total + h) * h
        case .standard:
            perRow += (total + h) * 4 * h
        }
        perRow += Double(c.layerCount - 1) * 2 * h * 4 * h
        perRow += h * Double(c.classCount)
        return 2 * perRow * Double(batchSize * steps)
    }
}
