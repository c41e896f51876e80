// shapes: clipVotes [C] (clips per class, sums to the video's clips); meanProbabilities [C]
//         (the class probabilities averaged over every clip's voting window); C = classes.

/// A test video the model got wrong, with what it voted: the report lists these per split.
public struct MisclassifiedVideo: Sendable, Equatable {
    /// `"split1"`.
    public var split: String
    /// The video's path relative to the dataset root (`Walk/v_Walk_g01_c01.avi`).
    public var video: String
    public var trueLabel: Int
    public var predictedLabel: Int
    /// Per class, how many of the video's clips chose it. `[C]`.
    public var clipVotes: [Int]
    /// Per class, the mean probability over the voting windows. `[C]`.
    public var meanProbabilities: [Float]

    public init(split: String, video: String, trueLabel: Int, predictedLabel: Int, clipVotes: [Int],
                meanProbabilities: [Float]) {
        (self.split, self.video, self.trueLabel, self.predictedLabel) = (split, video, trueLabel, predictedLabel)
        (self.clipVotes, self.meanProbabilities) = (clipVotes, meanProbabilities)
    }

    /// The videos of one split whose predicted class is not their true class, in the order given.
    public static func list(split: String, videos: [(video: String, trueLabel: Int, prediction: VideoPrediction)])
        -> [MisclassifiedVideo] {
        videos.filter { $0.prediction.label != $0.trueLabel }.map {
            MisclassifiedVideo(split: split, video: $0.video, trueLabel: $0.trueLabel, predictedLabel: $0.prediction.label,
                               clipVotes: $0.prediction.clipVotes, meanProbabilities: $0.prediction.meanProbabilities)
        }
    }

    /// The clips' votes, most first (ties: lower class first), classes without a vote left out:
    /// `[(class, votes)]`.
    public var votesByClass: [(label: Int, votes: Int)] {
        clipVotes.enumerated().filter { $0.element > 0 }.sorted { $0.element != $1.element ? $0.element > $1.element : $0.offset < $1.offset }
            .map { ($0.offset, $0.element) }
    }
}
