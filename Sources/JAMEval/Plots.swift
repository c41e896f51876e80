// shapes: confusion [C, C] (rows: true class, columns: predicted); a series is n points (x, y);
//         every plot returns an SVG document (text): crisp at any zoom, its text set by the browser.
import Foundation

/// One named curve of a line chart, e.g. the training loss per epoch.
public struct PlotSeries: Sendable, Equatable {
    public var name: String
    /// Points in drawing order; a point with a non-finite coordinate breaks the line.
    public var points: [(x: Double, y: Double)]
    /// `nil`: the chart picks `RGB.series(i)` for the i-th series.
    public var color: RGB?
    /// Drawn dashed (e.g. validation beside a solid training curve of the same colour).
    public var dashed: Bool

    public init(name: String, points: [(x: Double, y: Double)], color: RGB? = nil, dashed: Bool = false) {
        self.name = name
        self.points = points
        self.color = color
        self.dashed = dashed
    }

    /// A series over x = 1, 2, 3, ... (epochs, counted from 1).
    public init(name: String, values: [Double], color: RGB? = nil, dashed: Bool = false) {
        self.init(name: name, points: values.enumerated().map { (Double($0.offset + 1), $0.element) }, color: color,
                  dashed: dashed)
    }

    public static func == (a: PlotSeries, b: PlotSeries) -> Bool {
        a.name == b.name && a.color == b.color && a.dashed == b.dashed && a.points.count == b.points.count
            && zip(a.points, b.points).allSatisfy { $0.x == $1.x && $0.y == $1.y }
    }
}

/// Evenly spaced "nice" tick values (steps of 1, 2 or 5 times a power of ten) covering
/// `[low, high]` with about `target` intervals: the first tick ≤ low, the last ≥ high.
/// With `integers`, the step is at least 1 (epochs). A degenerate range is widened first.
public func niceTicks(low: Double, high: Double, target: Int = 5, integers: Bool = false) -> [Double] {
    var low = low, high = high
    if !(low.isFinite && high.isFinite) { return [0, 1] }
    if high < low { swap(&low, &high) }
    if high == low {
        let pad = low == 0 ? 1 : abs(low) * 0.1
        low -= pad
        high += pad
    }
    let raw = (high - low) / Double(max(target, 1))
    let magnitude = pow(10, floor(log10(raw)))
    var step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw * (1 - 1e-9) } ?? 10 * magnitude
    if integers { step = max(step, 1).rounded(.up) }
    let first = floor(low / step + 1e-9)
    let last = ceil(high / step - 1e-9)
    // Multiplying integer counts by the step keeps 0.1-type steps free of accumulated error.
    return stride(from: first, through: last, by: 1).map { $0 * step }
}

/// A tick label with as many decimals as the step needs (`0.25` → 2, `5` → 0); very large or
/// small magnitudes in `%g` notation.
public func tickLabel(_ value: Double, step: Double) -> String {
    if value == 0 { return "0" }
    let scale = max(abs(value), step)
    if scale >= 1e6 || scale < 1e-4 { return String(format: "%.3g", value) }
    let decimals = max(0, Int(-floor(log10(step) + 1e-9)))
    return String(format: "%.\(decimals)f", value)
}

