// shapes: cubes per branch [B, T, K, K, N_k]; probabilities [B, T, C]; attention [B, T, K·K].
//
// The Float model against the independent Double reference (`LSTMDoubleReference.swift`) on tiny
// sizes (B = 2, T = 3, H = 4, C = 3, K = 3 or 4, N = 3): same loss, probabilities and attention;
// every parameter entry's analytic gradient against central differences of the Double loss.

import Foundation
import JAMNN
import JAMReferenceSupport
import JAMTestSupport
import Testing

struct LSTMCheckCase: Sendable, CustomTestStringConvertible {
    let name: String
    let configuration: SequenceClassifierConfiguration
    var testDescription: String { name }

    static func make(
        _ name: String, channels: [Int], grid: Int, layers: Int,
        attention: SequenceClassifierConfiguration.AttentionMode,
        first: SequenceClassifierConfiguration.FirstLayer, fusion: JointLSTMFusion, pyramid: Bool = true
    ) -> Self {
        Self(name: name, configuration: SequenceClassifierConfiguration(
            branchChannels: channels, gridSize: grid, hiddenSize: 4, layerCount: layers, classCount: 3,
            attention: attention, firstLayer: first, fusion: fusion, spatialPyramid: pyramid, weightDecay: 1e-3))
    }

    static let all: [Self] = [
        make("joint LSTM, early fusion, joint attention, K=3, L=2", channels: [3, 3], grid: 3, layers: 2,
             attention: .joint, first: .joint, fusion: .early),
        make("joint LSTM, late fusion, per-branch attention, K=4, L=2", channels: [3, 3], grid: 4, layers: 2,
             attention: .perBranch, first: .joint, fusion: .late),
        make("joint LSTM alone, late fusion, N=3 and 2, K=3, L=1", channels: [3, 2], grid: 3, layers: 1,
             attention: .joint, first: .joint, fusion: .late),
        make("mean pooling, late fusion, K=3, L=2", channels: [3, 3], grid: 3, layers: 2,
             attention: .meanPooling, first: .joint, fusion: .late),
        make("Sharma: one branch, standard LSTM, no pyramid, K=4, L=2", channels: [3], grid: 4, layers: 2,
             attention: .joint, first: .standard, fusion: .late, pyramid: false),
        make("standard LSTM on two branches, K=3, L=3", channels: [3, 3], grid: 3, layers: 3,
             attention: .joint, first: .standard, fusion: .late),
        // The plain stacked LSTM: every layer runs layer by layer (whole-sequence GEMMs).
        make("mean pooling, standard LSTM on two branches, K=3, L=3", channels: [3, 3], grid: 3, layers: 3,
             attention: .meanPooling, first: .standard, fusion: .late),
    ]
}

/// A model with parameters redrawn in ±0.5 (larger than the initial ones, so that every
/// nonlinearity bends), non-negative cubes as after a ReLU, and labels.
private func lstmTestProblem(
    _ configuration: SequenceClassifierConfiguration, seed: UInt64, batch: Int = 2, steps: Int = 3
) throws -> (model: SequenceClassifier, cubes: [[Float]], labels: [Int]) {
    let model = try SequenceClassifier(configuration: configuration, seed: seed)
    var random = LSTMTestRandom(seed: seed &+ 17)
    model.store.values = random.floats(model.store.totalCount, -0.5, 0.5)
    let s = configuration.gridSize * configuration.gridSize
    let cubes = configuration.branchChannels.map { random.floats(batch * steps * s * $0, 0, 1) }
    let labels = (0..<batch).map { _ in Int(random.next() % UInt64(configuration.classCount)) }
    return (model, cubes, labels)
}

@Suite("Joint-attention LSTM classifier against a Double reference")
struct LSTMSequenceClassifierTests {
    @Test("forward matches the Double reference", arguments: LSTMCheckCase.all)
    func forwardMatchesReference(_ check: LSTMCheckCase) throws {
        let (model, cubes, labels) = try lstmTestProblem(check.configuration, seed: 3)
        let output = try model.forward(cubes: cubes, labels: labels)
        let reference = lstmReferenceForward(
            configuration: check.configuration, store: model.store, theta: model.store.values.map(Double.init),
            cubes: cubes.map { $0.map(Double.init) }, labels: labels)
        // Float rounding over three steps of a few dozen-term sums: relative 1e-5 is ample.
        let lossError = abs(Double(output.loss) - reference.loss)
        print("[\(check.name)] loss Float \(output.loss) Double \(reference.loss) |diff| \(lossError)")
        #expect(lossError <= 1e-5 * abs(reference.loss), "loss \(output.loss) vs reference \(reference.loss)")
        #expect(abs(Double(output.crossEntropy) - reference.crossEntropy) <= 1e-5 * reference.crossEntropy)
        expectClose(output.probabilities, reference.probabilities, rtol: 1e-4, atol: 1e-6, "probabilities")
        #expect(output.attention.count == reference.attention.count)
        for (m, map) in output.attention.enumerated() {
            expectClose(map, reference.attention[m], rtol: 1e-4, atol: 1e-7, "attention map \(m)")
        }

        // Inference without the training cache gives the same numbers.
        let prediction = try model.predict(cubes: cubes, batchSize: labels.count)
        expectClose(prediction.probabilities, output.probabilities, rtol: 1e-6, atol: 1e-7, "predict probabilities")
        for (m, map) in prediction.attention.enumerated() {
            expectClose(map, output.attention[m], rtol: 1e-6, atol: 1e-7, "predict attention \(m)")
        }
    }

