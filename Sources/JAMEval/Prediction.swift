// shapes: clipProbabilities [clips, L1, C] row-major (per clip, per time step, class probabilities);
//         one clip's steps [L1, C]; per-class results [C]; L2 = lastSteps <= L1; C = classes.
import JAMCore

/// How a video's label is read off the LSTM's per-step class probabilities.
public enum PredictionRule: String, Sendable, Codable, CaseIterable {
    /// The paper's rule (§3.5): per clip, every one of the last L2 steps votes for its argmax
    /// class and the clip takes the most-voted class; the video then takes the class most clips
    /// voted for. Ties, at both levels, go to the class with the higher summed probability over
    /// the windows that voted, then to the lowest class index.
    case vote
    /// Mean-probability pooling: the mean of the probabilities over the last L2 steps of each
    /// clip, then over the clips; the video takes the argmax (ties: lowest class index).
    case meanProbability
}

/// One clip's prediction from its last L2 steps.
public struct ClipPrediction: Sendable, Equatable, Codable {
    /// The clip's class (see `PredictionRule` for the rule and its ties).
    public var label: Int
    /// Per class, how many of the last L2 steps had it as argmax. `[C]`, sums to L2.
    public var stepVotes: [Int]
    /// Per class, the mean probability over the last L2 steps. `[C]`.
    public var meanProbabilities: [Float]
}

/// One video's prediction from all of its clips.
public struct VideoPrediction: Sendable, Equatable, Codable {
    /// The predicted class: always `top5[0]`.
    public var label: Int
    /// The best `min(5, C)` classes, best first. Under `.vote`, classes are ranked by clip votes,
    /// then by mean probability (the same order as the summed probability of the tie rule),
    /// then by lowest index; under `.meanProbability`, by mean probability, then lowest index.
    public var top5: [Int]
    /// Each clip's label, in clip order. `[clips]`.
    public var clipLabels: [Int]
    /// Per class, how many clips chose it. `[C]`, sums to `clips`.
    public var clipVotes: [Int]
    /// Per class, the mean probability over the last L2 steps of every clip. `[C]`.
    public var meanProbabilities: [Float]
}

/// Predicts one clip from its per-step class probabilities `[L1, C]` (row-major, `steps·classes`
/// values), using its last `lastSteps` steps only.
///
/// A step's argmax takes the lowest index among equal maxima. Throws when the sizes disagree,
/// `lastSteps` is outside `1...steps`, or a probability is NaN or infinite.
public func predictClip(
    stepProbabilities: some RandomAccessCollection<Float>,
    steps: Int, classes: Int,
    rule: PredictionRule = .vote, lastSteps: Int = 16
) throws -> ClipPrediction {
    try checkShape(count: stepProbabilities.count, clips: 1, steps: steps, classes: classes, lastSteps: lastSteps)
    let window = ClipWindow(stepProbabilities, steps: steps, classes: classes, lastSteps: lastSteps)
    try window.checkFinite(clip: nil)
    let label = rule == .vote
        ? bestClass(votes: window.stepVotes, probabilitySums: window.probabilitySums)
        : bestClass(votes: nil, probabilitySums: window.probabilitySums)
    return ClipPrediction(
        label: label, stepVotes: window.stepVotes,
        meanProbabilities: window.probabilitySums.map { Float($0 / Double(lastSteps)) })
}