/// Draws a line chart as SVG: several named series, axes with nice ticks and grid lines, axis
/// titles, a title and a legend (top right inside the plot area). Markers mark the points when
/// there are few. Non-finite points are skipped, breaking the line. When every x is an integer
/// (epochs), x ticks are integers too.
///
///     let svg = lineChart(series: [PlotSeries(name: "train loss", values: trainLoss),
///                                  PlotSeries(name: "val loss", values: valLoss)],
///                         title: "Loss", xLabel: "epoch", yLabel: "loss")
public func lineChart(
    series: [PlotSeries], title: String, xLabel: String, yLabel: String, width: Int = 640, height: Int = 400
) -> String {
    let finite = series.flatMap(\.points).filter { $0.x.isFinite && $0.y.isFinite }
    let integerX = !finite.isEmpty && finite.allSatisfy { $0.x == $0.x.rounded() }
    let xTicks = niceTicks(low: finite.map(\.x).min() ?? 0, high: finite.map(\.x).max() ?? 1, target: 6, integers: integerX)
    let yTicks = niceTicks(low: finite.map(\.y).min() ?? 0, high: finite.map(\.y).max() ?? 1, target: 5)
    let xStep = xTicks.count > 1 ? xTicks[1] - xTicks[0] : 1
    let yStep = yTicks.count > 1 ? yTicks[1] - yTicks[0] : 1
    let (left, right, top, bottom) = (72.0, Double(width) - 16, 44.0, Double(height) - 48)
    let (xMin, xMax, yMin, yMax) = (xTicks.first!, xTicks.last!, yTicks.first!, yTicks.last!)
    func px(_ x: Double) -> Double { left + (x - xMin) / (xMax - xMin) * (right - left) }
    func py(_ y: Double) -> Double { bottom - (y - yMin) / (yMax - yMin) * (bottom - top) }

    var svg = SVGDocument(width: width, height: height)
    svg.text(title, x: Double(width) / 2, y: 26, anchor: "middle", size: 16)
    for tick in yTicks {
        svg.line(left - 4, py(tick), right, py(tick), stroke: RGB.lightGray.hex)
        svg.text(tickLabel(tick, step: yStep), x: left - 8, y: py(tick) + 4, anchor: "end")
    }
    for tick in xTicks {
        svg.line(px(tick), top, px(tick), bottom + 4, stroke: RGB.lightGray.hex)
        svg.text(tickLabel(tick, step: xStep), x: px(tick), y: bottom + 18, anchor: "middle")
    }
    svg.line(left, top, left, bottom, stroke: "black")
    svg.line(left, bottom, right, bottom, stroke: "black")
    svg.text(xLabel, x: (left + right) / 2, y: Double(height) - 10, anchor: "middle")
    svg.text(yLabel, x: 18, y: (top + bottom) / 2, anchor: "middle", rotated: true)

    let markers = series.allSatisfy { $0.points.count <= 40 }
    var drawn: [[(Double, Double)]] = []
    for (i, s) in series.enumerated() {
        let color = (s.color ?? RGB.series(i)).hex
        // Runs of finite points, each one polyline.
        var runs: [[(Double, Double)]] = [[]]
        for p in s.points {
            if p.x.isFinite && p.y.isFinite { runs[runs.count - 1].append((px(p.x), py(p.y))) } else { runs.append([]) }
        }
        for run in runs where !run.isEmpty {
            drawn.append(run)
            svg.polyline(run, stroke: color, dashed: s.dashed)
            if markers { for (x, y) in run { svg.circle(x, y, radius: 3, fill: color) } }
        }
    }
    if !series.isEmpty {
        let legendWidth = 40 + 7 * Double(series.map(\.name.count).max() ?? 0)
        let legendHeight = 8 + 18 * Double(series.count)
        let (x0, y0) = legendCorner(width: legendWidth, height: legendHeight, left: left, right: right, top: top,
                                    bottom: bottom, lines: drawn)
        svg.rect(x0, y0, legendWidth, legendHeight, fill: "white", stroke: RGB.gray.hex)
        for (i, s) in series.enumerated() {
            let y = y0 + 16 + 18 * Double(i)
            svg.line(x0 + 8, y - 4, x0 + 28, y - 4, stroke: (s.color ?? RGB.series(i)).hex, width: 3, dashed: s.dashed)
            svg.text(s.name, x: x0 + 34, y: y)
        }
    }
    return svg.finished
}

