import JAMEval
import JAMTestSupport
import Testing

// shapes: clip probabilities [clips, L1, C], written out step by step below.

@Suite struct PredictionTests {
    /// One clip, C = 3, L1 = 4: the first two steps favour class 0 strongly, the last two class 2.
    let clip: [Float] = [
        0.9, 0.05, 0.05,  // t = 0
        0.8, 0.1, 0.1,    // t = 1
        0.2, 0.3, 0.5,    // t = 2
        0.1, 0.3, 0.6,    // t = 3
    ]

    @Test func windowExcludesEarlySteps() throws {
        // L2 = 2: steps 2 and 3 vote class 2, twice.
        let last2 = try predictClip(stepProbabilities: clip, steps: 4, classes: 3, lastSteps: 2)
        #expect(last2.label == 2)
        #expect(last2.stepVotes == [0, 0, 2])
        expectClose(last2.meanProbabilities, [0.15, 0.3, 0.55], "mean over steps 2, 3")
        // L2 = 3: step 1 votes 0, steps 2, 3 vote 2.
        let last3 = try predictClip(stepProbabilities: clip, steps: 4, classes: 3, lastSteps: 3)
        #expect(last3.label == 2)
        #expect(last3.stepVotes == [1, 0, 2])
    }

    @Test func voteTieGoesToHigherSummedProbability() throws {
        // L2 = 4: votes [2, 0, 2]; summed probability class 0: 2.0, class 2: 1.25.
        let all = try predictClip(stepProbabilities: clip, steps: 4, classes: 3, lastSteps: 4)
        #expect(all.stepVotes == [2, 0, 2])
        #expect(all.label == 0)
    }

    @Test func voteTieWithEqualSumsGoesToLowestIndex() throws {
        // Votes [0, 1, 1], sums [0, 1, 1] exactly: class 1, in both step orders.
        let a: [Float] = [0, 0.75, 0.25, 0, 0.25, 0.75]
        let b: [Float] = [0, 0.25, 0.75, 0, 0.75, 0.25]
        #expect(try predictClip(stepProbabilities: a, steps: 2, classes: 3, lastSteps: 2).label == 1)
        #expect(try predictClip(stepProbabilities: b, steps: 2, classes: 3, lastSteps: 2).label == 1)
        // A step whose maximum is shared votes for the lower index.
        let shared: [Float] = [0.1, 0.45, 0.45]
        #expect(try predictClip(stepProbabilities: shared, steps: 1, classes: 3, lastSteps: 1).stepVotes == [0, 1, 0])
    }

    @Test func videoVoteTieBrokenBySummedProbabilityOverClips() throws {
        // C = 3, L1 = 3, L2 = 2, two clips. Step 0 of each clip is outside the window and
        // would change both clips' labels if it counted.
        let probabilities: [Float] = [
            0, 0, 1, 0.6, 0.3, 0.1, 0.7, 0.2, 0.1,       // clip 0 → class 0, window sums [1.3, 0.5, 0.2]
            1, 0, 0, 0.1, 0.5, 0.4, 0.2, 0.45, 0.35,     // clip 1 → class 1, window sums [0.3, 0.95, 0.75]
        ]
        let video = try predictVideo(clipProbabilities: probabilities, clips: 2, steps: 3, classes: 3, rule: .vote, lastSteps: 2)
        #expect(video.clipLabels == [0, 1])
        #expect(video.clipVotes == [1, 1, 0])
        // Tie 1:1, summed probability 1.6 against 1.45: class 0.
        #expect(video.label == 0)
        #expect(video.top5 == [0, 1, 2])
        expectClose(video.meanProbabilities, [1.6 / 4, 1.45 / 4, 0.95 / 4], "sums / (clips·L2)")
    }

    @Test func voteAndMeanPoolingDiffer() throws {
        // Two clips weakly for class 1, one strongly for class 0 (L1 = L2 = 1).
        let probabilities: [Float] = [0.35, 0.4, 0.25, 0.35, 0.4, 0.25, 0.98, 0.01, 0.01]
        let vote = try predictVideo(clipProbabilities: probabilities, clips: 3, steps: 1, classes: 3, rule: .vote, lastSteps: 1)
        #expect(vote.label == 1)
        #expect(vote.top5 == [1, 0, 2])
        let mean = try predictVideo(clipProbabilities: probabilities, clips: 3, steps: 1, classes: 3, rule: .meanProbability, lastSteps: 1)
        // Means: [1.68/3, 0.81/3, 0.51/3].
        #expect(mean.label == 0)
        #expect(mean.top5 == [0, 1, 2])
        #expect(mean.clipLabels == [1, 1, 0])
        expectClose(mean.meanProbabilities, [0.56, 0.27, 0.17], "mean over clips")
    }

