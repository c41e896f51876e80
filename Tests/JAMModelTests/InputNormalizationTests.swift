import JAMCore
import JAMModel
import JAMTensor
import JAMTestSupport
import Testing

@Suite struct InputNormalizationTests {
    /// Moments gathered in two parts give, channel by channel, the mean and 1/σ of a naive
    /// two-pass computation over all values; applying the map leaves each channel with mean 0
    /// and variance 1; a constant channel gets scale 0.
    @Test func standardizesEachChannelOverAllParts() {
        let channels = 3
        var rng = SplitMix64(seed: 7)
        // Channel 0: offset 50, spread 10; channel 1: offset −2, spread 0.5; channel 2: constant 4.
        func pixels(_ n: Int) -> [Float] {
            var values: [Float] = []
            for _ in 0..<n {
                let u: Double = 2 * rng.nextUniform() - 1
                let v: Double = 2 * rng.nextUniform() - 1
                values += [Float(50 + 10 * u), Float(-2 + 0.5 * v), 4]
            }
            return values
        }
        let a = pixels(40), b = pixels(25)
        var ma = ChannelMoments(channels: channels), mb = ChannelMoments(channels: channels)
        ma.add(a)
        mb.add(b[...])
        #expect(ma.count == 40 && mb.count == 25)
        let map = InputNormalization.standardizing([ma, mb])

        let all = a + b
        for c in 0..<2 {
            let values = stride(from: c, to: all.count, by: channels).map { Double(all[$0]) }
            let mean = values.reduce(0, +) / Double(values.count)
            let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count)
            expectClose([Double(map.mean[c])], [mean], rtol: 1e-6, "mean of channel \(c)")
            expectClose([Double(map.scale[c])], [1 / variance.squareRoot()], rtol: 1e-4, "scale of channel \(c)")
        }
        #expect(map.mean[2] == 4 && map.scale[2] == 0)

        var x = all
        x.withUnsafeMutableBufferPointer { map.apply(to: $0.baseAddress!, count: $0.count) }
        for c in 0..<2 {
            let values = stride(from: c, to: x.count, by: channels).map { Double(x[$0]) }
            let mean = values.reduce(0, +) / Double(values.count)
            let variance = values.map { $0 * $0 }.reduce(0, +) / Double(values.count) - mean * mean
            #expect(abs(mean) < 1e-4, "channel \(c) mean \(mean)")
            expectClose([variance], [1.0], rtol: 1e-3, "variance of channel \(c)")
        }
        #expect(stride(from: 2, to: x.count, by: channels).allSatisfy { x[$0] == 0 })
    }

    @Test func identityLeavesValuesAlone() {
        var x: [Float] = [1, -2, 3.5, 0, 7, -8]
        let before = x
        x.withUnsafeMutableBufferPointer { InputNormalization.identity(channels: 2).apply(to: $0.baseAddress!, count: 6) }
        #expect(x == before)
    }
}

