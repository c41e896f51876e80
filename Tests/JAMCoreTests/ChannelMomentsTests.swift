import JAMCore
import Testing

@Suite struct ChannelMomentsTests {
    @Test func sumsSquaresAndCountMatchANaiveLoopOverSeveralAdds() {
        // 3 channels; two batches of 4 and 2 pixels, values with a fractional part.
        let first: [Float] = (0..<12).map { Float($0) * 0.75 - 3 }
        let second: [Float] = [10, -1, 0.5, 2, 4, -8]
        var moments = ChannelMoments(channels: 3)
        #expect(moments.channels == 3 && moments.count == 0 && moments.sums == [0, 0, 0])
        moments.add(first)
        moments.add(second[...])  // any Collection of Float

        var sums = [Double](repeating: 0, count: 3), squares = sums
        for (i, x) in (first + second).enumerated() {
            sums[i % 3] += Double(x)
            squares[i % 3] += Double(x) * Double(x)
        }
        #expect(moments.count == 6, "pixels per channel")
        #expect(moments.sums == sums)
        #expect(moments.squares == squares)
        // Written out for channel 1: first holds −2.25, 0, 2.25, 4.5; second −1 and 4.
        #expect(moments.sums[1] == 7.5)
        #expect(moments.squares[1] == 2.25 * 2.25 * 2 + 4.5 * 4.5 + 1 + 16)
    }

    @Test func equalInputsGiveEqualMoments() {
        var a = ChannelMoments(channels: 2), b = ChannelMoments(channels: 2)
        a.add([1, 2, 3, 4] as [Float])
        b.add([1, 2] as [Float])
        b.add([3, 4] as [Float])
        #expect(a == b)
        b.add([0, 0] as [Float])
        #expect(a != b, "the count differs")
    }
}
