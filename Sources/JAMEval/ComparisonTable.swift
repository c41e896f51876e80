// Tests: Tests/JAMEvalTests/ComparisonTableTests.swift

/// Several finished variants side by side (`jam-eval --compare`): one row per variant, top-1 of
/// each split and their mean, then the mean class accuracy (mean over splits) and chance — the
/// shape of the paper's Tables 1–4.
public enum ComparisonTable {
    /// The table as text. Splits a variant did not evaluate show "-".
    public static func render(_ variants: [(name: String, summary: MetricsSummary)]) -> String {
        var splitNames: [String] = []
        for v in variants { for s in v.summary.splits where !splitNames.contains(s.split) { splitNames.append(s.split) } }
        let header = ["variant"] + splitNames.map { "\($0) top-1" } + ["mean top-1", "mean class acc.", "chance"]
        var rows: [[String]] = []
        for v in variants {
            let bySplit = Dictionary(uniqueKeysWithValues: v.summary.splits.map { ($0.split, $0.top1) })
            rows.append([v.name] + splitNames.map { bySplit[$0].map(AccuracyTable.percent) ?? "-" }
                        + [AccuracyTable.percent(v.summary.mean.top1), AccuracyTable.percent(v.summary.mean.meanClassAccuracy),
                           AccuracyTable.percent(v.summary.mean.chance)])
        }
        let widths = header.indices.map { c in ([header[c]] + rows.map { $0[c] }).map(\.count).max()! }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { c, cell in
                let pad = String(repeating: " ", count: widths[c] - cell.count)
                return c == 0 ? cell + pad : pad + cell
            }.joined(separator: "   ")
        }
        return ([line(header)] + rows.map(line)).joined(separator: "\n")
    }
}
