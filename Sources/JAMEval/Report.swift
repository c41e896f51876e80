// The evaluation report: a folder of SVG charts and PNG attention pictures, metrics.json,
// accuracy.txt and a self-contained index.html (relative links, inline CSS and SVG, no scripts),
// published whole: built under a temporary name, then renamed into place.
import Foundation
import JAMCore

/// A chart of per-epoch curves (train loss, validation loss, accuracy ...).
public struct CurveFigure: Sendable, Equatable {
    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var series: [PlotSeries]
    /// Shown under the chart when set (the title is in the chart itself).
    public var caption: String?

    public init(title: String, xLabel: String = "epoch", yLabel: String, series: [PlotSeries], caption: String? = nil) {
        (self.title, self.xLabel, self.yLabel, self.series, self.caption) = (title, xLabel, yLabel, series, caption)
    }
}

/// An already drawn image for the report with its caption, e.g. an `attentionStrip`.
public struct ReportImage: Sendable, Equatable {
    public var caption: String
    public var image: RGBImage
    /// The colour scale the picture is painted in: the report draws its colour bar under it
    /// and prints its range (nil: none).
    public var colorScale: AttentionColorScale?
    /// K², the locations an attention map weighs: the report says what uniform would be.
    public var locations: Int?

    public init(caption: String, image: RGBImage, colorScale: AttentionColorScale? = nil, locations: Int? = nil) {
        self.caption = caption
        self.image = image
        self.colorScale = colorScale
        self.locations = locations
    }
}

/// How the evaluated model looks at the K×K locations, which decides the attention section.
public enum AttentionKind: Sendable, Equatable {
    /// Learned attention: the report shows maps (`ReportContent.attention`).
    case learned
    /// `lstm.attention: none`: the model mean-pools the locations (weight 1/K² each), so there is
    /// no map to show and the report says so. `locations`: K², when known.
    case meanPooling(locations: Int?)
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
    public var attentionKind: AttentionKind
    /// The test videos predicted wrongly, every split, with their votes.
    public var misclassified: [MisclassifiedVideo]
    /// The VGG16 the features came from, as the features digest records it (`he-init:<seed>`
    /// for a randomly initialised network, `keras:sha256:…` for a weights file); a random one
    /// puts a banner at the top. nil: not known.
    public var featuresWeights: String?
    /// The pipeline configuration as JSON text, shown verbatim.
    public var configJSON: String
    /// Lines shown under the title (failed videos, for example).
    public var notes: [String]

    public init(
        title: String, summaries: [MetricsSummary], curves: [CurveFigure] = [], attention: [ReportImage] = [],
        attentionKind: AttentionKind = .learned, misclassified: [MisclassifiedVideo] = [], featuresWeights: String? = nil,
        configJSON: String = "", notes: [String] = []
    ) {
        self.title = title
        self.summaries = summaries
        self.curves = curves
        self.attention = attention
        self.attentionKind = attentionKind
        self.misclassified = misclassified
        self.featuresWeights = featuresWeights
        self.configJSON = configJSON
        self.notes = notes
    }
}

