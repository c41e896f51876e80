// shapes: confusion [C, C] (rows: true class, columns: predicted); a series is n points (x, y);
//         every plot returns an RGBImage ([H, W, 3] RGB24).
import Foundation

/// One named curve of a line chart, e.g. the training loss per epoch.
public struct PlotSeries: Sendable, Equatable {
    public var name: String
    /// Points in drawing order; a point with a non-finite coordinate breaks the line.
    public var points: [(x: Double, y: Double)]
    /// `nil`: the chart picks `RGB.series(i)` for the i-th series.
    public var color: RGB?

    public init(name: String, points: [(x: Double, y: Double)], color: RGB? = nil) {
        self.name = name
        self.points = points
        self.color = color
    }

    /// A series over x = 1, 2, 3, ... (epochs, counted from 1).
    public init(name: String, values: [Double], color: RGB? = nil) {
        self.init(name: name, points: values.enumerated().map { (Double($0.offset + 1), $0.element) }, color: color)
    }

    public static func == (a: PlotSeries, b: PlotSeries) -> Bool {
        a.name == b.name && a.color == b.color && a.points.count == b.points.count
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

/// Draws a line chart: several named series, axes with nice ticks and grid lines, axis titles,
/// a title and a legend (top right inside the plot area). Markers mark the points when there
/// are few. Non-finite points are skipped, breaking the line. When every x is an integer
/// (epochs), x ticks are integers too.
///
///     let png = lineChart(series: [PlotSeries(name: "train loss", values: trainLoss),
///                                  PlotSeries(name: "val loss", values: valLoss)],
///                         title: "Loss", xLabel: "epoch", yLabel: "loss")
public func lineChart(
    series: [PlotSeries], title: String, xLabel: String, yLabel: String,
    width: Int = 640, height: Int = 400
) -> RGBImage {
    var image = RGBImage(width: width, height: height, background: .white)
    let finite = series.flatMap(\.points).filter { $0.x.isFinite && $0.y.isFinite }
    let integerX = !finite.isEmpty && finite.allSatisfy { $0.x == $0.x.rounded() }
    let xTicks = niceTicks(low: finite.map(\.x).min() ?? 0, high: finite.map(\.x).max() ?? 1, target: 6, integers: integerX)
    let yTicks = niceTicks(low: finite.map(\.y).min() ?? 0, high: finite.map(\.y).max() ?? 1, target: 5)
    let xStep = xTicks.count > 1 ? xTicks[1] - xTicks[0] : 1
    let yStep = yTicks.count > 1 ? yTicks[1] - yTicks[0] : 1
    let yLabels = yTicks.map { tickLabel($0, step: yStep) }

    let font = BitmapFont.self
    let left = 8 + font.glyphHeight + 6 + (yLabels.map { font.width(of: $0) }.max() ?? 0) + 6
    let top = 8 + font.glyphHeight * 2 + 10
    let bottom = 6 + font.glyphHeight + 8 + font.glyphHeight + 8
    let right = 16
    let plotWidth = max(width - left - right, 10), plotHeight = max(height - top - bottom, 10)
    let xMin = xTicks.first!, xMax = xTicks.last!, yMin = yTicks.first!, yMax = yTicks.last!
    func px(_ x: Double) -> Int { left + Int(((x - xMin) / (xMax - xMin) * Double(plotWidth - 1)).rounded()) }
    func py(_ y: Double) -> Int { top + plotHeight - 1 - Int(((y - yMin) / (yMax - yMin) * Double(plotHeight - 1)).rounded()) }

    // Title, centred, at double size.
    image.drawText(title, x: (width - font.width(of: title, scale: 2)) / 2, y: 8, color: .black, scale: 2)
    // Grid and tick labels.
    for (tick, label) in zip(yTicks, yLabels) {
        let y = py(tick)
        image.fill(x: left, y: y, width: plotWidth, height: 1, color: .lightGray)
        image.fill(x: left - 4, y: y, width: 4, height: 1, color: .black)
        image.drawText(label, x: left - 6 - font.width(of: label), y: y - font.glyphHeight / 2, color: .black)
    }
    for tick in xTicks {
        let x = px(tick), label = tickLabel(tick, step: xStep)
        image.fill(x: x, y: top, width: 1, height: plotHeight, color: .lightGray)
        image.fill(x: x, y: top + plotHeight, width: 1, height: 4, color: .black)
        image.drawText(label, x: x - font.width(of: label) / 2, y: top + plotHeight + 6, color: .black)
    }
    // Axes.
    image.fill(x: left, y: top, width: 1, height: plotHeight, color: .black)
    image.fill(x: left, y: top + plotHeight - 1, width: plotWidth, height: 1, color: .black)
    image.drawText(xLabel, x: left + (plotWidth - font.width(of: xLabel)) / 2,
                   y: height - 8 - font.glyphHeight, color: .black)
    image.drawText(yLabel, x: 8, y: top + (plotHeight + font.width(of: yLabel)) / 2, color: .black, vertical: true)

    // Series.
    let markers = series.allSatisfy { $0.points.count <= 40 }
    for (i, s) in series.enumerated() {
        let color = s.color ?? RGB.series(i)
        var previous: (Int, Int)?
        for p in s.points {
            guard p.x.isFinite, p.y.isFinite else { previous = nil; continue }
            let point = (px(p.x), py(p.y))
            if let previous {
                image.drawLine(fromX: previous.0, y: previous.1, toX: point.0, y: point.1, color: color, thickness: 2)
            }
            if markers { image.fill(x: point.0 - 2, y: point.1 - 2, width: 5, height: 5, color: color) }
            previous = point
        }
    }

    // Legend.
    if !series.isEmpty {
        let rowHeight = font.lineHeight + 2
        let legendWidth = 8 + 16 + 6 + (series.map { font.width(of: $0.name) }.max() ?? 0) + 8
        let legendHeight = 6 + rowHeight * series.count + 2
        let x0 = left + plotWidth - legendWidth - 8, y0 = top + 8
        image.fill(x: x0, y: y0, width: legendWidth, height: legendHeight, color: .white)
        image.strokeRectangle(x: x0, y: y0, width: legendWidth, height: legendHeight, color: .gray)
        for (i, s) in series.enumerated() {
            let y = y0 + 6 + i * rowHeight
            image.fill(x: x0 + 8, y: y + 2, width: 16, height: 3, color: s.color ?? RGB.series(i))
            image.drawText(s.name, x: x0 + 8 + 16 + 6, y: y, color: .black)
        }
    }
    return image
}

/// The colour of a row-normalised confusion value in [0, 1]: white to dark blue.
public func confusionColor(_ value: Double) -> RGB {
    RGB.mix(.white, RGB(8, 48, 107), value)
}

/// Draws a confusion matrix as a heatmap (as the paper's Figure 7): cell (t, p) is coloured by
/// the fraction of class t's videos predicted as p (row-normalised, so every true class is on
/// the same scale; rows with no video stay white). True classes run down the left, predicted
/// classes along the bottom (names read bottom to top); counts are printed in the cells when
/// they fit. A colour bar on the right shows the scale.
///
/// - Parameters:
///   - confusion: `[C, C]`, rows true class, columns predicted class.
///   - classNames: `[C]`; names longer than 24 characters are shortened.
public func confusionMatrixPlot(confusion: [[Int]], classNames: [String], title: String) -> RGBImage {
    let classes = confusion.count
    precondition(confusion.allSatisfy { $0.count == classes } && classNames.count == classes,
                 "confusion must be [C, C] with C class names")
    let font = BitmapFont.self
    let names = classNames.map { $0.count > 24 ? String($0.prefix(23)) + "~" : $0 }
    let nameWidth = names.map { font.width(of: $0) }.max() ?? 0
    let cell = min(max(720 / max(classes, 1), font.lineHeight + 1), 48)
    let matrix = cell * classes
    let left = 8 + font.glyphHeight + 8 + nameWidth + 6
    let top = 8 + font.glyphHeight * 2 + 12
    let colorBarGap = 16, colorBarWidth = 14
    let right = colorBarGap + colorBarWidth + 6 + font.width(of: "100%") + 10
    let bottom = 6 + nameWidth + 8 + font.glyphHeight + 8
    let width = max(left + matrix + right, font.width(of: title, scale: 2) + 16)
    let height = top + matrix + bottom
    var image = RGBImage(width: width, height: height, background: .white)

    image.drawText(title, x: (width - font.width(of: title, scale: 2)) / 2, y: 8, color: .black, scale: 2)
    let showCounts = cell >= font.width(of: "000") + 4
    for t in 0..<classes {
        let rowTotal = confusion[t].reduce(0, +)
        for p in 0..<classes {
            let count = confusion[t][p]
            let value = rowTotal > 0 ? Double(count) / Double(rowTotal) : 0
            let x = left + p * cell, y = top + t * cell
            image.fill(x: x, y: y, width: cell, height: cell, color: confusionColor(value))
            if showCounts && count > 0 {
                let text = String(count)
                image.drawText(text, x: x + (cell - font.width(of: text)) / 2, y: y + (cell - font.glyphHeight) / 2,
                               color: value > 0.5 ? .white : .black)
            }
        }
        let name = names[t]
        image.drawText(name, x: left - 6 - font.width(of: name), y: top + t * cell + (cell - font.glyphHeight) / 2,
                       color: .black)
        image.drawText(name, x: left + t * cell + (cell - font.glyphHeight) / 2,
                       y: top + matrix + 6 + font.width(of: name), color: .black, vertical: true)
    }
    image.strokeRectangle(x: left - 1, y: top - 1, width: matrix + 2, height: matrix + 2, color: .gray)
    image.drawText("true class", x: 8, y: top + (matrix + font.width(of: "true class")) / 2, color: .black, vertical: true)
    image.drawText("predicted class", x: left + (matrix - font.width(of: "predicted class")) / 2,
                   y: height - 8 - font.glyphHeight, color: .black)

    // Colour bar: 100% at the top, 0% at the bottom.
    let barX = left + matrix + colorBarGap
    for row in 0..<matrix {
        let value = 1 - Double(row) / Double(max(matrix - 1, 1))
        image.fill(x: barX, y: top + row, width: colorBarWidth, height: 1, color: confusionColor(value))
    }
    image.strokeRectangle(x: barX - 1, y: top - 1, width: colorBarWidth + 2, height: matrix + 2, color: .gray)
    image.drawText("100%", x: barX + colorBarWidth + 6, y: top, color: .black)
    image.drawText("0%", x: barX + colorBarWidth + 6, y: top + matrix - font.glyphHeight, color: .black)
    return image
}
