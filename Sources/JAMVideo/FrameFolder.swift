// Tests: Tests/JAMVideoTests/FrameFolderTests.swift (naming rules, gaps, the decoded frames against the ffmpeg CLI)
import Foundation

/// A folder of numbered images read as one video (MMAction2's "rawframes":
/// `<class>/<video>/img_00001.jpg`, `img_00002.jpg`, …).
///
/// Naming: every image (`.jpg`, `.jpeg`, `.png`, any letter case; hidden and other files are
/// ignored) is `<prefix><number>.<ext>` with one prefix and one extension, the number written
/// with one zero padding (`img_00001.jpg`, or unpadded `1.png … 10.png`), and the numbers
/// contiguous from the first one, which may be any number (0 and 1 are usual). A folder holding
/// several such sequences (MMAction2 keeps `flow_x_`/`flow_y_` beside `img_`) is read through the
/// `img_` one; otherwise several sequences are an error. A gap, a mixed padding, an image without
/// a number throws a `VideoError` (`.frameFolder`) naming the folder and the offending file.
///
/// Frame i of the video is the image numbered `firstNumber + i`, read by FFmpeg's image2 demuxer
/// from `pattern` (for example `img_%05d.jpg`) starting at `firstNumber`: the route
/// `ffmpeg -start_number N -i folder/img_%05d.jpg` takes.
public struct FrameFolder: Sendable, Equatable {
    /// Image extensions taken as frames (compared lowercased); JAMDatasets' `VideoSource` uses
    /// the same set to tell a frame folder in a dataset.
    public static let imageExtensions: Set<String> = ["jpg", "jpeg", "png"]
    /// The prefix preferred when a folder holds several sequences (MMAction2's RGB frames).
    public static let preferredPrefix = "img_"

    public var folder: URL
    /// Text before the number, as in the file names (`img_`).
    public var prefix: String
    /// Extension as in the file names, without the dot (`jpg`).
    public var fileExtension: String
    /// Digits the number is zero-padded to; 1 when unpadded.
    public var width: Int
    /// The first (smallest) number.
    public var firstNumber: Int
    /// Images in the sequence, T.
    public var count: Int

    /// The file name pattern in printf syntax, as the ffmpeg CLI takes it: `img_%05d.jpg`.
    public var pattern: String {
        prefix + (width > 1 ? "%0\(width)d" : "%d") + "." + fileExtension
    }

    /// The file name of frame `t` (0-based).
    public func fileName(frame t: Int) -> String {
        prefix + Self.digits(firstNumber + t, width: width) + "." + fileExtension
    }

    /// Lists `folder` and works out its sequence; throws a `VideoError` naming the folder (and
    /// the file at fault) when the images do not follow the naming rules above.
    public init(scanning folder: URL) throws {
        func fail(_ m: String) -> VideoError { VideoError(path: folder.path, reason: .frameFolder(m)) }
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: folder.path)
        } catch {
            throw FileManager.default.fileExists(atPath: folder.path)
                ? fail("cannot list the folder: \(error.localizedDescription)")
                : VideoError(path: folder.path, reason: .fileMissing)
        }
        let images = names.filter { !$0.hasPrefix(".") && Self.isImageName($0) }.sorted()
        guard !images.isEmpty else {
            throw fail("no images (.jpg, .jpeg, .png) in the folder; a frame folder holds numbered images such as img_00001.jpg")
        }

        struct Numbered { var name: String; var prefix: String; var ext: String; var digits: Substring; var number: Int }
        var sequences: [String: [Numbered]] = [:]  // by prefix + "\0" + extension
        for name in images {
            let ext = (name as NSString).pathExtension
            let stem = name.dropLast(ext.count + 1)
            let digits = stem.reversed().prefix { $0.isASCII && $0.isNumber }.count
            guard digits > 0, digits <= 15, let number = Int(stem.suffix(digits)) else {
                throw fail("\(name) has no frame number before its extension; name the images <prefix><number>.\(ext), e.g. img_00001.\(ext)")
            }
            let prefix = String(stem.dropLast(digits))
            sequences[prefix + "\u{0}" + ext, default: []].append(
                Numbered(name: name, prefix: prefix, ext: ext, digits: stem.suffix(digits), number: number))
        }

        var chosen = Array(sequences.values)
        if chosen.count > 1 {
            let preferred = chosen.filter { $0[0].prefix == Self.preferredPrefix }
            guard preferred.count == 1 else {
                let listed = chosen.map { "\($0[0].prefix)<number>.\($0[0].ext) (\($0.count) images)" }.sorted()
                throw fail("several image sequences: \(listed.joined(separator: ", ")); keep one per folder (or name the frames \(Self.preferredPrefix)<number>)")
            }
            chosen = preferred
        }
        let sequence = chosen[0].sorted { $0.number < $1.number }
        let first = sequence[0]
        let width = first.digits.count

        // One padding: every name must be what the pattern prints for its number.
        for image in sequence where image.digits != Self.digits(image.number, width: width)[...] {
            let expected = image.prefix + Self.digits(image.number, width: width) + "." + image.ext
            throw fail("\(image.name) is padded differently from \(first.name) (expected \(expected)); number every image with the same zero padding")
        }
        // Contiguous from the first number: image2 would stop at the first gap.
        for (i, image) in sequence.enumerated() where image.number != first.number + i {
            let missing = first.prefix + Self.digits(first.number + i, width: width) + "." + first.ext
            let last = sequence[sequence.count - 1]
            let absent = last.number - first.number + 1 - sequence.count
            throw fail("frame \(missing) is missing (the images \(first.name) … \(last.name) must be numbered without gaps; \(absent) missing); renumber the images contiguously or extract the frames again")
        }

        self.folder = folder
        prefix = first.prefix
        fileExtension = first.ext
        self.width = width
        firstNumber = first.number
        count = sequence.count
    }

    /// Whether `name` has an image extension taken as a frame.
    public static func isImageName(_ name: String) -> Bool {
        imageExtensions.contains((name as NSString).pathExtension.lowercased())
    }

    /// The path image2 opens: the folder and the pattern, with `%` in them written `%%`.
    var ffmpegPattern: String {
        func escaped(_ s: String) -> String { s.replacingOccurrences(of: "%", with: "%%") }
        return escaped(folder.path) + "/" + escaped(prefix) + (width > 1 ? "%0\(width)d" : "%d") + "." + escaped(fileExtension)
    }

    private static func digits(_ n: Int, width: Int) -> String {
        let plain = String(n)
        return plain.count >= width ? plain : String(repeating: "0", count: width - plain.count) + plain
    }
}
