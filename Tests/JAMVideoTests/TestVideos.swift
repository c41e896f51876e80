import Foundation
import JAMVideo

/// Small generated videos for the tests, written into a test's temporary directory.
enum TestVideos {
    /// Writes a synthetic action video and returns its URL.
    static func write(
        in directory: URL, name: String, width: Int, height: Int, frames: Int,
        codec: VideoCodec, classIndex: Int = 0, videoIndex: Int = 0, seed: UInt64 = 11
    ) throws -> URL {
        let generator = try SyntheticActionGenerator(
            width: width, height: height, frames: frames, fps: 25, classes: 10, seed: seed)
        let url = directory.appendingPathComponent("\(name).\(codec.fileExtension)")
        try generator.writeVideo(classIndex: classIndex, videoIndex: videoIndex, to: url, codec: codec)
        return url
    }

    /// Frame `t` of a `[T, S, S, 3]` buffer.
    static func frame(_ buffer: [UInt8], _ t: Int, size: Int) -> ArraySlice<UInt8> {
        let n = size * size * 3
        return buffer[(t * n)..<((t + 1) * n)]
    }

    /// Index and byte count of the first differing frame, for readable failures.
    static func firstDifference(_ a: [UInt8], _ b: [UInt8], frameBytes: Int) -> String {
        if a.count != b.count { return "lengths \(a.count) vs \(b.count) (\(a.count / frameBytes) vs \(b.count / frameBytes) frames)" }
        for (i, (x, y)) in zip(a, b).enumerated() where x != y {
            let differing = zip(a, b).filter { $0 != $1 }.count
            return "first difference in frame \(i / frameBytes) at byte \(i % frameBytes): \(x) vs \(y); \(differing) bytes differ"
        }
        return "identical"
    }
}
