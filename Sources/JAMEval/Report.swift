// The evaluation report: a folder of SVG charts and PNG attention pictures, metrics.json,
// accuracy.txt and a self-contained index.html (relative links, inline CSS, no scripts).
import Foundation
import JAMCore

/// A chart of per-epoch curves (train loss, validation loss, accuracy ...).
public struct CurveFigure: Sendable, Equatable {
    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var series: [PlotSeries]

    public init(title: String, xLabel: String = "epoch", yLabel: String, series: [PlotSeries]) {
        (self.title, self.xLabel, self.yLabel, self.series) = (title, xLabel, yLabel, series)
    }
}

/// An already drawn image for the report with its caption, e.g. an `attentionStrip`.
public struct ReportImage: Sendable, Equatable {
    public var caption: String
    public var image: RGBImage

    public init(caption: String, image: RGBImage) {
        self.caption = caption
        self.image = image
    }
}

/// What goes into a report.
public struct ReportContent: Sendable, Equatable {
    public var title: String
    /// One per variant; each gets rows in the accuracy table and a confusion matrix (summed
    /// over its splits).
    public var summaries: [MetricsSummary]
    public var curves: [CurveFigure]
    /// Attention strips (Figure 6 style), in the order given.
    public var attention: [ReportImage]
    /// The pipeline configuration as JSON text, shown verbatim.
    public var configJSON: String
    /// Lines shown under the title, e.g. "VGG16: deterministic He initialisation (no weights file)".
    public var notes: [String]

    public init(
        title: String, summaries: [MetricsSummary], curves: [CurveFigure] = [], attention: [ReportImage] = [],
        configJSON: String = "", notes: [String] = []
    ) {
        self.title = title
        self.summaries = summaries
        self.curves = curves
        self.attention = attention
        self.configJSON = configJSON
        self.notes = notes
    }
}

