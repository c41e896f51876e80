// Tests: Tests/JAMStagesTests/CostEstimateTests.swift
import Foundation
import JAMConfig
import JAMCore
import JAMDatasets
import JAMTraining
import JAMVideo

/// How much work a dataset is: per split, the training and test videos, and the frames a video
/// keeps after decoding (`decode.every`, `decode.max_frames` applied).
public struct Workload: Sendable, Hashable {
    public struct Split: Sendable, Hashable {
        public var split: Int
        public var train: Int
        public var test: Int
        public init(split: Int, train: Int, test: Int) { (self.split, self.train, self.test) = (split, train, test) }
    }
    /// Every video of the dataset (decode and features run once for all splits).
    public var videos: Int
    public var splits: [Split]
    /// Frames per video: one entry per sampled video (or one, when given).
    public var frameCounts: [Int]
    public var classCount: Int
    /// Where the figures came from, for the printout.
    public var source: String

    public init(videos: Int, splits: [Split], frameCounts: [Int], classCount: Int, source: String) {
        self.videos = videos
        self.splits = splits
        self.frameCounts = frameCounts
        self.classCount = classCount
        self.source = source
    }

    public var meanFrames: Double { Double(frameCounts.reduce(0, +)) / Double(max(frameCounts.count, 1)) }

    /// Mean clips per video for clips of `length` every `stride` (`ClipSampler`'s rule, tail clip included).
    public func meanClips(length: Int, stride: Int) -> Double {
        let total = frameCounts.reduce(0) { $0 + ClipSampler.starts(frameCount: $1, clipLength: length, stride: stride).count }
        return Double(total) / Double(max(frameCounts.count, 1))
    }

    /// `--videos N --frames F`: every split with `trainShare` of the videos for training.
    public static func given(videos: Int, frames: Int, classCount: Int, splits: [Int], trainShare: Double) -> Workload {
        let train = Int((Double(videos) * trainShare).rounded())
        return Workload(videos: videos, splits: splits.map { Split(split: $0, train: train, test: videos - train) },
                        frameCounts: [frames], classCount: classCount,
                        source: "given: \(videos) videos × \(frames) frames, \(Int((trainShare * 100).rounded()))% training")
    }

    /// The configured dataset's split files, with the frame counts of up to `sample` videos
    /// (chosen with a fixed seed) decoded at 16×16 with the config's `every` and `max_frames`.
    public static func measured(_ config: PipelineConfig, sample: Int) throws -> Workload {
        var splits: [Split] = []
        var all: Set<String> = []
        var classCount = 0
        for n in config.dataset.splits {
            let split = try DatasetReader.read(config.dataset.format, root: config.datasetRoot, split: n, checkFiles: false).split
            splits.append(Split(split: n, train: split.train.count, test: split.test.count))
            all.formUnion(split.allVideos.map(\.relativePath))
            classCount = split.classNames.count
        }
        var paths = all.sorted()
        var random = SplitMix64(seed: 2016)
        shuffle(&paths, using: &random)
        let options = DecodeOptions(size: 16, every: config.decode.every, maxFrames: config.decode.maxFrames)
        setFFmpegLogLevel(.error)
        var counts: [Int] = []
        for path in paths.prefix(sample) {
            let url = config.datasetRoot.appendingPathComponent(path)
            if let video = try? decodeVideo(at: url, options: options) { counts.append(video.frameCount) }
        }
        guard !counts.isEmpty else {
            throw JAMError("none of \(min(sample, paths.count)) sampled videos could be decoded; "
                           + "run jam-decode to see why, or give --videos N --frames F", file: config.datasetRoot.path)
        }
        return Workload(videos: all.count, splits: splits, frameCounts: counts, classCount: classCount,
                        source: "\(config.dataset.name) at \(config.datasetRoot.path): \(all.count) videos, "
                            + "frames from \(counts.count) sampled")
    }
}

/// Hours per stage and disk per artifact kind for a config and workload on this machine, from
/// measured `UnitCosts`. The arithmetic is the stages' own: clips from `ClipSampler`, every
/// epoch trains on the split's training clips and validates on all its test clips, jam-c3d
/// exports each video's cubes through the whole video, jam-lstm exports every clip of every video.
public struct CostEstimate: Sendable {
    public struct Row: Sendable {
        public var stage: String
        /// What the hours are made of, in words.
        public var work: String
        public var hours: Double
    }
    public struct Disk: Sendable {
        public var kind: String
        public var bytes: Double
        public var note: String
    }
    public var rows: [Row] = []
    public var disk: [Disk] = []
    public var totalHours: Double { rows.reduce(0) { $0 + $1.hours } }
    public var totalBytes: Double { disk.reduce(0) { $0 + $1.bytes } }

