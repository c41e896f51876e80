// shapes: cubes per branch [B, T, K, K, N_k]; probabilities [B, T, C]; attention [B, T, K·K].
//
// The Float model against the independent Double reference (`LSTMDoubleReference.swift`) on tiny
// sizes (B = 2, T = 3, H = 4, C = 3, K = 3 or 4, N = 3): same loss, probabilities and attention;
// every parameter entry's analytic gradient against central differences of the Double loss.

import Foundation
import JAMArtifacts
import JAMConfig
import JAMCore
import JAMModel
import JAMNN
import JAMReferenceSupport
import JAMTestSupport
import Testing

/// The shape of a classifier on `channels.count` branches of K×K cubes, with an `lstm` section of
/// H units and the given choices (everything else at its default).
func lstmShape(
    channels: [Int], grid: Int, hidden: Int, layers: Int, classes: Int, attention: LSTMAttentionSetting = .joint,
    first: LSTMFirstLayerSetting = .joint, fusion: LSTMFusion = .late, pyramid: Bool = true, weightDecay: Double = 1e-5
) -> SequenceClassifierShape {
    var s = LSTMSettings()
    (s.hidden, s.layers, s.attention, s.firstLayer, s.fusion, s.pyramid, s.weightDecay)
        = (hidden, layers, attention, first, fusion, pyramid, weightDecay)
    let branches = ["pool4", "conv5_3", "conv4_3"].prefix(channels.count).map { $0 }
    return SequenceClassifierShape(settings: s, geometry: CubesArtifact.Geometry(branches: branches, grid: grid, channels: channels),
                                   classCount: classes)
}

struct LSTMCheckCase: Sendable, CustomTestStringConvertible {
    let name: String
    let configuration: SequenceClassifierShape
    var testDescription: String { name }

    static func make(
        _ name: String, channels: [Int], grid: Int, layers: Int,
        attention: LSTMAttentionSetting, first: LSTMFirstLayerSetting, fusion: LSTMFusion, pyramid: Bool = true
    ) -> Self {
        Self(name: name, configuration: lstmShape(
            channels: channels, grid: grid, hidden: 4, layers: layers, classes: 3,
            attention: attention, first: first, fusion: fusion, pyramid: pyramid, weightDecay: 1e-3))
    }

    static let all: [Self] = [
        make("joint LSTM, early fusion, joint attention, K=3, L=2", channels: [3, 3], grid: 3, layers: 2,
             attention: .joint, first: .joint, fusion: .early),
        make("joint LSTM, late fusion, per-branch attention, K=4, L=2", channels: [3, 3], grid: 4, layers: 2,
             attention: .perBranch, first: .joint, fusion: .late),
        make("joint LSTM alone, late fusion, N=3 and 2, K=3, L=1", channels: [3, 2], grid: 3, layers: 1,
             attention: .joint, first: .joint, fusion: .late),
        make("mean pooling, late fusion, K=3, L=2", channels: [3, 3], grid: 3, layers: 2,
             attention: .none, first: .joint, fusion: .late),
        make("Sharma: one branch, standard LSTM, no pyramid, K=4, L=2", channels: [3], grid: 4, layers: 2,
             attention: .joint, first: .standard, fusion: .late, pyramid: false),
        make("standard LSTM on two branches, K=3, L=3", channels: [3, 3], grid: 3, layers: 3,
             attention: .joint, first: .standard, fusion: .late),
        // The plain stacked LSTM: every layer runs layer by layer (whole-sequence GEMMs).
        make("mean pooling, standard LSTM on two branches, K=3, L=3", channels: [3, 3], grid: 3, layers: 3,
             attention: .none, first: .standard, fusion: .late),
    ]
}

/// A model with parameters redrawn in ±0.5 (larger than the initial ones, so that every
/// nonlinearity bends), non-negative cubes as after a ReLU, and labels.
private func lstmTestProblem(
    _ configuration: SequenceClassifierShape, seed: UInt64, batch: Int = 2, steps: Int = 3
) throws -> (model: SequenceClassifier, cubes: [[Float]], labels: [Int]) {
    let model = try SequenceClassifier(shape: configuration, seed: seed)
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
        let model = try SequenceClassifier(shape: configuration, seed: 1)
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
        let again = try SequenceClassifier(shape: configuration, seed: 1)
        let other = try SequenceClassifier(shape: configuration, seed: 2)
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
            _ = try SequenceClassifier(shape: lstmShape(channels: [], grid: 3, hidden: 4, layers: 1, classes: 3), seed: 0)
        }
        #expect(throws: SequenceClassifierError.self) {
            _ = try SequenceClassifier(shape: lstmShape(channels: [3], grid: 3, hidden: 4, layers: 1, classes: 1), seed: 0)
        }
    }

    /// Per clip and step: attention H·S = 2·4, layer 1 (ΣD + H)·4H = (3 + 2)·8, output H·C = 2·2
    /// multiply-adds, counted by hand; 2 FLOPs each, B = 2 clips of T = 3 steps.
    @Test("GEMM FLOP count of a tiny classifier, by hand")
    func gemmFlops() {
        let shape = lstmShape(channels: [3], grid: 2, hidden: 2, layers: 1, classes: 2, first: .standard, pyramid: false)
        #expect(shape.forwardGemmFlops(batchSize: 2, steps: 3) == 2 * (8 + 40 + 4) * 2 * 3)
        // Joint first layer: sub-gates (D + H)·3D + 3D·H = 45 + 18 and the cell (ΣD + H)·H = 10;
        // a second layer 2H·4H = 32; with attention 8 and output 4: 117 per row.
        let joint = lstmShape(channels: [3], grid: 2, hidden: 2, layers: 2, classes: 2, first: .joint, pyramid: false)
        #expect(joint.forwardGemmFlops(batchSize: 1, steps: 1) == 2 * 117)
    }
}
