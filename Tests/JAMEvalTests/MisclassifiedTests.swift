import JAMEval
import JAMTestSupport
import Testing

@Suite struct MisclassifiedTests {
    /// Per clip, two steps with the same probabilities `p` (3 classes).
    static func clips(_ rows: [[Float]]) -> [Float] { rows.flatMap { $0 + $0 } }

    @Test func listsTheWrongVideosWithTheirVotes() throws {
        // Video a (class 0): clips vote 1, 1, 0 → predicted 1. Video b (class 2): right.
        // Video c (class 1): its one clip votes 2.
        let a = try predictVideo(clipProbabilities: Self.clips([[0.2, 0.7, 0.1], [0.3, 0.6, 0.1], [0.8, 0.1, 0.1]]),
                                 clips: 3, steps: 2, classes: 3, rule: .vote, lastSteps: 2)
        let b = try predictVideo(clipProbabilities: Self.clips([[0.1, 0.1, 0.8]]), clips: 1, steps: 2, classes: 3,
                                 rule: .vote, lastSteps: 2)
        let c = try predictVideo(clipProbabilities: Self.clips([[0.3, 0.3, 0.4]]), clips: 1, steps: 2, classes: 3,
                                 rule: .vote, lastSteps: 2)
        let list = MisclassifiedVideo.list(split: "split3", videos: [
            ("A/a.avi", 0, a), ("C/b.avi", 2, b), ("B/c.avi", 1, c),
        ])
        #expect(list.map(\.video) == ["A/a.avi", "B/c.avi"])
        #expect(list.allSatisfy { $0.split == "split3" })
        #expect(list[0].trueLabel == 0 && list[0].predictedLabel == 1 && list[0].clipVotes == [1, 2, 0])
        #expect(list[0].votesByClass.map(\.label) == [1, 0] && list[0].votesByClass.map(\.votes) == [2, 1])
        // Mean probabilities over the three clips' windows: (0.2 + 0.3 + 0.8) / 3, (0.7 + 0.6 + 0.1) / 3, 0.1.
        expectClose(list[0].meanProbabilities, [1.3 / 3, 1.4 / 3, 0.1], rtol: 1e-6, "mean probabilities of a")
        #expect(list[1].trueLabel == 1 && list[1].predictedLabel == 2 && list[1].clipVotes == [0, 0, 1])
        #expect(MisclassifiedVideo.list(split: "s", videos: [("C/b.avi", 2, b)]).isEmpty)
    }
}
