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

    @Test func slugsAreSafeFileNames() {
        #expect(Report.slug("Joint / late (λ=1000)") == "joint-late-1000")
        #expect(Report.slug("///") == "figure")
    }
}
