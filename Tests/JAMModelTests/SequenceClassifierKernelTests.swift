// shapes: cubes per branch [B, T, K, K, N_k]; probabilities [B, T, C].
//
// The classifier at sizes where its per-step products take `SkinnyGEMM`'s AVX2 kernel (weight
// matrices of at least `SkinnyGEMM.minimumMatrixCount` floats; the tiny models of
// SequenceClassifierTests stay below it and run on OpenBLAS), against the Double reference.

import JAMConfig
import JAMCore
import JAMModel
import JAMReferenceSupport
import JAMTensor
import JAMTestSupport
import Testing

@Suite("The LSTM layers on JAM's step kernel, against the Double reference")
struct SequenceClassifierKernelTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let shape: SequenceClassifierShape
        /// Tensors whose products take the AVX2 kernel, checked by central differences.
        let checked: [String]
        var testDescription: String { name }
    }

    // Two branches of 2×2 cubes with 160 channels: D = 5·160 = 800 per branch, H = 512.
    static let cases: [Case] = [
        Case(name: "joint LSTM and joint attention, step by step",
             shape: lstmShape(channels: [160, 160], grid: 2, hidden: 512, layers: 2, classes: 3),
             checked: ["lstm.joint.branch0.W_sub", "lstm.joint.branch1.W_sub", "lstm.joint.W_cell", "lstm.layer2.W"]),
        Case(name: "standard LSTM and mean pooling, layer by layer",
             shape: lstmShape(channels: [160, 160], grid: 2, hidden: 512, layers: 2, classes: 3,
                              attention: .none, first: .standard),
             checked: ["lstm.layer1.W", "lstm.layer2.W"]),
    ]

    @Test(arguments: cases)
    func largeModelMatchesTheDoubleReference(_ check: Case) throws {
        let (batch, steps) = (2, 3)
        let model = try SequenceClassifier(shape: check.shape, seed: 7)
        // The products of these tensors' layers take JAM's kernel wherever the CPU has it.
        for name in check.checked {
            let view = try #require(model.store.views.first { $0.name == name })
            let expected: SkinnyGEMM.Kernel = SkinnyGEMM.cpuHasAVX2AndFMA ? .avx2 : .openBLAS
            #expect(SkinnyGEMM.kernel(rows: batch, matrixCount: view.count) == expected
                    || SkinnyGEMM.kernel == .openBLAS, "\(name) \(view.shape) does not reach the AVX2 kernel")
        }
        var random = LSTMTestRandom(seed: 11)
        let s = check.shape.gridSize * check.shape.gridSize
        let cubes = check.shape.branchChannels.map { random.floats(batch * steps * s * $0, 0, 1) }
        let labels = [0, 2]

        model.store.zeroGradients()
        let output = try model.forward(cubes: cubes, labels: labels)
        model.backward()
        let analytic = model.store.gradients
        var theta = model.store.values.map(Double.init)
        let cubesD = cubes.map { $0.map(Double.init) }
        func loss() -> Double {
            lstmReferenceForward(configuration: check.shape, store: model.store, theta: theta, cubes: cubesD,
                                 labels: labels).loss
        }
        let reference = lstmReferenceForward(configuration: check.shape, store: model.store, theta: theta,
                                             cubes: cubesD, labels: labels)
        #expect(abs(Double(output.loss) - reference.loss) <= 1e-5 * abs(reference.loss),
                "loss \(output.loss) vs reference \(reference.loss)")
        expectClose(output.probabilities, reference.probabilities, rtol: 1e-4, atol: 1e-6, "probabilities")

        // Per checked tensor: its three largest analytic entries and two drawn at random, against
        // central differences of the Double loss, relative to the tensor's largest gradient.
        let epsilon = 1e-5
        for name in check.checked {
            let view = try #require(model.store.views.first { $0.name == name })
            let entries = Array(view.offset..<(view.offset + view.count))
            let largest = entries.sorted { abs(analytic[$0]) > abs(analytic[$1]) }.prefix(3)
            let drawn = (0..<2).map { _ in view.offset + Int(random.next() % UInt64(view.count)) }
            let scale = Double(abs(analytic[largest.first!]))
            #expect(scale > 1e-6, "\(name) receives (almost) no gradient")
            var worst = 0.0
            for e in Array(largest) + drawn {
                let saved = theta[e]
                theta[e] = saved + epsilon
                let plus = loss()
                theta[e] = saved - epsilon
                let minus = loss()
                theta[e] = saved
                worst = max(worst, abs(Double(analytic[e]) - (plus - minus) / (2 * epsilon)) / scale)
            }
            print("[\(check.name)] \(name) \(view.shape): worst error / max |g| \(String(format: "%.2g", worst))")
            #expect(worst < 1e-3, "\(name): analytic vs central differences, relative error \(worst)")
        }
    }
}
