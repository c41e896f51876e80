import Foundation
import JAMEval
import JAMTestSupport
import Testing

/// The report as a real browser renders it: scripts/report-screenshot.sh (headless Chromium,
/// installed from Debian when missing) screenshots a report, and the pixels show that the page's
/// CSS applied and its SVG and PNG figures loaded.
@Suite struct ReportBrowserTests {
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// How many pixels of the `[H, W, 3]` image have exactly `color`.
    func count(_ color: RGB, in pixels: Data) -> Int {
        var n = 0
        pixels.withUnsafeBytes { (p: UnsafeRawBufferPointer) in
            for i in stride(from: 0, to: p.count - 2, by: 3) where p[i] == color.r && p[i + 1] == color.g && p[i + 2] == color.b {
                n += 1
            }
        }
        return n
    }

    @Test func chromiumRendersTheReport() throws {
        var content = try ReportTests().sampleContent()
        content.featuresWeights = "he-init:16"
        try withTemporaryDirectory { dir in
            let index = try Report.write(to: dir.appendingPathComponent("report"), content: content)
            let shot = dir.appendingPathComponent("shot.png")
            let result = try runProcess(URL(fileURLWithPath: "/bin/bash"), [
                Self.repositoryRoot.appendingPathComponent("scripts/report-screenshot.sh").path, index.path, shot.path,
                "900", "2400",
            ])
            try #require(result.status == 0, "the screenshot script failed (needs chromium from apt-get): \(result.stderr)")
            let png = try Data(contentsOf: shot)
            // IHDR: width and height, big-endian, at bytes 16 and 20.
            let size = [16, 20].map { png[$0..<($0 + 4)].reduce(0) { $0 << 8 | Int($1) } }
            #expect(size == [900, 2400])

            let raw = dir.appendingPathComponent("shot.rgb")
            let decoded = try runProcess(URL(fileURLWithPath: "/usr/bin/ffmpeg"),
                                         ["-v", "error", "-y", "-i", shot.path, "-f", "rawvideo", "-pix_fmt", "rgb24", raw.path])
            try #require(decoded.status == 0, "ffmpeg could not decode the screenshot: \(decoded.stderr)")
            let pixels = try Data(contentsOf: raw)
            #expect(pixels.count == 900 * 2400 * 3)
            // The banner's background (CSS), the confusion matrix's full cells (an SVG file) and
            // the attention strip's grey frames (a PNG file) are on screen.
            #expect(count(RGB(0xff, 0xf1, 0xd6), in: pixels) > 2000, "banner background")
            #expect(count(confusionColor(1), in: pixels) > 500, "confusion matrix cells")
            #expect(count(RGB.gray, in: pixels) > 16 * 16, "raw frames of the attention strip")
        }
    }
}
