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

    @Test func lineChartDrawsEverySeriesAndSurvivesGaps() {
        let red = RGB(255, 0, 0), blue = RGB(0, 0, 255)
        let chart = lineChart(
            series: [PlotSeries(name: "train loss", values: [2.3, 1.5, .nan, 0.9], color: red),
                     PlotSeries(name: "val loss", values: [2.4, 1.9, 1.7, 1.6], color: blue)],
            title: "Loss", xLabel: "epoch", yLabel: "loss", width: 320, height: 200)
        #expect(chart.width == 320 && chart.height == 200)
        var redPixels: [(Int, Int)] = []
        var bluePixels = 0
        for y in 0..<chart.height {
            for x in 0..<chart.width {
                if chart[x, y] == red { redPixels.append((x, y)) }
                if chart[x, y] == blue { bluePixels += 1 }
            }
        }
        #expect(!redPixels.isEmpty && bluePixels > 0)
        // The falling train loss: its leftmost point (epoch 1, 2.3) is above its rightmost (epoch 4, 0.9),
        // the legend swatch aside (top right).
        let plotted = redPixels.filter { $0.0 < 240 }
        let leftmost = plotted.min { $0.0 < $1.0 }!, rightmost = plotted.max { $0.0 < $1.0 }!
        #expect(leftmost.1 < rightmost.1)
    }

    @Test func confusionHeatmapColoursRowFractions() {
        let plot = confusionMatrixPlot(confusion: [[3, 1], [0, 0]], classNames: ["a", "b"], title: "CM")
        var colours: Set<RGB> = []
        for y in 0..<plot.height { for x in 0..<plot.width { colours.insert(plot[x, y]) } }
        // Row "a": 3/4 and 1/4 of its videos.
        #expect(colours.contains(confusionColor(0.75)) && colours.contains(confusionColor(0.25)))
        #expect(confusionColor(0) == .white && confusionColor(1) == RGB(8, 48, 107))
    }
}
