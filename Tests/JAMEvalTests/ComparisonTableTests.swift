import JAMEval
import Testing

@Suite struct ComparisonTableTests {
    /// A summary with the given top-1 per split (2 classes; one video per correct prediction).
    func summary(_ name: String, _ top1: [(String, Int, Int)]) throws -> MetricsSummary {
        let splits = try top1.map { split, correct, total in
            try SplitMetrics(split: split, outcomes: (0..<total).map { i in
                let predicted = i < correct ? i % 2 : 1 - i % 2
                return PredictionOutcome(trueLabel: i % 2, predictedLabel: predicted, top5: [predicted, 1 - predicted])
            }, classes: 2)
        }
        return try MetricsSummary(variant: name, classNames: ["a", "b"], rule: .vote, lastSteps: 4, splits: splits)
    }

    @Test func rowsAreVariantsAndColumnsSplitsThenTheMean() throws {
        let late = try summary("paper", [("split1", 3, 4), ("split2", 4, 4)])
        let early = try summary("paper,early-fusion", [("split1", 1, 4)])
        let table = ComparisonTable.render([("paper", late), ("paper,early-fusion", early)])
        let lines = table.split(separator: "\n").map(String.init)
        #expect(lines.count == 3)
        #expect(lines[0].hasPrefix("variant") && lines[0].contains("split1 top-1") && lines[0].contains("split2 top-1")
                && lines[0].contains("mean top-1"))
        // Hand-worked: 75% and 100% → mean 87.5%; early fusion has no split 2.
        #expect(lines[1].hasPrefix("paper ") && lines[1].contains("75.0%") && lines[1].contains("100.0%") && lines[1].contains("87.5%"))
        #expect(lines[2].hasPrefix("paper,early-fusion") && lines[2].contains("25.0%") && lines[2].contains(" - "))
        #expect(lines[1].contains("50.0%"))  // chance with 2 classes
        // Columns line up: every line equally long.
        #expect(Set(lines.map(\.count)).count == 1)
    }
}