    public init(config c: PipelineConfig, workload w: Workload, costs u: UnitCosts) {
        let frames = Double(w.videos) * w.meanFrames
        let side = Double(c.decode.size), map = Double(c.decode.size / 16)
        let branches = Double(c.c3d.branches.count)
        let rounds = c.c3d.rounds
        rows.append(Row(stage: "jam-decode", work: "\(Self.count(frames)) frames", hours: frames * u.decodePerFrame / 3600))
        rows.append(Row(stage: "jam-features", work: "\(Self.count(frames)) frames", hours: frames * u.featuresPerFrame / 3600))

        let c3dClips = w.meanClips(length: c.c3d.clipLength, stride: c.c3d.clipStride)
        let lstmClips = w.meanClips(length: c.lstm.clipLength, stride: c.lstm.clipStride)
        let videoClips = w.meanFrames / Double(c.c3d.clipLength)  // a whole-video export, in clip-lengths
        for round in 1...rounds {
            var c3d = 0.0, lstm = 0.0, trainClips = 0.0, testClips = 0.0
            for s in w.splits {
                let (train, test) = (Double(s.train) * c3dClips, Double(s.test) * c3dClips)
                trainClips += train
                testClips += test
                c3d += Double(c.c3d.epochs) * branches * (train * u.c3dTrainPerClip + test * u.c3dForwardPerClip)
                c3d += Double(s.train + s.test) * videoClips * branches * u.c3dForwardPerClip
                let (lTrain, lTest) = (Double(s.train) * lstmClips, Double(s.test) * lstmClips)
                lstm += Double(c.lstm.epochs) * (lTrain * u.lstmTrainPerClip + lTest * u.lstmForwardPerClip)
                lstm += Double(s.train + s.test) * lstmClips * u.lstmForwardPerClip
            }
            let splits = w.splits.count
            rows.append(Row(stage: "jam-c3d --round \(round)",
                            work: c.c3d.middle == .none ? "no training (middle none)"
                                : "\(splits) split(s) × \(c.c3d.epochs) epochs × \(Self.count(trainClips / Double(splits))) clips"
                                    + " × \(Int(branches)) branch(es), validating \(Self.count(testClips / Double(splits))) clips",
                            hours: c3d / 3600))
            rows.append(Row(stage: "jam-lstm --round \(round)",
                            work: "\(splits) split(s) × \(c.lstm.epochs) epochs × "
                                + "\(Self.count(Double(w.splits.reduce(0) { $0 + $1.train }) * lstmClips / Double(splits))) clips",
                            hours: lstm / 3600))
        }

        let splitsRounds = Double(w.splits.count * rounds)
        let featureBytes = c.features.storage == .float16 ? 2.0 : 4.0
        let g = CostCalibration.cubeGeometry(c)
        let cubeFloats = Double(g.grid * g.grid) * Double(g.channels.reduce(0, +))
        let cells = Double(g.grid * g.grid)
        disk.append(Disk(kind: "frames", bytes: frames * side * side * 3, note: "uint8 \(c.decode.size)×\(c.decode.size)×3"))
        disk.append(Disk(kind: "features", bytes: frames * 2 * map * map * 512 * featureBytes,
                         note: "2 taps × \(Int(map))×\(Int(map))×512, \(c.features.storage.rawValue), before compression"
                            + (c.features.compression == .none ? "" : " (deflate saves about a third: docs/BENCHMARKS.md)")))
        let cubeBytes = c.c3d.cubeStorage == .float16 ? 2.0 : 4.0
        disk.append(Disk(kind: "cubes", bytes: splitsRounds * Double(w.videos) * w.meanFrames * cubeFloats * cubeBytes,
                         note: "\(Int(splitsRounds)) split-round(s) × \(g.grid)×\(g.grid)×\(g.channels.map(String.init).joined(separator: "+")) "
                            + "\(c.c3d.cubeStorage.rawValue) per frame, before compression"))
        let mapsPerStep = c.lstm.attention == .perBranch ? Double(g.branches.count) : (c.lstm.attention == .none ? 0 : 1)
        disk.append(Disk(kind: "attention", bytes: splitsRounds * Double(w.videos) * lstmClips
                            * (Double(c.lstm.clipLength) * (mapsPerStep * cells + Double(w.classCount)) * 4),
                         note: "maps and per-step probabilities of every clip"))
    }

    /// 1234567 → "1.23 M".
    static func count(_ x: Double) -> String {
        if x >= 1e6 { return String(format: "%.2f M", x / 1e6) }
        if x >= 1e4 { return String(format: "%.1f k", x / 1e3) }
        return String(format: "%.0f", x)
    }

    /// 1.5e12 → "1.50 TB".
    public static func bytes(_ x: Double) -> String {
        for (unit, scale) in [("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)] where x >= scale {
            return String(format: "%.2f ", x / scale) + unit
        }
        return String(format: "%.0f B", x)
    }

    /// 12.3 h → "12.3 h"; 1000 h → "41.7 days".
    public static func duration(_ hours: Double) -> String {
        if hours < 1 { return String(format: "%.0f min", hours * 60) }
        if hours < 48 { return String(format: "%.1f h", hours) }
        return String(format: "%.1f days", hours / 24)
    }

    /// The table `jam-config estimate` prints.
    public var table: String {
        func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
        func right(_ s: String, _ n: Int) -> String { s.count >= n ? s : String(repeating: " ", count: n - s.count) + s }
        var lines = [pad("stage", 22) + right("hours", 10) + right("time", 12) + "   work"]
        for r in rows {
            lines.append(pad(r.stage, 22) + right(String(format: "%.1f", r.hours), 10) + right(Self.duration(r.hours), 12)
                         + "   " + r.work)
        }
        lines.append(pad("total", 22) + right(String(format: "%.1f", totalHours), 10) + right(Self.duration(totalHours), 12))
        lines.append("")
        lines.append(pad("artifact", 12) + right("disk", 10) + "   per frame / clip")
        for d in disk { lines.append(pad(d.kind, 12) + right(Self.bytes(d.bytes), 10) + "   " + d.note) }
        lines.append(pad("total", 12) + right(Self.bytes(totalBytes), 10))
        return lines.joined(separator: "\n")
    }
}
