import Foundation
import JAMEval
import JAMTestSupport
import Testing

@Suite struct PlotsTests {
    @Test func niceTicksCoverTheRangeInRoundSteps() {
        expectClose(niceTicks(low: 0, high: 1), [0, 0.2, 0.4, 0.6, 0.8, 1.0], "0...1")
        expectClose(niceTicks(low: 0.13, high: 0.87), [0, 0.2, 0.4, 0.6, 0.8, 1.0], "0.13...0.87")
        expectClose(niceTicks(low: 2.31, high: 2.52, target: 5), [2.3, 2.35, 2.4, 2.45, 2.5, 2.55], "loss")
        expectClose(niceTicks(low: 2.31, high: 2.52, target: 4), [2.3, 2.4, 2.5, 2.6], "loss, fewer ticks")
        #expect(niceTicks(low: 1, high: 3, integers: true) == [1, 2, 3])
        #expect(niceTicks(low: 1, high: 40, target: 6, integers: true) == [0, 10, 20, 30, 40])
        #expect(niceTicks(low: 5, high: 5).count >= 2)
        #expect(tickLabel(0.2, step: 0.2) == "0.2")
        #expect(tickLabel(2.45, step: 0.05) == "2.45")
        #expect(tickLabel(30, step: 10) == "30")
    }

    /// The `(x, y)` lists of every `<polyline>` of `svg` drawn in `stroke`.
    func polylines(_ svg: String, stroke: String) throws -> [[(x: Double, y: Double)]] {
        let pattern = try NSRegularExpression(pattern: "<polyline points=\"([^\"]*)\"[^>]*stroke=\"\(stroke)\"")
        return pattern.matches(in: svg, range: NSRange(svg.startIndex..., in: svg)).map { match in
            String(svg[Range(match.range(at: 1), in: svg)!]).split(separator: " ").map { pair in
                let xy = pair.split(separator: ",").map { Double($0)! }
                return (xy[0], xy[1])
            }
        }
    }

    /// The position of the `<text>` whose content is exactly `label`.
    func textPosition(_ svg: String, _ label: String) throws -> (x: Double, y: Double) {
        let pattern = try NSRegularExpression(pattern: "<text x=\"([-0-9.]+)\" y=\"([-0-9.]+)\"[^>]*>\(label)</text>")
        let match = try #require(pattern.firstMatch(in: svg, range: NSRange(svg.startIndex..., in: svg)), "no text \(label)")
        return (Double(svg[Range(match.range(at: 1), in: svg)!])!, Double(svg[Range(match.range(at: 2), in: svg)!])!)
    }

    @Test func lineChartPlacesPointsOnItsOwnAxesAndBreaksAtGaps() throws {
        let red = RGB(255, 0, 0), blue = RGB(0, 0, 255)
        let svg = lineChart(
            series: [PlotSeries(name: "train loss", values: [2.3, 1.5, .nan, 0.9], color: red),
                     PlotSeries(name: "val loss", values: [2.4, 1.9, 1.7, 1.6], color: blue)],
            title: "Loss <&>", xLabel: "epoch", yLabel: "loss", width: 320, height: 200)
        #expect(svg.hasPrefix("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"320\" height=\"200\""))
        #expect(svg.contains(">Loss &lt;&amp;&gt;</text>") && svg.contains(">train loss</text>"))
        // The NaN at epoch 3 splits the train loss into epochs 1-2 and epoch 4.
        let train = try polylines(svg, stroke: red.hex)
        #expect(train.map(\.count) == [2, 1])
        #expect(try polylines(svg, stroke: blue.hex).map(\.count) == [4])
        // y ticks 0.5 ... 2.5 (step 0.5), x ticks 1 ... 4: a point sits on its tick labels'
        // positions (x labels centred under the tick, y labels 4 px below the tick line).
        let (one, two, four) = (try textPosition(svg, "1"), try textPosition(svg, "2"), try textPosition(svg, "4"))
        let (y15, y10) = (try textPosition(svg, "1.5"), try textPosition(svg, "1.0"))
        #expect(abs(train[0][0].x - one.x) < 0.11 && abs(train[0][1].x - two.x) < 0.11 && abs(train[1][0].x - four.x) < 0.11)
        #expect(abs(train[0][1].y - (y15.y - 4)) < 0.11)
        // 0.9 lies a fifth of the way from 1.0 towards 0.5 below it.
        let perUnit = (y10.y - y15.y) / 0.5
        #expect(abs(train[1][0].y - (y10.y - 4 + 0.1 * perUnit)) < 0.2)
    }

    @Test func theLegendTakesACornerFreeOfData() throws {
        // The box of the legend: the white rectangle with a grey border.
        func legend(_ svg: String) throws -> (x: Double, y: Double) {
            let pattern = try NSRegularExpression(pattern: "<rect x=\"([-0-9.]+)\" y=\"([-0-9.]+)\"[^>]*fill=\"white\" stroke=")
            let match = try #require(pattern.firstMatch(in: svg, range: NSRange(svg.startIndex..., in: svg)))
            return (Double(svg[Range(match.range(at: 1), in: svg)!])!, Double(svg[Range(match.range(at: 2), in: svg)!])!)
        }
        // A falling loss leaves the top right free; a rising accuracy fills it, and the bottom right is free.
        let falling = lineChart(series: [PlotSeries(name: "loss", values: [1, 0.5, 0.3, 0.2, 0.15, 0.1])],
                                title: "t", xLabel: "x", yLabel: "y", width: 400, height: 300)
        let rising = lineChart(series: [PlotSeries(name: "accuracy", values: [0, 0.8, 0.9, 0.95, 1, 1])],
                               title: "t", xLabel: "x", yLabel: "y", width: 400, height: 300)
        let (f, r) = (try legend(falling), try legend(rising))
        #expect(f.y < 100 && f.x > 200, "top right: \(f)")
        #expect(r.y > 150 && r.x > 200, "bottom right: \(r)")
    }

    @Test func confusionHeatmapColoursRowFractions() {
        let svg = confusionMatrixPlot(confusion: [[3, 1], [0, 0]], classNames: ["a", "b"], title: "CM")
        // Row "a": 3/4 and 1/4 of its videos, counts written in the cells; row "b" has no video: white.
        #expect(svg.contains("fill=\"\(confusionColor(0.75).hex)\"") && svg.contains("fill=\"\(confusionColor(0.25).hex)\""))
        #expect(svg.contains(">3</text>") && svg.contains(">1</text>") && !svg.contains(">0</text>"))
        #expect(svg.components(separatedBy: "fill=\"#ffffff\"").count - 1 == 2)
        #expect(confusionColor(0) == .white && confusionColor(1) == RGB(8, 48, 107))
    }
}