/// Predicts a video from the LSTM's outputs for all its clips.
///
/// - Parameters:
///   - clipProbabilities: `[clips, L1, C]` row-major: per clip, per time step, the class
///     probabilities (softmax outputs). Only the last `lastSteps` steps of each clip are used.
///   - clips, steps, classes: the sizes `clips`, `L1`, `C`.
///   - rule: `.vote` (the paper's, default) or `.meanProbability`.
///   - lastSteps: L2, the paper's 16.
/// - Throws: a `JAMError` when the sizes disagree with the buffer, there are no clips,
///   `lastSteps` is outside `1...steps`, or a probability is NaN or infinite.
public func predictVideo(
    clipProbabilities: [Float],
    clips: Int, steps: Int, classes: Int,
    rule: PredictionRule = .vote, lastSteps: Int = 16
) throws -> VideoPrediction {
    try checkShape(count: clipProbabilities.count, clips: clips, steps: steps, classes: classes, lastSteps: lastSteps)
    var clipVotes = [Int](repeating: 0, count: classes)
    // Summed over the voting windows of every clip: the tie-breaker, and (divided by
    // clips·L2) the mean-probability pooling score.
    var probabilitySums = [Double](repeating: 0, count: classes)
    var clipLabels: [Int] = []
    clipLabels.reserveCapacity(clips)
    let stride = steps * classes
    for clip in 0..<clips {
        let slice = clipProbabilities[(clip * stride)..<((clip + 1) * stride)]
        let window = ClipWindow(slice, steps: steps, classes: classes, lastSteps: lastSteps)
        try window.checkFinite(clip: clip)
        let label = rule == .vote
            ? bestClass(votes: window.stepVotes, probabilitySums: window.probabilitySums)
            : bestClass(votes: nil, probabilitySums: window.probabilitySums)
        clipLabels.append(label)
        clipVotes[label] += 1
        for c in 0..<classes { probabilitySums[c] += window.probabilitySums[c] }
    }
    let ranking = rankClasses(votes: rule == .vote ? clipVotes : nil, probabilitySums: probabilitySums)
    let divisor = Double(clips * lastSteps)
    return VideoPrediction(
        label: ranking[0], top5: Array(ranking.prefix(5)), clipLabels: clipLabels, clipVotes: clipVotes,
        meanProbabilities: probabilitySums.map { Float($0 / divisor) })
}

/// All classes, best first: by `votes` (when given, more first), then by `probabilitySums`
/// (higher first), then by index (lower first). `votes`, `probabilitySums`: `[C]`.
public func rankClasses(votes: [Int]?, probabilitySums: [Double]) -> [Int] {
    Array(0..<probabilitySums.count).sorted { a, b in
        if let votes, votes[a] != votes[b] { return votes[a] > votes[b] }
        if probabilitySums[a] != probabilitySums[b] { return probabilitySums[a] > probabilitySums[b] }
        return a < b
    }
}

/// The first class of `rankClasses` without sorting.
private func bestClass(votes: [Int]?, probabilitySums: [Double]) -> Int {
    guard let votes else { return argmax(probabilitySums) }
    var best = 0
    for c in 1..<probabilitySums.count {
        if votes[c] != votes[best] {
            if votes[c] > votes[best] { best = c }
            continue
        }
        if probabilitySums[c] > probabilitySums[best] { best = c }
    }
    return best
}

/// The last L2 steps of one clip, summarised: per class, step votes and summed probability.
private struct ClipWindow {
    var stepVotes: [Int]
    var probabilitySums: [Double]
    var firstNonFinite: (step: Int, classIndex: Int)?

    init<P: RandomAccessCollection<Float>>(_ probabilities: P, steps: Int, classes: Int, lastSteps: Int) {
        stepVotes = [Int](repeating: 0, count: classes)
        probabilitySums = [Double](repeating: 0, count: classes)
        var start = probabilities.index(probabilities.startIndex, offsetBy: (steps - lastSteps) * classes)
        for step in (steps - lastSteps)..<steps {
            let end = probabilities.index(start, offsetBy: classes)
            let row = probabilities[start..<end]
            // Equal maxima go to the lowest index. A row with a NaN or infinity votes somewhere,
            // but `checkFinite` rejects the clip before any vote is read.
            stepVotes[argmax(row)] += 1
            for (c, p) in zip(0..., row) {
                if !p.isFinite, firstNonFinite == nil { firstNonFinite = (step, c) }
                probabilitySums[c] += Double(p)
            }
            start = end
        }
    }

    func checkFinite(clip: Int?) throws {
        guard let (step, c) = firstNonFinite else { return }
        let place = clip.map { "clip \($0), " } ?? ""
        throw JAMError("non-finite class probability at \(place)step \(step), class \(c): the LSTM diverged or its output is corrupt")
    }
}

private func checkShape(count: Int, clips: Int, steps: Int, classes: Int, lastSteps: Int) throws {
    guard clips >= 1, steps >= 1, classes >= 1 else {
        throw JAMError("prediction needs at least one clip, step and class; got clips \(clips), steps \(steps), classes \(classes)")
    }
    guard count == clips * steps * classes else {
        throw JAMError("class probabilities hold \(count) values, expected clips·L1·C = \(clips)·\(steps)·\(classes) = \(clips * steps * classes)")
    }
    guard (1...steps).contains(lastSteps) else {
        throw JAMError("the voting window L2 = \(lastSteps) must be between 1 and the clip length L1 = \(steps)")
    }
}