/// The top-left corner of a chart's legend: the corner of the plot area (top right, bottom
/// right, top left, bottom left, in that order of preference) whose box covers the fewest points
/// of the drawn lines (each segment sampled every few pixels), so that the legend hides no data
/// when some corner is free.
func legendCorner(width: Double, height: Double, left: Double, right: Double, top: Double, bottom: Double,
                  lines: [[(Double, Double)]]) -> (x: Double, y: Double) {
    let corners = [(right - width - 8, top + 8), (right - width - 8, bottom - height - 8),
                   (left + 8, top + 8), (left + 8, bottom - height - 8)]
    var samples: [(Double, Double)] = []
    for line in lines {
        samples += line
        for (a, b) in zip(line, line.dropFirst()) {
            let steps = max(1, Int((abs(b.0 - a.0) + abs(b.1 - a.1)) / 4))
            for k in 1..<steps {
                let t = Double(k) / Double(steps)
                samples.append((a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t))
            }
        }
    }
    func covered(_ corner: (Double, Double)) -> Int {
        samples.filter {
            $0.0 >= corner.0 - 4 && $0.0 <= corner.0 + width + 4 && $0.1 >= corner.1 - 4 && $0.1 <= corner.1 + height + 4
        }.count
    }
    let scores = corners.map(covered)
    return corners[scores.indices.min { scores[$0] < scores[$1] }!]
}

/// The colour of a row-normalised confusion value in [0, 1]: white to dark blue.
public func confusionColor(_ value: Double) -> RGB {
    RGB.mix(.white, RGB(8, 48, 107), value)
}

/// Draws a confusion matrix as an SVG heatmap (as the paper's Figure 7): cell (t, p) is coloured
/// by the fraction of class t's videos predicted as p (row-normalised, so every true class is on
/// the same scale; rows with no video stay white). True classes run down the left, predicted
/// classes along the bottom; counts are printed in the cells when they fit. A colour bar on the
/// right shows the scale.
///
/// - Parameters:
///   - confusion: `[C, C]`, rows true class, columns predicted class.
///   - classNames: `[C]`; names longer than 24 characters are shortened.
public func confusionMatrixPlot(confusion: [[Int]], classNames: [String], title: String) -> String {
    let classes = confusion.count
    precondition(confusion.allSatisfy { $0.count == classes } && classNames.count == classes,
                 "confusion must be [C, C] with C class names")
    let names = classNames.map { $0.count > 24 ? String($0.prefix(23)) + "…" : $0 }
    let nameWidth = 7 * Double(names.map(\.count).max() ?? 0)
    let cell = Double(min(max(720 / max(classes, 1), 12), 48))
    let matrix = cell * Double(classes)
    let (left, top) = (36 + nameWidth, 48.0)
    let width = Int(left + matrix + 80), height = Int(top + matrix + nameWidth + 48)
    var svg = SVGDocument(width: max(width, 8 * title.count + 32), height: height)
    svg.text(title, x: Double(svg.width) / 2, y: 28, anchor: "middle", size: 16)
    for t in 0..<classes {
        let rowTotal = confusion[t].reduce(0, +)
        for p in 0..<classes {
            let count = confusion[t][p]
            let value = rowTotal > 0 ? Double(count) / Double(rowTotal) : 0
            let (x, y) = (left + Double(p) * cell, top + Double(t) * cell)
            svg.rect(x, y, cell, cell, fill: confusionColor(value).hex)
            if cell >= 24 && count > 0 {
                svg.text(String(count), x: x + cell / 2, y: y + cell / 2 + 4, anchor: "middle",
                         fill: value > 0.5 ? "white" : "black")
            }
        }
        let middle = top + (Double(t) + 0.5) * cell
        svg.text(names[t], x: left - 6, y: middle + 4, anchor: "end")
        svg.text(names[t], x: left + (Double(t) + 0.5) * cell + 4, y: top + matrix + 6, anchor: "end", rotated: true)
    }
    svg.rect(left, top, matrix, matrix, fill: "none", stroke: RGB.gray.hex)
    svg.text("true class", x: 14, y: top + matrix / 2, anchor: "middle", rotated: true)
    svg.text("predicted class", x: left + matrix / 2, y: Double(height) - 10, anchor: "middle")
    // Colour bar: 100% at the top, 0% at the bottom.
    let barX = left + matrix + 16
    svg.verticalGradient(barX, top, 14, matrix, from: confusionColor(1).hex, to: confusionColor(0).hex)
    svg.text("100%", x: barX + 20, y: top + 10)
    svg.text("0%", x: barX + 20, y: top + matrix)
    return svg.finished
}

/// An SVG document being written: shapes in drawing order, text XML-escaped, coordinates in
/// pixels with one decimal.
struct SVGDocument {
    let width: Int
    let height: Int
    private var body = ""
    private var gradients = 0

