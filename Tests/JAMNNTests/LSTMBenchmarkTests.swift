// shapes: cubes per branch [B, T, K, K, N_k].

import Foundation
import JAMNN
import Testing

@Suite("Sequence classifier benchmark entry")
struct LSTMBenchmarkTests {
    @Test("times a tiny training step and counts its GEMM FLOPs")
    func tinyStep() throws {
        let configuration = SequenceClassifierConfiguration(
            branchChannels: [3], gridSize: 2, hiddenSize: 2, layerCount: 1, classCount: 2,
            attention: .joint, firstLayer: .standard, spatialPyramid: false)
        let timing = try SequenceClassifierBenchmark.timeTrainingStep(
            configuration: configuration, batchSize: 2, steps: 3, repetitions: 2)
        #expect(timing.forwardSeconds.count == 2 && timing.backwardSeconds.count == 2)
        #expect(timing.bestStepSeconds > 0 && timing.bestStepSeconds <= timing.medianStepSeconds)
        // Per clip and step: attention 2·4, layer 1 (3 + 2)·8, output 2·2 multiply-adds.
        #expect(timing.forwardGemmFlops == 2 * (8 + 40 + 4) * 2 * 3)
        #expect(timing.trainingGemmFlops == 3 * timing.forwardGemmFlops)
    }

    /// The paper's profile (2 branches of 11×11×256, 3 layers of 1024, T = 30, B = 16); runs only
    /// with JAM_LSTM_BENCHMARK=1 in the environment, as it takes seconds and ~1 GB.
    @Test("paper-profile training step", .enabled(if: ProcessInfo.processInfo.environment["JAM_LSTM_BENCHMARK"] != nil))
    func paperProfile() throws {
        for fusion in [JointLSTMFusion.late, .early] {
            var configuration = SequenceClassifierConfiguration.paper(classCount: 101)
            configuration.fusion = fusion
            let timing = try SequenceClassifierBenchmark.timeTrainingStep(
                configuration: configuration, batchSize: 16, steps: 30, repetitions: 3)
            let f = timing.forwardSeconds.map { String(format: "%.3f", $0) }.joined(separator: " ")
            let b = timing.backwardSeconds.map { String(format: "%.3f", $0) }.joined(separator: " ")
            print("[paper profile, \(fusion) fusion] \(timing.parameterCount) parameters; forward s: \(f); backward s: \(b); "
                  + "best step \(String(format: "%.3f", timing.bestStepSeconds)) s, median \(String(format: "%.3f", timing.medianStepSeconds)) s; "
                  + "GEMM \(String(format: "%.1f", timing.trainingGemmFlops / 1e9)) GFLOP/step = "
                  + "\(String(format: "%.0f", timing.trainingGemmFlops / timing.bestStepSeconds / 1e9)) GFLOP/s")
        }
    }
}
