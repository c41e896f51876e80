// shapes: a clip is L1 consecutive frame indices of one video, `[L1]`; a data order is `[N]`
// clips, stored in checkpoints as an int64 table `[N, 2]` of (video, start).
import JAMCore

/// One training example: `clipLength` consecutive frames of video `video` from frame `start`.
public struct Clip: Sendable, Hashable, Codable, CustomStringConvertible {
    /// Index into the sampler's video list.
    public var video: Int
    /// First frame (0-based) of the clip in that video.
    public var start: Int

    public init(video: Int, start: Int) {
        self.video = video
        self.start = start
    }

    public var description: String { "(video \(video), frame \(start))" }
}

/// Cuts videos into clips of L1 consecutive frames and orders them for training (docs/DESIGN.md §4,
/// "Clips").
///
/// Clip starts are `0, s, 2s, …` up to the last start whose clip fits, `T − L1`; frames after
/// the last clip's end (when `T − L1` is not a multiple of s) are not visited. A video shorter
/// than L1 gives ONE clip starting at 0 whose missing tail repeats the video's last frame
/// (`frameIndices(of:)`), so every video contributes and every clip has the same length.
///
/// The training order of an epoch is a Fisher–Yates shuffle of all clips driven by a
/// SplitMix64 generator seeded from `(seed, epoch)` only: any run can recompute it, and a
/// checkpoint can also store it.
///
///     let sampler = ClipSampler(frameCounts: [48, 10], clipLength: 16, stride: 8)
///     sampler.clips          // (0,0) (0,8) (0,16) (0,24) (0,32) (1,0)
///     sampler.epochOrder(seed: 7, epoch: 0)
public struct ClipSampler: Sendable, Hashable {
    /// Frames of each video, in the caller's video order.
    public let frameCounts: [Int]
    /// L1.
    public let clipLength: Int
    /// s, frames between consecutive clip starts.
    public let stride: Int
    /// Every clip, videos in order and starts ascending within a video.
    public let clips: [Clip]

    public init(frameCounts: [Int], clipLength: Int, stride: Int) {
        precondition(clipLength > 0 && stride > 0, "ClipSampler: clip length \(clipLength) and stride \(stride) must be positive")
        precondition(frameCounts.allSatisfy { $0 > 0 }, "ClipSampler: every video needs at least one frame")
        self.frameCounts = frameCounts
        self.clipLength = clipLength
        self.stride = stride
        var clips: [Clip] = []
        for (video, frames) in frameCounts.enumerated() {
            for start in ClipSampler.starts(frameCount: frames, clipLength: clipLength, stride: stride) {
                clips.append(Clip(video: video, start: start))
            }
        }
        self.clips = clips
    }

    /// Clip starts of one video of `frameCount` frames: `0, s, …, ≤ T − L1`, or `[0]` when T < L1.
    public static func starts(frameCount: Int, clipLength: Int, stride: Int) -> [Int] {
        guard frameCount > clipLength else { return [0] }
        return Array(Swift.stride(from: 0, through: frameCount - clipLength, by: stride))
    }

    /// The clips of one video (in start order).
    public func clips(ofVideo video: Int) -> [Clip] {
        ClipSampler.starts(frameCount: frameCounts[video], clipLength: clipLength, stride: stride)
            .map { Clip(video: video, start: $0) }
    }

    /// The L1 frame indices a clip reads: `start ..< start + L1`, each clamped to the video's
    /// last frame (the padding of short videos).
    public func frameIndices(of clip: Clip) -> [Int] {
        let last = frameCounts[clip.video] - 1
        return (0..<clipLength).map { min(clip.start + $0, last) }
    }

    /// The order in which epoch `epoch` (0-based) visits the clips: a pure function of
    /// `(seed, epoch)` and the clip list.
    public func epochOrder(seed: UInt64, epoch: Int) -> [Clip] {
        var order = clips
        var random = SplitMix64(seed: ClipSampler.epochSeed(seed: seed, epoch: epoch))
        shuffle(&order, using: &random)
        return order
    }

    /// The generator seed of one epoch. Seeds `seed + k·γ` would give SplitMix64 streams that are
    /// shifted copies of each other, so the epoch is mixed in through the SplitMix64 finaliser.
    public static func epochSeed(seed: UInt64, epoch: Int) -> UInt64 {
        mix64(seed ^ mix64(UInt64(truncatingIfNeeded: epoch) &+ 0x632B_E59B_D9B4_E019))
    }

    /// The validation clips: `count` of `clips` drawn once with `seed` (the same every epoch,
    /// so the curve compares like with like), in their original order; all of them when
    /// `count` is 0 or at least their number.
    public func validationSample(count: Int, seed: UInt64) -> [Clip] {
        guard count > 0, count < clips.count else { return clips }
        var indices = Array(clips.indices)
        var random = SplitMix64(seed: mix64(seed ^ 0x5641_4C49_4441_5445))  // "VALIDATE"
        shuffle(&indices, using: &random)
        return indices.prefix(count).sorted().map { clips[$0] }
    }

    /// Digest-friendly identity of the clip list (frame counts, L1, s), for checkpoints: a
    /// checkpoint's stored order is only meaningful for the same list.
    public var identity: String {
        "clips:L\(clipLength):s\(stride):" + frameCounts.map(String.init).joined(separator: ",")
    }
}

/// Fisher–Yates: for i from n−1 down to 1, swap element i with element `next() mod (i+1)`.
/// (The modulo bias is below 2⁻⁴⁰ for any list that fits in memory.)
public func shuffle<T>(_ items: inout [T], using random: inout SplitMix64) {
    guard items.count > 1 else { return }
    for i in Swift.stride(from: items.count - 1, to: 0, by: -1) {
        let j = Int(random.next() % UInt64(i + 1))
        items.swapAt(i, j)
    }
}
