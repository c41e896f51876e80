// Tests: Tests/JAMVideoTests/SyntheticActionGeneratorTests.swift (tracks against the rendered masks)
import Foundation

/// Where the moving object of a synthetic video is in each of its frames, in the video's own
/// pixel coordinates (x right, y down, origin at the top-left corner of the top-left pixel).
/// jam-synth writes one beside every video as `<video>.track.json`; jam-eval, when it finds
/// them, measures how much of the attention falls on the object (docs/ARTIFACTS.md).
public struct ObjectTrack: Codable, Sendable, Equatable {
    /// One frame: the object's centre (coverage-weighted) and its bounding box
    /// `[x0, y0, x1, y1]`, x1 and y1 exclusive, over the pixels it covers at least half.
    public struct Frame: Codable, Sendable, Equatable {
        public var center: [Double]
        public var box: [Int]
        public init(center: [Double], box: [Int]) {
            self.center = center
            self.box = box
        }
    }

    /// The video's frame size.
    public var width: Int
    public var height: Int
    /// One per source frame, in order.
    public var frames: [Frame]

    public init(width: Int, height: Int, frames: [Frame]) {
        self.width = width
        self.height = height
        self.frames = frames
    }

    /// `<folder>/<name>.track.json` for the video `<folder>/<name>.<ext>`.
    public static func sidecarURL(forVideo url: URL) -> URL {
        url.deletingPathExtension().appendingPathExtension("track.json")
    }

    /// Writes the track atomically (temporary name, then rename).
    public func write(to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(self)
        let temporary = AtomicFile.temporaryURL(for: url)
        do {
            try data.write(to: temporary)
            try AtomicFile.commit(temporary: temporary, to: url)
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw JAMError("cannot write the object track (\(error.localizedDescription))", file: url.path)
        }
    }

    /// Reads a track, or nil when the file does not exist. Throws a `JAMError` naming the
    /// file when it exists but is not a track.
    public static func read(_ url: URL) throws -> ObjectTrack? {
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        do {
            let track = try JSONDecoder().decode(ObjectTrack.self, from: Data(contentsOf: url))
            guard track.frames.allSatisfy({ $0.center.count == 2 && $0.box.count == 4 }) else {
                throw JAMError("a frame's center is not [x, y] or its box not [x0, y0, x1, y1]", file: url.path)
            }
            return track
        } catch let error as JAMError {
            throw error
        } catch {
            throw JAMError("not an object track (\(error.localizedDescription)); rerun jam-synth to rewrite it",
                           file: url.path)
        }
    }
}
