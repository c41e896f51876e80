import Foundation
import JAMCore
import JAMEval
import JAMTestSupport
import Testing

@Suite struct ReportTests {
    func sampleContent() throws -> ReportContent {
        let names = ["Walk<Left>", "WalkRight", "Spin & Turn"]
        let splits = try (1...2).map { s in
            try SplitMetrics(split: "split\(s)", outcomes: [
                PredictionOutcome(trueLabel: 0, predictedLabel: 0, top5: [0, 1, 2]),
                PredictionOutcome(trueLabel: 1, predictedLabel: s == 1 ? 1 : 0, top5: [0, 1, 2]),
                PredictionOutcome(trueLabel: 2, predictedLabel: 2, top5: [2, 0, 1]),
            ], classes: 3)
        }
        let summary = try MetricsSummary(variant: "joint / late", classNames: names, rule: .vote, lastSteps: 16, splits: splits)
        let frames = (0..<2).map { _ in RGBImage(width: 16, height: 16, background: .gray) }
        let strip = try attentionStrip(frames: frames, attention: [[1, 0, 0, 0], [0, 0, 0, 1]], gridSize: 2)
        return ReportContent(
            title: "Synthetic actions",
            summaries: [summary],
            curves: [CurveFigure(title: "Loss", yLabel: "loss", series: [
                PlotSeries(name: "train", values: [1.1, 0.7, 0.5]), PlotSeries(name: "val", values: [1.2, 0.9, 0.8]),
            ])],
            attention: [ReportImage(caption: "video 3: Walk<Left>", image: strip)],
            configJSON: "{\"note\": \"a < b\"}",
            notes: ["VGG16: deterministic He initialisation"])
    }

    @Test func folderHasIndexLinkingFilesThatExist() throws {
        let content = try sampleContent()
        try withTemporaryDirectory { dir in
            let folder = dir.appendingPathComponent("report")
            let index = try Report.write(to: folder, content: content)
            #expect(index.lastPathComponent == "index.html")
            let html = try String(contentsOf: index, encoding: .utf8)
            let pattern = try NSRegularExpression(pattern: "(?:src|href)=\"([^\"]+)\"")
            let links = pattern.matches(in: html, range: NSRange(html.startIndex..., in: html)).map {
                String(html[Range($0.range(at: 1), in: html)!])
            }
            #expect(links.filter { $0.hasSuffix(".svg") }.count == 2)  // confusion, curves
            #expect(links.filter { $0.hasSuffix(".png") }.count == 1)  // attention
            #expect(links.contains("metrics.json") && links.contains("accuracy.txt"))
            for link in links {
                #expect(!link.contains("/"), "relative, in the folder: \(link)")
                let url = folder.appendingPathComponent(link)
                #expect(FileManager.default.fileExists(atPath: url.path), "\(link) exists")
                if link.hasSuffix(".png") {
                    #expect(try Data(contentsOf: url).prefix(4) == Data([0x89, 0x50, 0x4E, 0x47]))
                }
                if link.hasSuffix(".svg") {
                    #expect(try String(contentsOf: url, encoding: .utf8).hasPrefix("<svg xmlns=\"http://www.w3.org/2000/svg\""))
                }
            }
            // Escaped text, the config verbatim, no scripts, no temporaries left.
            #expect(html.contains("a &lt; b") && html.contains("Walk&lt;Left&gt;") && !html.contains("<script"))
            #expect(html.contains("joint / late / mean of 2") && html.contains("83.3%") && html.contains("<td class=\"n\">6</td>"))
            let files = try FileManager.default.contentsOfDirectory(atPath: folder.path)
            #expect(!files.contains(where: AtomicFile.isTemporaryName))
            // A rerun with fewer figures leaves none of the earlier run's behind.
            var fewer = content
            fewer.curves = []
            try Report.write(to: folder, content: fewer)
            let after = try FileManager.default.contentsOfDirectory(atPath: folder.path)
            #expect(!after.contains { $0.hasPrefix("curves-") } && after.contains { $0.hasPrefix("confusion-") })
            let decoded = try JSONDecoder().decode([MetricsSummary].self, from: Data(contentsOf: folder.appendingPathComponent("metrics.json")))
            #expect(decoded == content.summaries)
            let table = try String(contentsOf: folder.appendingPathComponent("accuracy.txt"), encoding: .utf8)
            #expect(table == AccuracyTable.render(content.summaries))
        }
    }

    /// The names in `folder`, sorted.
    func listing(_ folder: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
    }

