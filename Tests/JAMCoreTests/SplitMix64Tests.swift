import Foundation
import JAMCore
import Testing

@Suite struct SplitMix64Tests {
    /// First outputs of Vigna's reference splitmix64.c; recomputed independently with Python
    /// integer arithmetic for this test.
    @Test func matchesTheReferenceSequence() {
        var g = SplitMix64(seed: 1_234_567)
        #expect((0..<5).map { _ in g.next() } == [
            6_457_827_717_110_365_317, 3_203_168_211_198_807_973, 9_817_491_932_198_370_423,
            4_593_380_528_125_082_431, 16_408_922_859_458_223_821,
        ])
        var zero = SplitMix64(seed: 0)
        #expect((0..<3).map { _ in zero.next() } == [
            16_294_208_416_658_607_535, 7_960_286_522_194_355_700, 487_617_019_471_545_679,
        ])
    }

    /// `next()` is `mix` of the Weyl sequence, and `mix64` is `mix` (ClipSampler and the C3D
    /// branches derive seeds with it).
    @Test func mixIsTheOutputFunction() {
        var g = SplitMix64(seed: 42)
        #expect(g.next() == SplitMix64.mix(42 &+ 0x9E37_79B9_7F4A_7C15))
        // Produced by the pre-unification `mix64` (JAMTraining) and `SplitMix64.finalize` (JAMVideo).
        #expect(mix64(42) == 12_058_926_934_050_108_962)
        #expect(SplitMix64.mix(42) == 12_058_926_934_050_108_962)
        #expect(mix64(0) == 0)
    }

    /// Produced by the pre-unification `SeededGenerator.nextUniform()` and
    /// `ParameterRandom.nextUniform()` (identical formulas), seed 42.
    @Test func uniformsMatchThePreUnificationGenerators() {
        var g = SplitMix64(seed: 42)
        #expect((0..<3).map { _ in g.nextUniform() } == [0.7415648787718233, 0.1599103928769201, 0.27860113025513866])
    }

    /// Checkpoints and JSON states keep the key `state` that `SeededGenerator` and
    /// `ParameterRandom` encoded.
    @Test func codableKeepsTheStateKey() throws {
        var g = SplitMix64(seed: 7)
        _ = g.next()
        let data = try JSONEncoder().encode(g)
        let object = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        #expect(object?.keys.sorted() == ["state"])
        #expect(try JSONDecoder().decode(SplitMix64.self, from: data) == g)
    }
}
