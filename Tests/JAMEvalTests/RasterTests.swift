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

    @Test func textDrawsTheGlyphBitmap() {
        var image = RGBImage(width: 20, height: 12)
        image.drawText("L1", x: 2, y: 3, color: .black)
        // "L" then "1" six pixels further, drawn by hand from the 5×7 patterns.
        let l = ["#....", "#....", "#....", "#....", "#....", "#....", "#####"]
        let one = ["..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###."]
        var expected: Set<[Int]> = []
        for (offset, glyph) in [(0, l), (6, one)] {
            for (gy, row) in glyph.enumerated() {
                for (gx, c) in row.enumerated() where c == "#" { expected.insert([2 + offset + gx, 3 + gy]) }
            }
        }
        #expect(ink(image, .black) == expected)
        #expect(BitmapFont.width(of: "L1") == 11)
    }

    @Test func verticalTextIsAQuarterTurnAnticlockwise() {
        var image = RGBImage(width: 12, height: 12)
        image.drawText("L", x: 2, y: 9, color: .black, vertical: true)
        // The stem (glyph column 0) lies along the bottom row y = 8, the foot (glyph row 6)
        // along column x = 2 + 6, running up from y = 8 to y = 4.
        var expected: Set<[Int]> = []
        for gy in 0..<7 { expected.insert([2 + gy, 8]) }
        for gx in 0..<5 { expected.insert([8, 8 - gx]) }
        #expect(ink(image, .black) == expected)
    }

    @Test func glyphsAreDistinctAndUnknownCharactersDrawAsQuestionMarks() {
        let printable = (32...126).map { Character(Unicode.Scalar(UInt8($0))) }
        #expect(Set(printable.map { BitmapFont.rows(of: $0) }).count == printable.count)
        #expect(BitmapFont.rows(of: "é") == BitmapFont.rows(of: "?"))
    }

    @Test func drawingClipsAtTheEdges() {
        var image = RGBImage(width: 4, height: 3)
        image.fill(x: -2, y: 1, width: 4, height: 10, color: .black)
        image.drawLine(fromX: -5, y: 0, toX: 10, y: 0, color: RGB(255, 0, 0))
        #expect(ink(image, .black) == [[0, 1], [1, 1], [0, 2], [1, 2]])
        #expect(ink(image, RGB(255, 0, 0)) == [[0, 0], [1, 0], [2, 0], [3, 0]])
        var diagonal = RGBImage(width: 4, height: 4)
        diagonal.drawLine(fromX: 3, y: 3, toX: 0, y: 0, color: .black)
        #expect(ink(diagonal, .black) == [[0, 0], [1, 1], [2, 2], [3, 3]])
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
