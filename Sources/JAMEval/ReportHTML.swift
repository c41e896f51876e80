// The HTML pieces of the report's index.html: the page, the accuracy table, per-class and
// misclassified tables, figures, and attention figures with their colour bars (inline SVG).
import Foundation

enum ReportHTML {
    static func page(title: String, top: String, sections: [String]) -> String {
        """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <title>\(Report.escape(title))</title>
        <style>
        body { font-family: sans-serif; margin: 2em; max-width: 1240px; }
        table { border-collapse: collapse; margin: 0.5em 0; }
        th, td { border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: left; }
        td.n { text-align: right; font-variant-numeric: tabular-nums; }
        figure { margin: 1em 0; }
        figcaption { max-width: 60em; }
        img { max-width: 100%; }
        img[src$=".png"] { image-rendering: pixelated; }
        .grid { display: flex; flex-wrap: wrap; gap: 0 1.5em; }
        .grid figure { margin: 0.5em 0; width: 600px; }
        pre { background: #f4f4f4; padding: 1em; overflow-x: auto; }
        .note { color: #a04000; }
        .banner { background: #fff1d6; border: 2px solid #d08000; padding: 0.8em 1em; margin: 1em 0; font-weight: bold; }
        .small { font-size: small; color: #666; }
        </style>
        </head>
        <body>
        <h1>\(Report.escape(title))</h1>
        \(top)\(sections.joined(separator: "\n"))
        </body>
        </html>

        """
    }

    /// The accuracy table (without a top-5 column when every variant has 5 classes or fewer)
    /// and what its columns mean.
    static func accuracySection(_ summaries: [MetricsSummary]) -> String {
        let rows = AccuracyTable.rows(summaries)
        let top5 = AccuracyTable.showsTop5(rows)
        let titles = AccuracyTable.columnTitles.filter { top5 || $0 != "top-5" }
        var table = "<table>\n<tr><th>variant / split</th>" + titles.map { "<th>\(Report.escape($0))</th>" }.joined()
            + "<th>videos</th></tr>\n"
        for row in rows {
            let values: [Double?] = top5 ? [row.top1, row.top5, row.meanClassAccuracy, row.chance]
                                         : [row.top1, row.meanClassAccuracy, row.chance]
            let cells = values.map { $0.map(AccuracyTable.percent) ?? "-" }
            table += "<tr><td>\(Report.escape(row.label))</td>" + cells.map { "<td class=\"n\">\($0)</td>" }.joined()
                + "<td class=\"n\">\(row.videoCount.map(String.init) ?? "-")</td></tr>\n"
        }
        table += "</table>"
        var html = "<h2>Accuracy</h2>\n\(table)\n<p>Mean class accuracy: the mean over classes of per-class recall, "
            + "over classes with at least one test video. Means over splits are plain means of the split figures. "
            + "Chance: 1/C.</p>"
        if let note = AccuracyTable.top5Note(rows) { html += "\n<p>\(Report.escape(note))</p>" }
        return html + trackingSection(summaries)
    }

    /// Whether the attention follows the moving object: per split the mean attention on the
    /// cells its box overlaps, the share of the grid those cells are, and their ratio.
    static func trackingSection(_ summaries: [MetricsSummary]) -> String {
        let rows = summaries.flatMap { s in (s.attentionTracking ?? []).map { (s.variant, $0) } }
        guard !rows.isEmpty else { return "" }
        var html = "\n<h2>Does the attention follow the object?</h2>\n<p>jam-synth records where its moving object is "
            + "in every frame. For each test step: the attention on the grid cells the object's box overlaps, and the "
            + "share of the grid those cells are (what uniform attention would put there). A ratio above 1 means the "
            + "attention prefers the object.</p>\n<table>\n<tr><th>variant / split</th><th>attention on the object</th>"
            + "<th>uniform</th><th>ratio</th><th>videos</th></tr>\n"
        for (variant, t) in rows {
            html += "<tr><td>\(Report.escape("\(variant) / \(t.split)"))</td>"
                + String(format: "<td class=\"n\">%.3f</td><td class=\"n\">%.3f</td><td class=\"n\">%.2f</td>",
                         t.score.mass, t.score.baseline, t.score.ratio)
                + "<td class=\"n\">\(t.videos)</td></tr>\n"
        }
        return html + "</table>"
    }

    static func figure(_ file: String, caption: String) -> String {
        figure(file, alt: caption, caption: caption)
    }

