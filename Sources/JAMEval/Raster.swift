// shapes: RGBImage.pixels [H, W, 3] UInt8, row-major, channels last (RGB24); x is the column,
//         y the row, (0, 0) the top-left pixel.

/// An 8-bit RGB colour.
public struct RGB: Sendable, Hashable {
    public var r: UInt8
    public var g: UInt8
    public var b: UInt8

    public init(_ r: UInt8, _ g: UInt8, _ b: UInt8) {
        (self.r, self.g, self.b) = (r, g, b)
    }

    public static let black = RGB(0, 0, 0)
    public static let white = RGB(255, 255, 255)
    public static let lightGray = RGB(220, 220, 220)
    public static let gray = RGB(128, 128, 128)
    public static let darkGray = RGB(64, 64, 64)

    /// `a·(1 − t) + b·t` per channel, rounded; `t` is clamped to [0, 1].
    public static func mix(_ a: RGB, _ b: RGB, _ t: Double) -> RGB {
        let t = min(max(t, 0), 1)
        func channel(_ x: UInt8, _ y: UInt8) -> UInt8 {
            UInt8((Double(x) * (1 - t) + Double(y) * t).rounded())
        }
        return RGB(channel(a.r, b.r), channel(a.g, b.g), channel(a.b, b.b))
    }

    /// A palette of distinguishable line colours (Tableau 10), cycled by index.
    public static func series(_ index: Int) -> RGB {
        let palette = [
            RGB(31, 119, 180), RGB(255, 127, 14), RGB(44, 160, 44), RGB(214, 39, 40), RGB(148, 103, 189),
            RGB(140, 86, 75), RGB(227, 119, 194), RGB(127, 127, 127), RGB(188, 189, 34), RGB(23, 190, 207),
        ]
        return palette[((index % palette.count) + palette.count) % palette.count]
    }

    /// `#rrggbb`, for SVG and HTML.
    public var hex: String { String(format: "#%02x%02x%02x", r, g, b) }
}

/// An RGB image in memory: `pixels` is `[H, W, 3]` RGB24, row-major, channels last. Drawing
/// calls clip at the image's edges, so callers may draw partly outside it.
public struct RGBImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// `[H, W, 3]`: the pixel at column x, row y starts at `(y·W + x)·3`.
    public var pixels: [UInt8]

    /// A `width`×`height` image filled with `background`.
    public init(width: Int, height: Int, background: RGB = .white) {
        precondition(width >= 0 && height >= 0, "image size \(width)x\(height)")
        self.width = width
        self.height = height
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for i in Swift.stride(from: 0, to: pixels.count, by: 3) {
            pixels[i] = background.r
            pixels[i + 1] = background.g
            pixels[i + 2] = background.b
        }
        self.pixels = pixels
    }

    /// An image over existing `[H, W, 3]` RGB24 bytes (`pixels.count` must be `H·W·3`).
    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(pixels.count == width * height * 3,
                     "\(pixels.count) bytes for a \(width)x\(height) RGB image (expected \(width * height * 3))")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// The pixel at column `x`, row `y` (both must be inside the image).
    public subscript(x: Int, y: Int) -> RGB {
        get {
            let i = (y * width + x) * 3
            return RGB(pixels[i], pixels[i + 1], pixels[i + 2])
        }
        set {
            let i = (y * width + x) * 3
            pixels[i] = newValue.r
            pixels[i + 1] = newValue.g
            pixels[i + 2] = newValue.b
        }
    }

    /// Fills the rectangle with top-left corner (x, y), clipped to the image.
    public mutating func fill(x: Int, y: Int, width w: Int, height h: Int, color: RGB) {
        let x0 = max(x, 0), y0 = max(y, 0)
        let x1 = min(x + w, width), y1 = min(y + h, height)
        guard x0 < x1, y0 < y1 else { return }
        for row in y0..<y1 {
            for column in x0..<x1 { self[column, row] = color }
        }
    }

    /// Copies `image` with its top-left corner at (x, y), clipped to this image.
    public mutating func draw(_ image: RGBImage, x: Int, y: Int) {
        let x0 = max(x, 0), x1 = min(x + image.width, width)
        guard x0 < x1 else { return }
        for row in max(y, 0)..<max(max(y, 0), min(y + image.height, height)) {
            let source = ((row - y) * image.width + (x0 - x)) * 3
            let target = (row * width + x0) * 3
            let count = (x1 - x0) * 3
            pixels.replaceSubrange(target..<(target + count), with: image.pixels[source..<(source + count)])
        }
    }

    /// Images side by side, tops aligned, `spacing` pixels apart, on `background`.
    public static func horizontalStack(_ images: [RGBImage], spacing: Int = 0, background: RGB = .white) -> RGBImage {
        let width = images.reduce(0) { $0 + $1.width } + spacing * max(images.count - 1, 0)
        var result = RGBImage(width: width, height: images.map(\.height).max() ?? 0, background: background)
        var x = 0
        for image in images {
            result.draw(image, x: x, y: 0)
            x += image.width + spacing
        }
        return result
    }

    /// Images one above the other, left edges aligned, `spacing` pixels apart, on `background`.
    public static func verticalStack(_ images: [RGBImage], spacing: Int = 0, background: RGB = .white) -> RGBImage {
        let height = images.reduce(0) { $0 + $1.height } + spacing * max(images.count - 1, 0)
        var result = RGBImage(width: images.map(\.width).max() ?? 0, height: height, background: background)
        var y = 0
        for image in images {
            result.draw(image, x: 0, y: y)
            y += image.height + spacing
        }
        return result
    }
}