    init(width: Int, height: Int) {
        (self.width, self.height) = (width, height)
        rect(0, 0, Double(width), Double(height), fill: "white")
    }

    private static func number(_ v: Double) -> String { String(format: "%.1f", v) }

    mutating func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, stroke: String, width: Double = 1,
                       dashed: Bool = false) {
        let n = Self.number
        body += "<line x1=\"\(n(x1))\" y1=\"\(n(y1))\" x2=\"\(n(x2))\" y2=\"\(n(y2))\" stroke=\"\(stroke)\" stroke-width=\"\(n(width))\""
            + (dashed ? " stroke-dasharray=\"6 4\"" : "") + "/>\n"
    }

    mutating func rect(_ x: Double, _ y: Double, _ w: Double, _ h: Double, fill: String, stroke: String? = nil) {
        let n = Self.number
        body += "<rect x=\"\(n(x))\" y=\"\(n(y))\" width=\"\(n(w))\" height=\"\(n(h))\" fill=\"\(fill)\""
            + (stroke.map { " stroke=\"\($0)\"" } ?? "") + "/>\n"
    }

    mutating func circle(_ x: Double, _ y: Double, radius: Double, fill: String) {
        body += "<circle cx=\"\(Self.number(x))\" cy=\"\(Self.number(y))\" r=\"\(Self.number(radius))\" fill=\"\(fill)\"/>\n"
    }

    mutating func polyline(_ points: [(Double, Double)], stroke: String, dashed: Bool = false) {
        let list = points.map { "\(Self.number($0.0)),\(Self.number($0.1))" }.joined(separator: " ")
        body += "<polyline points=\"\(list)\" fill=\"none\" stroke=\"\(stroke)\" stroke-width=\"2\""
            + (dashed ? " stroke-dasharray=\"6 4\"" : "") + "/>\n"
    }

    /// `anchor`: SVG's text-anchor (start, middle, end); `rotated`: reads bottom to top.
    mutating func text(_ s: String, x: Double, y: Double, anchor: String = "start", size: Int = 12, fill: String = "black",
                       rotated: Bool = false) {
        let (xs, ys) = (Self.number(x), Self.number(y))
        let turn = rotated ? " transform=\"rotate(-90 \(xs) \(ys))\"" : ""
        body += "<text x=\"\(xs)\" y=\"\(ys)\" text-anchor=\"\(anchor)\" font-size=\"\(size)\" fill=\"\(fill)\"\(turn)>"
            + Report.escape(s) + "</text>\n"
    }

    mutating func verticalGradient(_ x: Double, _ y: Double, _ w: Double, _ h: Double, from top: String, to bottom: String) {
        gradient(x, y, w, h, stops: [(0, top), (1, bottom)], horizontal: false)
    }

    /// A rectangle filled left to right through `stops` (offset in [0, 1], colour).
    mutating func horizontalGradient(_ x: Double, _ y: Double, _ w: Double, _ h: Double, stops: [(Double, String)]) {
        gradient(x, y, w, h, stops: stops, horizontal: true)
    }

    private mutating func gradient(_ x: Double, _ y: Double, _ w: Double, _ h: Double, stops: [(Double, String)],
                                   horizontal: Bool) {
        gradients += 1
        // Ids are unique within the document; an inlined SVG shares the page's id space, so
        // the id carries the document's size too.
        let id = "g\(width)x\(height)-\(gradients)"
        let end = horizontal ? "x2=\"1\" y2=\"0\"" : "x2=\"0\" y2=\"1\""
        body += "<defs><linearGradient id=\"\(id)\" x1=\"0\" y1=\"0\" \(end)>"
            + stops.map { "<stop offset=\"\(Self.number($0.0))\" stop-color=\"\($0.1)\"/>" }.joined()
            + "</linearGradient></defs>\n"
        rect(x, y, w, h, fill: "url(#\(id))", stroke: RGB.gray.hex)
    }

    /// The whole document.
    var finished: String {
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" "
            + "viewBox=\"0 0 \(width) \(height)\" font-family=\"sans-serif\">\n\(body)</svg>\n"
    }
}