    /// A figure whose picture holds its own title (`alt`); `caption` under it when given.
    static func figure(_ file: String, alt: String, caption: String?) -> String {
        "<figure><img src=\"\(Report.escape(file))\" alt=\"\(Report.escape(alt))\">"
            + (caption.map { "<figcaption>\(Report.escape($0))</figcaption>" } ?? "") + "</figure>\n"
    }

    /// An attention strip, its colour bar (inline SVG: crisp, text set by the browser) and a
    /// caption with the video's range.
    static func attentionFigure(_ file: String, _ image: ReportImage) -> String {
        var html = "<figure><img src=\"\(Report.escape(file))\" alt=\"\(Report.escape(image.caption))\">"
        var caption = Report.escape(image.caption)
        if let scale = image.colorScale {
            let width = max(360, image.image.width)
            html += "\n<div>" + colorBar(scale: scale, title: "attention weight (this video's colour scale)", width: width)
                + "</div>"
            caption += "<br>" + Report.escape(scale.describe(locations: image.locations))
        }
        return html + "<figcaption>\(caption)</figcaption></figure>\n"
    }

    /// Per class: test videos and recall per split, in a collapsed `<details>`.
    static func perClassTable(_ s: MetricsSummary) -> String {
        var html = "<details><summary>Per-class accuracy: \(Report.escape(s.variant))</summary>\n<table>\n<tr><th>class</th>"
        html += s.splits.map { "<th>\(Report.escape($0.split)) videos</th><th>\(Report.escape($0.split)) recall</th>" }.joined()
        html += "</tr>\n"
        for (c, name) in s.classNames.enumerated() {
            html += "<tr><td>\(c) \(Report.escape(name))</td>"
            for split in s.splits {
                let videos = split.confusion[c].reduce(0, +)
                let recall = split.perClassAccuracy[c].map(AccuracyTable.percent) ?? "-"
                html += "<td class=\"n\">\(videos)</td><td class=\"n\">\(recall)</td>"
            }
            html += "</tr>\n"
        }
        return html + "</table></details>\n"
    }

    /// Lists open by default up to this many videos; longer ones start collapsed.
    static let openListLimit = 40

    /// Per split, the wrongly predicted test videos: true and predicted class, the clips' votes
    /// and the mean probabilities of both classes.
    static func misclassifiedSection(_ videos: [MisclassifiedVideo], summaries: [MetricsSummary]) -> String {
        guard let summary = summaries.first else { return "" }
        let names = summary.classNames
        func name(_ label: Int) -> String { names.indices.contains(label) ? names[label] : "class \(label)" }
        func percent(_ p: Float?) -> String { p.map { String(format: "%.1f%%", Double($0) * 100) } ?? "-" }
        var html = "<h2>Misclassified test videos</h2>\n<p>Votes: how many of the video's clips chose each class "
            + "(rule \(summary.rule.rawValue), last \(summary.lastSteps) steps of each clip); p: the class probability "
            + "averaged over every clip's voting window.</p>\n"
        for split in summary.splits {
            let wrong = videos.filter { $0.split == split.split }
            let open = wrong.count <= openListLimit ? " open" : ""
            html += "<details\(open)><summary>\(Report.escape(split.split)): \(wrong.count) of \(split.videoCount) "
                + "test videos misclassified</summary>\n"
            guard !wrong.isEmpty else { html += "</details>\n"; continue }
            html += "<table>\n<tr><th>video</th><th>true class</th><th>predicted</th><th>clip votes</th>"
                + "<th>p(true)</th><th>p(predicted)</th></tr>\n"
            for v in wrong {
                let clips = v.clipVotes.reduce(0, +)
                let votes = v.votesByClass.map { "\(name($0.label)) \($0.votes)" }.joined(separator: ", ")
                    + " (of \(clips) clip\(clips == 1 ? "" : "s"))"
                let probability = { (label: Int) in v.meanProbabilities.indices.contains(label) ? v.meanProbabilities[label] : nil }
                html += "<tr><td>\(Report.escape(v.video))</td><td>\(Report.escape(name(v.trueLabel)))</td>"
                    + "<td>\(Report.escape(name(v.predictedLabel)))</td><td>\(Report.escape(votes))</td>"
                    + "<td class=\"n\">\(percent(probability(v.trueLabel)))</td>"
                    + "<td class=\"n\">\(percent(probability(v.predictedLabel)))</td></tr>\n"
            }
            html += "</table></details>\n"
        }
        return html
    }
}
