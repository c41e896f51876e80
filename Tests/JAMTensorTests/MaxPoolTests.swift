// shapes: input [N, H, W, C] → output [N, H/2, W/2, C].

import JAMTensor
import JAMTestSupport
import Testing

@Suite struct MaxPoolTests {
    @Test(arguments: [[2, 7, 9, 5], [1, 4, 4, 3], [3, 1, 5, 2], [2, 6, 11, 17]])
    func matchesNaivePoolingWithFloor(_ shape: [Int]) {
        let (batch, height, width, channels) = (shape[0], shape[1], shape[2], shape[3])
        let input = uniformValues(batch * height * width * channels, seed: 30)
        let output = maxPool2x2(input, batch: batch, height: height, width: width, channels: channels,
                                threads: 2)
        let expected = naiveMaxPool(input.map(Double.init), batch: batch, height: height, width: width,
                                    channels: channels)
        #expect(output.count == batch * (height / 2) * (width / 2) * channels)
        // A max is exact.
        #expect(maxAbsDifference(output, expected) == 0, "max |diff| \(maxAbsDifference(output, expected))")
    }

    @Test func handWorkedExample() {
        // One 3×3 single-channel image: the odd last row and column are dropped.
        let output = maxPool2x2([1, 5, 9, 3, -2, 8, 7, 4, 6], batch: 1, height: 3, width: 3, channels: 1)
        #expect(output == [5])
    }
}