/// Writes the evaluation report into a folder.
public enum Report {
    /// Writes the report as the folder `folder` and returns the URL of its `index.html`. Files:
    /// `confusion-N-<variant>.svg`, `curves-N-<title>.svg`, `attention-N-<caption>.png`,
    /// `metrics.json` (the summaries, an array), `accuracy.txt` (the plain-text table) and
    /// `index.html`, which links them by relative paths.
    ///
    /// The folder is built under a temporary sibling name (`<folder>.tmp-<host>-<pid>-<random>`) and
    /// renamed into place when complete, replacing an earlier report whole: a rerun leaves none
    /// of the earlier run's files, and a killed run leaves only a temporary folder, never a
    /// half-written report under the final name. Temporary folders of writers no longer
    /// running are swept first.
    @discardableResult
    public static func write(to folder: URL, content: ReportContent) throws -> URL {
        let parent = folder.deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: parent, withIntermediateDirectories: true)
        } catch {
            throw JAMError("cannot create the report's parent folder: \(error.localizedDescription)", file: parent.path)
        }
        AtomicFile.removeStaleTemporaries(in: parent)
        let staging = AtomicFile.temporaryURL(for: folder)
        var published = false
        defer { if !published { try? FileManager.default.removeItem(at: staging) } }
        do {
            try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: false)
        } catch {
            throw JAMError("cannot create the report's temporary folder: \(error.localizedDescription)", file: staging.path)
        }
        for (name, data) in try files(content, folder: folder) {
            try AtomicFile.write(data, to: staging.appendingPathComponent(name))
        }
        try publish(staging, as: folder)
        published = true
        return folder.appendingPathComponent("index.html")
    }

    /// Renames the finished `staging` folder to `folder`. An existing `folder` is first renamed
    /// to a temporary name, then deleted: between the two renames a reader finds no report,
    /// never a mixture; a crash there leaves the old report as a temporary the next run sweeps.
    static func publish(_ staging: URL, as folder: URL) throws {
        let fm = FileManager.default
        var old: URL?
        if fm.fileExists(atPath: folder.path) {
            let aside = AtomicFile.temporaryURL(for: folder)
            guard rename(folder.path, aside.path) == 0 else {
                throw JAMError("cannot move the earlier report aside: \(String(cString: strerror(errno)))", file: folder.path)
            }
            old = aside
        }
        guard rename(staging.path, folder.path) == 0 else {
            let reason = String(cString: strerror(errno))
            if let old { _ = rename(old.path, folder.path) }
            throw JAMError("cannot rename the finished report into place: \(reason)", file: folder.path)
        }
        let dir = open(folder.deletingLastPathComponent().path, O_RDONLY | O_CLOEXEC)
        if dir >= 0 {
            _ = fsync(dir)  // best effort, as AtomicFile.commit
            close(dir)
        }
        if let old { try? fm.removeItem(at: old) }
    }

    /// Every file of the report, `index.html` last.
    static func files(_ content: ReportContent, folder: URL) throws -> [(name: String, data: Data)] {
        var sections: [String] = []
        var files: [(name: String, data: Data)] = []

        sections.append(ReportHTML.accuracySection(content.summaries))
        if !content.summaries.isEmpty {
            var html = "<h2>Confusion matrices</h2>\n"
            for (i, s) in content.summaries.enumerated() {
                let name = "confusion-\(i + 1)-\(slug(s.variant)).svg"
                let splits = s.splits.map(\.split).joined(separator: ", ")
                let title = "\(s.variant): \(s.splits.count == 1 ? splits : "sum of \(splits)")"
                files.append((name, Data(confusionMatrixPlot(confusion: s.mean.confusion, classNames: s.classNames,
                                                             title: title).utf8)))
                html += ReportHTML.figure(name, caption: "\(title) (rows: true class, columns: predicted; "
                    + "rule \(s.rule.rawValue), last \(s.lastSteps) steps)")
                html += ReportHTML.perClassTable(s)
            }
            sections.append(html)
            sections.append(ReportHTML.misclassifiedSection(content.misclassified, summaries: content.summaries))
        }

        if !content.curves.isEmpty {
            var html = "<h2>Training curves</h2>\n<p>Every round of each trained stage, in its own colour (r1, r2, …): "
                + "training solid, validation (the split's test videos) dashed. The attention-regularisation "
                + "term of the 3D convnet has its own chart; rounds with λ = 0 do not log it.</p>\n<div class=\"grid\">\n"
            for (i, c) in content.curves.enumerated() {
                let name = "curves-\(i + 1)-\(slug(c.title)).svg"
                files.append((name, Data(lineChart(series: c.series, title: c.title, xLabel: c.xLabel, yLabel: c.yLabel).utf8)))
                html += ReportHTML.figure(name, alt: c.title, caption: c.caption)
            }
            sections.append(html + "</div>")
        }

        switch content.attentionKind {
        case .meanPooling(let locations):
            let weight = locations.map { " (weight 1/\($0) each)" } ?? ""
            sections.append("<h2>Attention</h2>\n<p class=\"note\">This model has no attention maps: with "
                + "<code>lstm.attention: none</code> the LSTM mean-pools the feature cube over its locations"
                + "\(weight), so every map would be uniform and none is shown.</p>")
        case .learned where !content.attention.isEmpty:
            var html = "<h2>Attention</h2>\n"
            for (i, a) in content.attention.enumerated() {
                let name = "attention-\(i + 1)-\(slug(a.caption)).png"
                files.append((name, try PNGWriter.encode(a.image, what: folder.appendingPathComponent(name).path)))
                html += ReportHTML.attentionFigure(name, a)
            }
            sections.append(html)
        case .learned:
            break
        }

        if !content.configJSON.isEmpty {
            sections.append("<h2>Configuration</h2>\n<details><summary>The settings this evaluation ran with "
                + "(every key, defaults filled in)</summary>\n<pre>\(escape(content.configJSON))</pre></details>")
        }
        sections.append("<p class=\"small\">Files: <a href=\"metrics.json\">metrics.json</a>, "
            + "<a href=\"accuracy.txt\">accuracy.txt</a>. Written by JAM \(escape(jamVersion)).</p>")

        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        files.append(("metrics.json", try encoder.encode(content.summaries)))
        files.append(("accuracy.txt", Data(AccuracyTable.render(content.summaries).utf8)))
        var top = content.notes.map { "<p class=\"note\">\(escape($0))</p>\n" }.joined()
        if let banner = randomFeaturesBanner(weightsIdentity: content.featuresWeights) {
            top = "<div class=\"banner\">\(escape(banner))</div>\n" + top
        }
        files.append(("index.html", Data(ReportHTML.page(title: content.title, top: top, sections: sections).utf8)))
        return files
    }

    /// The banner's text when the features came from a randomly initialised VGG16 (the
    /// identity `he-init:<seed>` that jam-features records), else nil.
    public static func randomFeaturesBanner(weightsIdentity: String?) -> String? {
        guard let identity = weightsIdentity, identity.hasPrefix("he-init:") else { return nil }
        return "These features come from a randomly initialised VGG16 (\(identity)), not from ImageNet weights: "
            + "the accuracy below says how the pipeline runs, not how the paper's model performs. "
            + "Set features.weights to the Keras VGG16 notop file and rerun from jam-features."
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
}