    @Test func topFiveRanksByVotesThenProbabilityThenIndex() throws {
        let probabilities: [Float] = [
            0.1, 0.05, 0.15, 0.4, 0.1, 0.1, 0.1,   // → 3
            0.05, 0.1, 0.2, 0.3, 0.1, 0.15, 0.1,   // → 3
            0.1, 0.05, 0.05, 0.1, 0.1, 0.5, 0.1,   // → 5
        ]
        let video = try predictVideo(clipProbabilities: probabilities, clips: 3, steps: 1, classes: 7, lastSteps: 1)
        // Votes: 3 (2), 5 (1); then sums: 2 (0.4), 4 and 6 (0.3 each, lower index first), 0 (0.25), 1 (0.2).
        #expect(video.top5 == [3, 5, 2, 4, 6])
        #expect(video.label == 3)
        #expect(rankClasses(votes: video.clipVotes, probabilitySums: video.meanProbabilities.map(Double.init))
            == [3, 5, 2, 4, 6, 0, 1])
    }

    @Test func badInputsAreRejected() {
        #expect(throws: (any Error).self) {
            try predictVideo(clipProbabilities: [Float](repeating: 0.5, count: 10), clips: 2, steps: 3, classes: 2, lastSteps: 2)
        }
        #expect(throws: (any Error).self) {
            try predictVideo(clipProbabilities: clip, clips: 1, steps: 4, classes: 3, lastSteps: 5)
        }
        #expect(throws: (any Error).self) {
            try predictVideo(clipProbabilities: clip, clips: 1, steps: 4, classes: 3, lastSteps: 0)
        }
        var withNaN = clip
        withNaN[10] = .nan  // t = 3, inside any window
        #expect(throws: (any Error).self) {
            try predictVideo(clipProbabilities: withNaN, clips: 1, steps: 4, classes: 3, lastSteps: 2)
        }
    }

    /// Against a straightforward re-derivation on random inputs (dictionary counts, sorting).
    @Test func matchesNaiveRuleOnRandomInputs() throws {
        var rng = SplitMix(seed: 7)
        for _ in 0..<50 {
            let clips = Int.random(in: 1...5, using: &rng), steps = Int.random(in: 1...8, using: &rng)
            let classes = Int.random(in: 2...9, using: &rng), window = Int.random(in: 1...steps, using: &rng)
            let probabilities = (0..<(clips * steps * classes)).map { _ in Float.random(in: 0..<1, using: &rng) }
            let video = try predictVideo(clipProbabilities: probabilities, clips: clips, steps: steps, classes: classes,
                                         rule: .vote, lastSteps: window)
            var clipLabels: [Int] = []
            var total = [Double](repeating: 0, count: classes)
            for c in 0..<clips {
                var votes: [Int: Int] = [:]
                var sums = [Double](repeating: 0, count: classes)
                for t in (steps - window)..<steps {
                    let row = Array(probabilities[((c * steps + t) * classes)..<((c * steps + t + 1) * classes)])
                    votes[row.firstIndex(of: row.max()!)!, default: 0] += 1
                    for k in 0..<classes { sums[k] += Double(row[k]); total[k] += Double(row[k]) }
                }
                clipLabels.append((0..<classes).sorted {
                    (votes[$0] ?? 0, sums[$0], -$0) > (votes[$1] ?? 0, sums[$1], -$1)
                }[0])
            }
            let clipVotes = (0..<classes).map { k in clipLabels.filter { $0 == k }.count }
            let ranking = (0..<classes).sorted { (clipVotes[$0], total[$0], -$0) > (clipVotes[$1], total[$1], -$1) }
            #expect(video.clipLabels == clipLabels)
            #expect(video.top5 == Array(ranking.prefix(5)))
            #expect(video.label == ranking[0])
        }
    }
}

/// A small seeded generator, so random tests are reproducible.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
