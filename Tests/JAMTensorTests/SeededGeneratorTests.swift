import JAMCore
import JAMTensor
import Testing

@Suite struct SeededGeneratorTests {
    /// SplitMix64's published first outputs for seed 0 (as in Vigna's reference splitmix64.c).
    @Test func matchesReferenceSplitMix64() {
        var g = SplitMix64(seed: 0)
        #expect(g.next() == 0xE220_A839_7B1D_CDAF)
        #expect(g.next() == 0x6E78_9E6A_A1B9_65F4)
        #expect(g.next() == 0x06C4_5D18_8009_454F)
    }

    @Test func stateResumesTheSequence() {
        var a = SplitMix64(seed: 42)
        for _ in 0..<5 { _ = a.next() }
        var b = SplitMix64(seed: 0)
        b.state = a.state
        #expect((0..<10).map { _ in a.next() } == (0..<10).map { _ in b.next() })
        var c = SplitMix64(seed: 43)
        var d = SplitMix64(seed: 42)
        #expect(c.next() != d.next())
    }

    @Test func uniformsAreInTheUnitInterval() {
        var g = SplitMix64(seed: 1)
        let samples = (0..<10_000).map { _ in g.nextUniform() }
        #expect(samples.allSatisfy { $0 >= 0 && $0 < 1 })
        let mean = samples.reduce(0, +) / Double(samples.count)
        #expect(abs(mean - 0.5) < 0.015)  // σ of the mean ≈ 0.0029
    }

    /// Box-Muller samples: mean, variance and the fraction within 1σ of a normal distribution.
    @Test func normalSamplesHaveNormalMoments() {
        var g = SplitMix64(seed: 2)
        let n = 20_000
        let samples = (0..<n).map { _ in g.nextNormal(mean: 3, standardDeviation: 2) }
        let mean = samples.reduce(0, +) / Double(n)
        let variance = samples.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(n)
        #expect(abs(mean - 3) < 0.06)  // σ of the mean ≈ 0.014
        #expect(abs(variance / 4 - 1) < 0.05)  // σ of the variance ratio ≈ 0.01
        let within = samples.filter { abs($0 - 3) < 2 }.count
        #expect(abs(Double(within) / Double(n) - 0.6827) < 0.015)
        // Two values of next() per sample.
        var h = SplitMix64(seed: 2), k = SplitMix64(seed: 2)
        _ = h.nextNormal()
        _ = k.next(); _ = k.next()
        #expect(h.state == k.state)
    }

    /// Produced by the pre-unification `SeededGenerator.nextNormal` (seed 42, glibc libm): its
    /// `u1 = (k + 1)·2⁻⁵³` derivation must not change, or the VGG16 random weights would.
    @Test func normalSamplesMatchThePreUnificationGenerator() {
        var g = SplitMix64(seed: 42)
        #expect((0..<3).map { _ in g.nextNormal(mean: 3, standardDeviation: 2) }
            == [3.829439500863061, 1.2162275727444876, 6.4591861758748035])
        var h = SplitMix64(seed: 42)
        #expect((0..<3).map { _ in h.nextNormal() } == [0.4147197504315305, -0.8918862136277562, 1.7295930879374015])
    }
}
