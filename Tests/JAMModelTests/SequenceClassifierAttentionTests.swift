// shapes: attention maps [B, T, K·K]; biases [K·K].

import Foundation
import JAMConfig
import JAMModel
import JAMNN
import JAMReferenceSupport
import JAMTestSupport
import Testing

@Suite("Soft attention in the sequence classifier")
struct AttentionTests {
    private func softmax(_ z: [Float]) -> [Double] {
        let m = Double(z.max()!)
        let e = z.map { exp(Double($0) - m) }
        let s = e.reduce(0, +)
        return e.map { $0 / s }
    }

    @Test("att_0 = softmax(b_att) since h_{-1} = 0; maps are distributions; per-branch maps differ",
          arguments: [LSTMAttentionSetting.joint, .perBranch])
    func firstStepAndNormalisation(mode: LSTMAttentionSetting) throws {
        let shape = lstmShape(channels: [3, 3], grid: 3, hidden: 4, layers: 2, classes: 3, attention: mode, first: .joint, fusion: .late)
        let model = try SequenceClassifier(shape: shape, seed: 9)
        var random = LSTMTestRandom(seed: 4)
        let names = mode == .joint ? ["lstm.attention.b"] : ["lstm.attention.branch0.b", "lstm.attention.branch1.b"]
        var biases: [[Float]] = []
        for name in names {
            let view = try #require(model.store.view(named: name))
            let bias = random.floats(9, -2, 2)
            model.store.values.replaceSubrange(view.offset..<(view.offset + 9), with: bias)
            biases.append(bias)
        }
        let (batch, steps) = (2, 4)
        let cubes = (0..<2).map { _ in random.floats(batch * steps * 9 * 3, 0, 1) }
        let output = try model.forward(cubes: cubes, labels: [0, 2])
        #expect(output.attention.count == names.count)
        for (m, map) in output.attention.enumerated() {
            for b in 0..<batch {
                expectClose(map[(b * steps) * 9 ..< (b * steps + 1) * 9], softmax(biases[m]), rtol: 1e-5, atol: 1e-7,
                            "map \(m), clip \(b), t = 0")
                for t in 0..<steps {
                    let row = map[(b * steps + t) * 9 ..< (b * steps + t + 1) * 9]
                    #expect(abs(row.reduce(0, +) - 1) < 1e-5)
                    #expect(row.allSatisfy { $0 > 0 })
                }
            }
        }
        if mode == .perBranch {
            #expect(maxAbsDifference(output.attention[0], output.attention[1]) > 1e-3)
        }
        // Later steps depend on the clip (through h_{t-1}); the first does not.
        let map = output.attention[0]
        #expect(maxAbsDifference(map[9..<18], map[(steps + 1) * 9 ..< (steps + 2) * 9]) > 1e-6)
    }

    @Test("mean pooling gives the uniform map and no attention parameters")
    func meanPooling() throws {
        let shape = lstmShape(channels: [2], grid: 4, hidden: 3, layers: 1, classes: 2, attention: .none, first: .standard)
        let model = try SequenceClassifier(shape: shape, seed: 1)
        #expect(!model.store.views.contains { $0.name.hasPrefix("lstm.attention") })
        var random = LSTMTestRandom(seed: 2)
        let prediction = try model.predict(cubes: [random.floats(1 * 2 * 16 * 2, 0, 1)], batchSize: 1)
        #expect(prediction.attention.count == 1)
        #expect(prediction.attention[0].allSatisfy { $0 == 1.0 / 16 })
    }
}
