import JAMEval
import JAMTestSupport
import Testing

@Suite struct RasterTests {
    /// The set pixels of an image, as (x, y) pairs.
    func ink(_ image: RGBImage, _ color: RGB) -> Set<[Int]> {
        var set: Set<[Int]> = []
        for y in 0..<image.height { for x in 0..<image.width where image[x, y] == color { set.insert([x, y]) } }
        return set
    }

    @Test func drawingClipsAtTheEdges() {
        var image = RGBImage(width: 4, height: 3)
        image.fill(x: -2, y: 1, width: 4, height: 10, color: .black)
        #expect(ink(image, .black) == [[0, 1], [1, 1], [0, 2], [1, 2]])
        image.fill(x: 3, y: -1, width: 5, height: 2, color: RGB(255, 0, 0))
        #expect(ink(image, RGB(255, 0, 0)) == [[3, 0]])
    }

    @Test func hexSpellsTheChannels() {
        #expect(RGB(8, 48, 107).hex == "#08306b" && RGB.white.hex == "#ffffff")
    }

    @Test func stacksPlaceImagesSideBySide() {
        let a = RGBImage(width: 2, height: 3, background: .black)
        let b = RGBImage(width: 1, height: 1, background: RGB(0, 0, 255))
        let row = RGBImage.horizontalStack([a, b], spacing: 1)
        #expect(row.width == 4 && row.height == 3)
        #expect(row[3, 0] == RGB(0, 0, 255) && row[2, 0] == .white && row[3, 1] == .white && row[1, 2] == .black)
        let column = RGBImage.verticalStack([a, b], spacing: 2)
        #expect(column.width == 2 && column.height == 6)
        #expect(column[0, 5] == RGB(0, 0, 255) && column[1, 5] == .white)
    }
}
