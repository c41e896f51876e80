import JAMCore
import JAMNN
import Testing

@Suite struct ParameterInitializationTests {
    /// Produced by the pre-unification `ParameterRandom.nextGaussian` (seed 42, glibc libm): its
    /// `u1 = 1 − nextUniform()` derivation must not change, or every He-normal initialisation would.
    @Test func gaussianSamplesMatchThePreUnificationGenerator() {
        var g = SplitMix64(seed: 42)
        #expect((0..<3).map { _ in g.nextGaussian() } == [0.8822489062222688, -0.4508498757188601, 0.1883526341159315])
    }

    /// Produced by the pre-unification `LSTMSplitMix64.nextUniform(bound:)` (seed 42): the top 24
    /// bits of each draw, scaled to `[-bound, bound)` in Float.
    @Test func boundedFloatUniformsMatchThePreUnificationGenerator() {
        var g = SplitMix64(seed: 42)
        #expect((0..<3).map { _ in g.nextUniform(bound: 0.25) } == [Float(0.120782435), -0.17004481, -0.110699445])
    }

    @Test func heNormalDrawsOneGaussianPerValue() {
        let store = ParameterStore()
        let view = store.add("w", shape: [4])
        var random = SplitMix64(seed: 42)
        store.fillHeNormal(view, fanIn: 8, using: &random)
        var replay = SplitMix64(seed: 42)
        let std = (2.0 / 8).squareRoot()
        #expect(Array(store.values[view.offset..<(view.offset + 4)]) == (0..<4).map { _ in Float(replay.nextGaussian() * std) })
        #expect(random == replay)
    }
}