    @Test func aRerunReplacesTheFolderWholeAndSweepsTemporaries() throws {
        let content = try sampleContent()
        try withTemporaryDirectory { dir in
            let folder = dir.appendingPathComponent("report")
            // A temporary report folder of a writer that died (no such pid), and a stray file
            // in an earlier report: neither survives the next run.
            let stale = dir.appendingPathComponent("report\(AtomicFile.temporaryMarker)2147483646-dead")
            try FileManager.default.createDirectory(at: stale, withIntermediateDirectories: true)
            try Data("half".utf8).write(to: stale.appendingPathComponent("index.html"))
            try Report.write(to: folder, content: content)
            #expect(try listing(dir) == ["report"])
            try Data("old".utf8).write(to: folder.appendingPathComponent("curves-9-old.svg"))

            var fewer = content
            fewer.curves = []
            try Report.write(to: folder, content: fewer)
            #expect(try listing(dir) == ["report"], "no temporary folder next to the report")
            #expect(try listing(folder) == ["accuracy.txt", "attention-1-video-3-walk-left.png", "confusion-1-joint-late.svg",
                                            "index.html", "metrics.json"])
        }
    }

    @Test func randomFeaturesPutABannerOnTop() throws {
        var content = try sampleContent()
        content.featuresWeights = "he-init:16"
        let random = try html(content)
        #expect(random.contains("<div class=\"banner\">") && random.contains("randomly initialised VGG16 (he-init:16)"))
        #expect(random.range(of: "class=\"banner\"")!.lowerBound < random.range(of: "<h2>Accuracy")!.lowerBound)
        content.featuresWeights = "keras:sha256:0123abcd vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
        #expect(!(try html(content)).contains("class=\"banner\""))
        #expect(Report.randomFeaturesBanner(weightsIdentity: nil) == nil)
    }

    @Test func meanPoolingSaysSoInsteadOfMaps() throws {
        var content = try sampleContent()
        content.attentionKind = .meanPooling(locations: 16)
        let page = try html(content)
        #expect(page.contains("mean-pools") && page.contains("weight 1/16 each") && !page.contains("src=\"attention-"))
        content.attentionKind = .learned
        #expect(!(try html(content)).contains("mean-pools"))
    }

    @Test func attentionFiguresCarryTheirColourBarAndRange() throws {
        var content = try sampleContent()
        content.attention[0].colorScale = AttentionColorScale(low: 0.00819, high: 0.00836)
        content.attention[0].locations = 36
        let page = try html(content)
        #expect(page.contains("<svg xmlns=\"http://www.w3.org/2000/svg\"") && page.contains(">0.00819</text>"))
        #expect(page.contains("0.00819 (dark blue) to 0.00836 (dark red)") && page.contains("Nearly uniform"))
    }

    @Test func curvesOfEveryRoundAreLabelled() throws {
        var content = try sampleContent()
        content.curves = TrainingCurves.figures(StageTrainingLogs(stage: "LSTM", split: nil, rounds: [
            (1, [TrainingLogEpoch(epoch: 0, train: ["loss": 2], validation: ["loss": 2.5])]),
            (2, [TrainingLogEpoch(epoch: 0, train: ["loss": 1], validation: ["loss": 1.5])]),
        ]))
        try withTemporaryDirectory { dir in
            let folder = dir.appendingPathComponent("report")
            try Report.write(to: folder, content: content)
            let svg = try String(contentsOf: folder.appendingPathComponent("curves-1-lstm-cross-entropy.svg"), encoding: .utf8)
            for label in ["r1 train", "r1 validation", "r2 train", "r2 validation"] {
                #expect(svg.contains(">\(label)</text>"), "legend entry \(label)")
            }
            #expect(svg.contains("stroke-dasharray"), "validation dashed")
        }
    }

    @Test func misclassifiedVideosAreListedWithTheirVotes() throws {
        var content = try sampleContent()
        content.misclassified = [MisclassifiedVideo(split: "split2", video: "WalkRight/v_3.avi", trueLabel: 1,
                                                    predictedLabel: 0, clipVotes: [3, 1, 0], meanProbabilities: [0.6, 0.3, 0.1])]
        let page = try html(content)
        #expect(page.contains("split1: 0 of 3 test videos misclassified") && page.contains("split2: 1 of 3 test videos misclassified"))
        #expect(page.contains("<td>WalkRight/v_3.avi</td><td>WalkRight</td><td>Walk&lt;Left&gt;</td>"
            + "<td>Walk&lt;Left&gt; 3, WalkRight 1 (of 4 clips)</td><td class=\"n\">30.0%</td><td class=\"n\">60.0%</td>"))
    }

    @Test func topFiveIsLeftOutForFiveClassesOrFewer() throws {
        // Three classes (the sample): no top-5 column, a note in the page and the printed table.
        let content = try sampleContent()
        let page = try html(content)
        #expect(!page.contains("<th>top-5</th>") && page.contains("Top-5 omitted"))
        let table = AccuracyTable.render(content.summaries)
        #expect(!table.contains("top-5") && table.contains("Top-5 omitted"))
        // Six classes: the column is back, the note gone.
        let outcomes = (0..<6).map { PredictionOutcome(trueLabel: $0, predictedLabel: $0 == 5 ? 0 : $0, top5: [0, 1, 2, 3, 4]) }
        let six = try MetricsSummary(variant: "six", classNames: (0..<6).map { "c\($0)" }, rule: .vote, lastSteps: 4,
                                     splits: [SplitMetrics(split: "split1", outcomes: outcomes, classes: 6)])
        let sixTable = AccuracyTable.render([six])
        #expect(sixTable.contains("top-5") && !sixTable.contains("omitted") && sixTable.contains("83.3%"))
        #expect(try html(ReportContent(title: "six", summaries: [six])).contains("<th>top-5</th>"))
    }

    /// The index.html of `content`, written to a temporary folder.
    func html(_ content: ReportContent) throws -> String {
        try withTemporaryDirectory { dir in
            try String(contentsOf: Report.write(to: dir.appendingPathComponent("report"), content: content), encoding: .utf8)
        }
    }

    @Test func slugsAreSafeFileNames() {
        #expect(Report.slug("Joint / late (λ=1000)") == "joint-late-1000")
        #expect(Report.slug("///") == "figure")
    }
}
