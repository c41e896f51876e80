import Foundation
import JAMArtifacts
import JAMStages
import JAMTestSupport
import Testing

@Suite struct LSTMLearningTests {
    /// Four classes that differ only in the ORDER of the blob's positions (down, left, right, up
    /// across a 4×4 grid): the LSTM must use time. Held-out videos are predicted from the exported
    /// `clip_probabilities` (mean over each clip's last `vote_steps` steps and over clips).
    @Test func learnsMotionDirectionWellAboveChance() throws {
        try withTemporaryDirectory { dir in
            let fixture = try LSTMFixture(
                in: dir, lstm: lstmSection(hidden: 32, layers: 2, clip: 8, stride: 2, epochs: 25, batch: 8, learningRate: 0.01),
                trainPerClass: 16, testPerClass: 6, frames: 10, seed: 23)
            let start = Date()
            let report = try fixture.run(threads: 2)
            #expect(report.succeeded, "\(report.failures)")

            var correct = 0, total = 0
            for (path, label) in fixture.videos {
                let file = try HDF5File.open(at: fixture.attentionURL(path))
                guard try file.stringAttribute("subset") == "test" else { continue }
                let (p, shape) = try file.read("clip_probabilities", as: Float.self)
                let (clips, steps, classes) = (shape[0], shape[1], shape[2])
                var sums = [Float](repeating: 0, count: classes)
                for c in 0..<clips {
                    for t in (steps - 4)..<steps {
                        for j in 0..<classes { sums[j] += p[(c * steps + t) * classes + j] }
                    }
                }
                if sums.indices.max(by: { sums[$0] < sums[$1] }) == label { correct += 1 }
                total += 1
            }
            let accuracy = Double(correct) / Double(total)
            print("LSTM learning: held-out video accuracy \(correct)/\(total) = \(accuracy) (chance 0.25) "
                  + String(format: "in %.1f s", Date().timeIntervalSince(start)))
            #expect(total == 24)
            #expect(accuracy >= 0.75, "held-out accuracy \(accuracy), chance 0.25")
        }
    }
}