/// Writes the evaluation report into a folder.
public enum Report {
    /// Writes the report into `folder` (created if missing) and returns the URL of its
    /// `index.html`. Files: `confusion-N-<variant>.svg`, `curves-N-<title>.svg`,
    /// `attention-N-<caption>.png`, `metrics.json` (the summaries, an array), `accuracy.txt`
    /// (the plain-text table) and `index.html`, which links them by relative paths. Every file
    /// is written atomically and `index.html` last, so a report with an index is complete.
    @discardableResult
    public static func write(to folder: URL, content: ReportContent) throws -> URL {
        var sections: [String] = []
        var files: [(name: String, data: Data)] = []

        let rows = AccuracyTable.rows(content.summaries)
        var table = "<table>\n<tr><th>variant / split</th>"
            + AccuracyTable.columnTitles.map { "<th>\(escape($0))</th>" }.joined() + "<th>videos</th></tr>\n"
        for row in rows {
            let cells = [row.top1, row.top5, row.meanClassAccuracy, row.chance].map(AccuracyTable.percent)
            table += "<tr><td>\(escape(row.label))</td>" + cells.map { "<td class=\"n\">\($0)</td>" }.joined()
                + "<td class=\"n\">\(row.videoCount.map(String.init) ?? "-")</td></tr>\n"
        }
        table += "</table>"
        sections.append("<h2>Accuracy</h2>\n\(table)\n<p>Mean class accuracy: the mean over classes of "
            + "per-class recall, over classes with at least one test video. Means over splits are plain "
            + "means of the split figures. Chance: 1/C.</p>")

        if !content.summaries.isEmpty {
            var html = "<h2>Confusion matrices</h2>\n"
            for (i, s) in content.summaries.enumerated() {
                let name = "confusion-\(i + 1)-\(slug(s.variant)).svg"
                let splits = s.splits.map(\.split).joined(separator: ", ")
                let title = "\(s.variant): \(s.splits.count == 1 ? splits : "sum of \(splits)")"
                files.append((name, Data(confusionMatrixPlot(confusion: s.mean.confusion, classNames: s.classNames,
                                                             title: title).utf8)))
                html += figure(name, caption: "\(title) (rows: true class, columns: predicted; "
                    + "rule \(s.rule.rawValue), last \(s.lastSteps) steps)")
                html += perClassTable(s)
            }
            sections.append(html)
        }

        if !content.curves.isEmpty {
            var html = "<h2>Training curves</h2>\n"
            for (i, c) in content.curves.enumerated() {
                let name = "curves-\(i + 1)-\(slug(c.title)).svg"
                files.append((name, Data(lineChart(series: c.series, title: c.title, xLabel: c.xLabel, yLabel: c.yLabel).utf8)))
                html += figure(name, caption: c.title)
            }
            sections.append(html)
        }

        if !content.attention.isEmpty {
            var html = "<h2>Attention</h2>\n"
            for (i, a) in content.attention.enumerated() {
                let name = "attention-\(i + 1)-\(slug(a.caption)).png"
                files.append((name, try PNGWriter.encode(a.image, what: folder.appendingPathComponent(name).path)))
                html += figure(name, caption: a.caption)
            }
            sections.append(html)
        }

        if !content.configJSON.isEmpty {
            sections.append("<h2>Configuration</h2>\n<pre>\(escape(content.configJSON))</pre>")
        }
        sections.append("<p class=\"small\">Files: <a href=\"metrics.json\">metrics.json</a>, "
            + "<a href=\"accuracy.txt\">accuracy.txt</a>. Written by JAM \(escape(jamVersion)).</p>")

        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        files.append(("metrics.json", try encoder.encode(content.summaries)))
        files.append(("accuracy.txt", Data(AccuracyTable.render(rows).utf8)))

        let notes = content.notes.map { "<p class=\"note\">\(escape($0))</p>\n" }.joined()
        let index = """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <title>\(escape(content.title))</title>
            <style>
            body { font-family: sans-serif; margin: 2em; max-width: 1200px; }
            table { border-collapse: collapse; margin: 0.5em 0; }
            th, td { border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: left; }
            td.n { text-align: right; font-variant-numeric: tabular-nums; }
            figure { margin: 1em 0; }
            img { max-width: 100%; }
            img[src$=".png"] { image-rendering: pixelated; }
            pre { background: #f4f4f4; padding: 1em; overflow-x: auto; }
            .note { color: #a04000; }
            .small { font-size: small; color: #666; }
            </style>
            </head>
            <body>
            <h1>\(escape(content.title))</h1>
            \(notes)\(sections.joined(separator: "\n"))
            </body>
            </html>

            """
        for file in files {
            try AtomicFile.write(file.data, to: folder.appendingPathComponent(file.name))
        }
        // Figures of an earlier run that this one did not remake (fewer splits, renamed variants).
        let written = Set(files.map(\.name))
        for name in (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        where ["png", "svg"].contains((name as NSString).pathExtension) && !written.contains(name) {
            try? FileManager.default.removeItem(at: folder.appendingPathComponent(name))
        }
        let indexURL = folder.appendingPathComponent("index.html")
        try AtomicFile.write(index, to: indexURL)
        return indexURL
    }

    /// `s` with `&`, `<`, `>` and `"` escaped for HTML text and attribute values.
    public static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.count)
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(c)
            }
        }
        return out
    }

    /// A file-name-safe form of `s`: lowercase ASCII letters and digits, other runs as `-`,
    /// at most 40 characters (`"Joint / late (λ=1000)"` → `"joint-late-1000"`).
    public static func slug(_ s: String) -> String {
        var out = ""
        for c in s.lowercased() {
            if let a = c.asciiValue, (a >= 97 && a <= 122) || (a >= 48 && a <= 57) {
                out.append(c)
            } else if !out.isEmpty && !out.hasSuffix("-") {
                out.append("-")
            }
        }
        while out.hasSuffix("-") { out.removeLast() }
        let short = String(out.prefix(40))
        return short.isEmpty ? "figure" : short
    }

    private static func figure(_ file: String, caption: String) -> String {
        "<figure><img src=\"\(escape(file))\" alt=\"\(escape(caption))\"><figcaption>\(escape(caption))</figcaption></figure>\n"
    }

    /// Per class: test videos and recall per split, in a collapsed `<details>`.
    private static func perClassTable(_ s: MetricsSummary) -> String {
        var html = "<details><summary>Per-class accuracy: \(escape(s.variant))</summary>\n<table>\n<tr><th>class</th>"
        html += s.splits.map { "<th>\(escape($0.split)) videos</th><th>\(escape($0.split)) recall</th>" }.joined()
        html += "</tr>\n"
        for (c, name) in s.classNames.enumerated() {
            html += "<tr><td>\(c) \(escape(name))</td>"
            for split in s.splits {
                let videos = split.confusion[c].reduce(0, +)
                let recall = split.perClassAccuracy[c].map(AccuracyTable.percent) ?? "-"
                html += "<td class=\"n\">\(videos)</td><td class=\"n\">\(recall)</td>"
            }
            html += "</tr>\n"
        }
        return html + "</table></details>\n"
    }
}
