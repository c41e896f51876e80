import JAMConfig
import JAMCore
import JAMNN
import JAMTraining
import Testing

struct ClipSamplerTests {
    @Test func clipStartsAreWorkedOutByHand() {
        // T = 10, L1 = 4, s = 3: starts 0, 3, 6 (6 + 4 = 10 fits; 9 would not).
        #expect(ClipSampler.starts(frameCount: 10, clipLength: 4, stride: 3) == [0, 3, 6])
        // T = 11: 0, 3, 6 (9 + 4 = 13 > 11), frame 10 is not visited.
        #expect(ClipSampler.starts(frameCount: 11, clipLength: 4, stride: 3) == [0, 3, 6])
        // T = L1: exactly one clip.
        #expect(ClipSampler.starts(frameCount: 4, clipLength: 4, stride: 3) == [0])
        // T < L1: one clip, padded.
        #expect(ClipSampler.starts(frameCount: 2, clipLength: 4, stride: 1) == [0])
        // s = 1: every start.
        #expect(ClipSampler.starts(frameCount: 6, clipLength: 4, stride: 1) == [0, 1, 2])

        let sampler = ClipSampler(frameCounts: [10, 2, 5], clipLength: 4, stride: 3)
        #expect(sampler.clips == [Clip(video: 0, start: 0), Clip(video: 0, start: 3), Clip(video: 0, start: 6),
                                  Clip(video: 1, start: 0), Clip(video: 2, start: 0)])
        #expect(sampler.frameIndices(of: Clip(video: 0, start: 6)) == [6, 7, 8, 9])
        // The short video repeats its last frame.
        #expect(sampler.frameIndices(of: Clip(video: 1, start: 0)) == [0, 1, 1, 1])
        #expect(sampler.clips(ofVideo: 2) == [Clip(video: 2, start: 0)])
    }

    @Test func epochOrderIsAPermutationDeterminedBySeedAndEpoch() {
        let sampler = ClipSampler(frameCounts: [48, 30, 17, 64, 5], clipLength: 8, stride: 4)
        let order = sampler.epochOrder(seed: 11, epoch: 0)
        #expect(order.count == sampler.clips.count)
        #expect(Set(order) == Set(sampler.clips))
        #expect(order != sampler.clips, "a shuffle of \(order.count) clips left them in place")
        // Recomputable: same (seed, epoch) → same order, from a fresh sampler too.
        let again = ClipSampler(frameCounts: [48, 30, 17, 64, 5], clipLength: 8, stride: 4)
        #expect(again.epochOrder(seed: 11, epoch: 0) == order)
        // Another epoch or another seed → another order.
        #expect(sampler.epochOrder(seed: 11, epoch: 1) != order)
        #expect(sampler.epochOrder(seed: 12, epoch: 0) != order)
        #expect(sampler.epochOrder(seed: 11, epoch: 1) != sampler.epochOrder(seed: 11, epoch: 2))
    }

    @Test func shuffleIsFisherYatesOnTheGeneratorsDraws() {
        // Independent route: replay the generator by hand and apply the swaps.
        var items = Array(0..<6)
        var random = SplitMix64(seed: 99)
        shuffle(&items, using: &random)
        var replay = SplitMix64(seed: 99)
        var expected = Array(0..<6)
        for i in [5, 4, 3, 2, 1] {
            let j = Int(replay.next() % UInt64(i + 1))
            let t = expected[i]; expected[i] = expected[j]; expected[j] = t
        }
        #expect(items == expected)
        #expect(random == replay, "the shuffle drew exactly n − 1 numbers")
    }

    @Test func epochSeedsGiveUnrelatedStreams() {
        // Consecutive epochs must not be shifted copies of one SplitMix64 stream.
        var a = SplitMix64(seed: ClipSampler.epochSeed(seed: 5, epoch: 0))
        var b = SplitMix64(seed: ClipSampler.epochSeed(seed: 5, epoch: 1))
        let first = (0..<8).map { _ in a.next() }
        let second = (0..<9).map { _ in b.next() }
        #expect(Set(first).isDisjoint(with: second))
    }

    /// `validation_clips`: a seeded sample, fixed for the run, in the clips' order.
    @Test func validationSampleIsASeededSubsetInOrder() {
        let sampler = ClipSampler(frameCounts: [40, 17, 33, 25], clipLength: 8, stride: 4)
        let all = sampler.clips
        #expect(all.count > 12)
        #expect(sampler.validationSample(count: 0, seed: 3) == all)
        #expect(sampler.validationSample(count: all.count, seed: 3) == all)
        let sample = sampler.validationSample(count: 5, seed: 3)
        #expect(sample.count == 5 && Set(sample).count == 5 && Set(sample).isSubset(of: Set(all)))
        let positions = sample.map { all.firstIndex(of: $0)! }
        #expect(positions == positions.sorted())
        #expect(sampler.validationSample(count: 5, seed: 3) == sample)
        // Another seed, another sample (for these clips, checked once: not a tautology of the rule).
        #expect(sampler.validationSample(count: 5, seed: 4) != sample)
    }

    /// `validate_every`: every k-th epoch (1-based) and the last; 0 never.
    @Test func validationScheduleKeepsTheLastEpoch() {
        var s = LSTMSettings()
        s.epochs = 5
        s.validateEvery = 2
        #expect((0..<5).filter { s.validates(afterEpoch: $0) } == [1, 3, 4])
        s.validateEvery = 1
        #expect((0..<5).filter { s.validates(afterEpoch: $0) } == [0, 1, 2, 3, 4])
        s.validateEvery = 0
        #expect((0..<5).filter { s.validates(afterEpoch: $0) }.isEmpty)
    }
}