    @Test("backward matches central differences of the Double loss", arguments: LSTMCheckCase.all)
    func gradientsMatchCentralDifferences(_ check: LSTMCheckCase) throws {
        let (model, cubes, labels) = try lstmTestProblem(check.configuration, seed: 5)
        model.store.zeroGradients()
        _ = try model.forward(cubes: cubes, labels: labels)
        model.backward()
        let analytic = model.store.gradients

        var theta = model.store.values.map(Double.init)
        let cubesD = cubes.map { $0.map(Double.init) }
        let epsilon = 1e-6
        var worst = 0.0
        var lines: [String] = []
        for view in model.store.views {
            var maxDifference = 0.0, maxNumeric = 0.0, maxData = 0.0
            for e in view.offset..<(view.offset + view.count) {
                let saved = theta[e]
                theta[e] = saved + epsilon
                let plus = lstmReferenceForward(configuration: check.configuration, store: model.store, theta: theta,
                                                cubes: cubesD, labels: labels).loss
                theta[e] = saved - epsilon
                let minus = lstmReferenceForward(configuration: check.configuration, store: model.store, theta: theta,
                                                 cubes: cubesD, labels: labels).loss
                theta[e] = saved
                let numeric = (plus - minus) / (2 * epsilon)
                maxDifference = max(maxDifference, abs(Double(analytic[e]) - numeric))
                maxNumeric = max(maxNumeric, abs(numeric))
                // The cross-entropy's part, without the weight-decay term 2ζθ.
                maxData = max(maxData, abs(numeric - 2 * Double(check.configuration.weightDecay) * saved))
            }
            // Relative to the largest cross-entropy gradient of the tensor (entries near zero carry
            // no scale of their own, and the decay term alone would make the check too lenient).
            let relative = maxDifference / max(maxData, 1e-12)
            worst = max(worst, relative)
            lines.append("  \(view.name) \(view.shape): max |g| \(String(format: "%.3g", maxNumeric)), max |g_CE| \(String(format: "%.3g", maxData)), max error / max |g_CE| \(String(format: "%.2g", relative))")
            #expect(maxData > 1e-5, "\(view.name) receives (almost) no gradient from the cross-entropy")
            #expect(relative < 1e-3, "\(view.name): analytic vs central differences, relative error \(relative)")
        }
        print("[\(check.name)] every entry checked; worst relative error \(String(format: "%.2g", worst))\n"
              + lines.joined(separator: "\n"))
    }

    @Test("parameters carry readable names and the documented shapes")
    func parameterNames() throws {
        let configuration = LSTMCheckCase.all[1].configuration  // per-branch attention, K = 4, late
        let model = try SequenceClassifier(configuration: configuration, seed: 1)
        let shapes = Dictionary(uniqueKeysWithValues: model.store.views.map { ($0.name, $0.shape) })
        let (d, h, s) = (15, 4, 16)
        #expect(shapes["lstm.attention.branch1.W"] == [h, s])
        #expect(shapes["lstm.joint.branch0.W_sub"] == [d + h, 3 * d])
        #expect(shapes["lstm.joint.branch1.b_sub"] == [3 * d])
        #expect(shapes["lstm.joint.branch1.C"] == [d, h])
        #expect(shapes["lstm.joint.W_cell"] == [2 * d + h, h])
        #expect(shapes["lstm.layer2.W"] == [2 * h, 4 * h])
        #expect(shapes["lstm.output.W"] == [h, 3])
        // The same seed gives the same parameters; another seed does not.
        let again = try SequenceClassifier(configuration: configuration, seed: 1)
        let other = try SequenceClassifier(configuration: configuration, seed: 2)
        #expect(again.store.values == model.store.values)
        #expect(other.store.values != model.store.values)
        // Standard layers start with forget-gate bias 1.
        let bias = try #require(model.store.view(named: "lstm.layer2.b"))
        #expect(Array(model.store.values[(bias.offset + h)..<(bias.offset + 2 * h)]) == [1, 1, 1, 1])
        #expect(model.store.values[bias.offset] == 0)
    }

    @Test("mismatched inputs are refused with the reason")
    func refusesBadInputs() throws {
        let (model, cubes, labels) = try lstmTestProblem(LSTMCheckCase.all[0].configuration, seed: 7)
        #expect(throws: SequenceClassifierError.self) { try model.forward(cubes: [cubes[0]], labels: labels) }
        #expect(throws: SequenceClassifierError.self) {
            try model.forward(cubes: [cubes[0], Array(cubes[1].dropLast())], labels: labels)
        }
        #expect(throws: SequenceClassifierError.self) { try model.forward(cubes: cubes, labels: [0, 3]) }
        #expect(throws: SequenceClassifierError.self) {
            _ = try SequenceClassifier(configuration: SequenceClassifierConfiguration(
                branchChannels: [], gridSize: 3, hiddenSize: 4, layerCount: 1, classCount: 3), seed: 0)
        }
    }
}
