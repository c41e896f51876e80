import Foundation
import JAMEval
import JAMTestSupport
import Testing

@Suite struct MetricsTests {
    /// Four classes, six videos; class 3 has no test video.
    ///   true 0 → 0, 0, 1   (recall 2/3)
    ///   true 1 → 1, 2      (recall 1/2)
    ///   true 2 → 2         (recall 1)
    static let outcomes: [(trueLabel: Int, predictedLabel: Int, top5: [Int])] = [
        (0, 0, [0, 1, 2, 3]),
        (0, 0, [0, 2, 1, 3]),
        (0, 1, [1, 0, 2, 3]),        // top-5 hit
        (1, 1, [1, 0, 2, 3]),
        (1, 2, [2, 2, 3, 3, 0, 1]),  // true class only at position 6: a top-5 miss
        (2, 2, [2, 0, 1, 3]),
    ]

    @Test func handWorkedSplit() throws {
        let m = try SplitMetrics(split: "split1", outcomes: Self.outcomes, classes: 4)
        #expect(m.videoCount == 6)
        #expect(m.confusion == [[2, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 0], [0, 0, 0, 0]])
        expectClose([m.top1, m.top5, m.chance], [4.0 / 6, 5.0 / 6, 0.25], "top-1, top-5, chance")
        // Class 3 is left out, not counted as 0: (2/3 + 1/2 + 1) / 3.
        expectClose([m.meanClassAccuracy], [(2.0 / 3 + 0.5 + 1) / 3], "mean class accuracy")
        #expect(m.perClassAccuracy[3] == nil)
        expectClose(m.perClassAccuracy.prefix(3).map { $0! }, [2.0 / 3, 0.5, 1], "per class")
    }

    @Test func averageOverSplitsIsThePlainMean() throws {
        let first = try SplitMetrics(split: "split1", outcomes: Self.outcomes, classes: 4)
        // Split 2: two videos, one right (top-1 0.5, top-5 1.0, mean class (1 + 0) / 2).
        let second = try SplitMetrics(split: "split2", outcomes: [
            PredictionOutcome(trueLabel: 3, predictedLabel: 3, top5: [3]),
            PredictionOutcome(trueLabel: 0, predictedLabel: 2, top5: [2, 0]),
        ], classes: 4)
        let names = ["a", "b", "c", "d"]
        let summary = try MetricsSummary(variant: "joint", classNames: names, rule: .vote, lastSteps: 16, splits: [first, second])
        expectClose([summary.mean.top1, summary.mean.top5, summary.mean.meanClassAccuracy],
                    [(4.0 / 6 + 0.5) / 2, (5.0 / 6 + 1) / 2, ((2.0 / 3 + 0.5 + 1) / 3 + 0.5) / 2], "means")
        #expect(summary.mean.videoCount == 8)
        #expect(summary.mean.confusion == [[2, 1, 1, 0], [0, 1, 1, 0], [0, 0, 1, 0], [0, 0, 0, 1]])

        // Four classes: top-5 says nothing (a real top 5 holds every class), so it is left out.
        let table = AccuracyTable.render([summary])
        let lines = table.split(separator: "\n")
        #expect(lines.count == 5)  // header, two splits, mean, the note
        #expect(lines[0] == "variant / split      top-1  mean class   chance")
        #expect(lines[1].hasPrefix("joint / split1"))
        #expect(lines[1].hasSuffix("66.7%       72.2%    25.0%"))
        #expect(lines[3].hasPrefix("joint / mean of 2"))
        #expect(lines[3].contains("58.3%"))
        #expect(lines[4].hasPrefix("Top-5 omitted: with 5 classes or fewer"))
        // Given rows keep the column: a row without top-5 shows "-".
        let rows = [AccuracyRow(label: "a", top1: 0.5, top5: 0.75, meanClassAccuracy: 0.5, chance: 0.1),
                    AccuracyRow(label: "b", top1: 0.5, top5: nil, meanClassAccuracy: 0.5, chance: 0.25)]
        let mixed = AccuracyTable.render(rows).split(separator: "\n")
        #expect(mixed[0].contains("top-5") && mixed[1].contains("75.0%") && mixed[2].contains("    -  "))
    }

    @Test func summaryRoundTripsThroughJSON() throws {
        let split = try SplitMetrics(split: "split1", outcomes: Self.outcomes, classes: 4)
        let summary = try MetricsSummary(variant: "v", classNames: ["a", "b", "c", "d"], rule: .meanProbability,
                                         lastSteps: 8, splits: [split])
        try withTemporaryDirectory { dir in
            let url = dir.appendingPathComponent("metrics.json")
            try summary.write(to: url)
            #expect(try MetricsSummary.read(from: url) == summary)
            // A class without test videos is written as null, not as 0.
            let text = try String(contentsOf: url, encoding: .utf8)
            #expect(text.contains("null"))
        }
    }

    @Test func badOutcomesAreRejected() {
        #expect(throws: (any Error).self) { try SplitMetrics(split: "s", outcomes: [PredictionOutcome](), classes: 3) }
        #expect(throws: (any Error).self) {
            try SplitMetrics(split: "s", outcomes: [PredictionOutcome(trueLabel: 3, predictedLabel: 0, top5: [0])], classes: 3)
        }
        #expect(throws: (any Error).self) {
            try SplitMetrics(split: "s", outcomes: [PredictionOutcome(trueLabel: 0, predictedLabel: 0, top5: [0, -1])], classes: 3)
        }
    }
}
