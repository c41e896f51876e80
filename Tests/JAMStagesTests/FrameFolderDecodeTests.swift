import Foundation
import JAMArtifacts
import JAMCore
import JAMTestSupport
import Testing

/// jam-decode on a folder dataset whose class holds frame folders (MMAction2's rawframes,
/// `<class>/<video>/img_00001.jpg`) beside a class of video files, through the built executable.
@Suite(.serialized) struct FrameFolderDecodeTests {
    /// Runs the ffmpeg CLI (the fixture maker and the reference); fails the test if it is missing.
    func ffmpeg(_ arguments: [String]) throws {
        let cli = URL(fileURLWithPath: "/usr/bin/ffmpeg")
        try #require(FileManager.default.isExecutableFile(atPath: cli.path),
                     "the ffmpeg CLI (/usr/bin/ffmpeg) makes the fixture and the reference: apt-get install ffmpeg")
        let run = try runProcess(cli, ["-hide_banner", "-loglevel", "error", "-nostdin"] + arguments)
        try #require(run.status == 0, "ffmpeg \(arguments.joined(separator: " ")): \(run.stderr)")
    }

    @Test func rawframesClassDecodesLikeTheCLIAndAGapIsReported() throws {
        try withTemporaryDirectory { dir in
            let root = dir.appendingPathComponent("mine")
            let fm = FileManager.default
            // Walk: three frame folders of JPEGs from FFmpeg's test pattern; Run: three AVI files.
            for i in 1...3 {
                let folder = root.appendingPathComponent("Walk/walk_0\(i)")
                try fm.createDirectory(at: folder, withIntermediateDirectories: true)
                try ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=80x60:rate=25:duration=0.\(2 + i)", "-q:v", "4",
                            folder.appendingPathComponent("img_%05d.jpg").path])
                try fm.createDirectory(at: root.appendingPathComponent("Run"), withIntermediateDirectories: true)
                try ffmpeg(["-f", "lavfi", "-i", "testsrc=size=64x48:rate=25:duration=0.\(2 + i)", "-c:v", "mpeg4",
                            root.appendingPathComponent("Run/run_0\(i).avi").path])
            }
            // A fourth Walk video with image 3 missing: a failure of that video alone.
            let gap = root.appendingPathComponent("Walk/walk_04")
            try fm.createDirectory(at: gap, withIntermediateDirectories: true)
            try ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=80x60:rate=25:duration=0.2", gap.appendingPathComponent("img_%05d.jpg").path])
            try fm.removeItem(at: gap.appendingPathComponent("img_00003.jpg"))

            let config = dir.appendingPathComponent("my.json")
            try """
                { "artifacts_root": "artifacts",
                  "dataset": { "name": "tiny", "format": "folders", "root": "mine", "splits": [1, 2, 3] },
                  "decode": { "size": 32, "resize": "stretch", "every": 2, "max_frames": 0, "threads": 2 } }
                """.write(to: config, atomically: true, encoding: .utf8)
            let decode = try runExecutable("jam-decode", ["--config", config.path], in: dir)
            #expect(decode.status == 1, "one video is bad: \(decode.stdout)\(decode.stderr)")
            #expect(decode.stderr.contains("walk_04: frame folder: frame img_00003.jpg is missing"), "\(decode.stderr)")

            let folder = try stageFolder(dir.appendingPathComponent("artifacts"), "frames")
            #expect(artifactFiles(under: folder) == [
                "Run/run_01.h5", "Run/run_02.h5", "Run/run_03.h5", "Walk/walk_01.h5", "Walk/walk_02.h5", "Walk/walk_03.h5",
            ])
            let report = try JSONValue.read(contentsOf: folder.appendingPathComponent("stage-report.json"))
            #expect(report["completed"]?.intValue == 6)
            #expect(report["failures"]?.arrayValue?.count == 1)

            for i in 1...3 {
                let images = root.appendingPathComponent("Walk/walk_0\(i)")
                let reader = try ArtifactReader(url: folder.appendingPathComponent("Walk/walk_0\(i).h5"), expecting: .frames)
                let (frames, shape) = try reader.file.read("frames", as: UInt8.self)
                // The CLI reads the images with image2 and keeps every 2nd frame (select), scaled as jam-decode does.
                let reference = dir.appendingPathComponent("walk_0\(i).rgb")
                try ffmpeg(["-i", images.appendingPathComponent("img_%05d.jpg").path,
                            "-vf", "select=not(mod(n\\,2)),scale=32:32:flags=bicubic", "-fps_mode", "passthrough",
                            "-f", "rawvideo", "-pix_fmt", "rgb24", reference.path])
                let cli = [UInt8](try Data(contentsOf: reference))
                let imageCount = try fm.contentsOfDirectory(atPath: images.path).count
                let kept = (imageCount + 1) / 2
                #expect(shape == [kept, 32, 32, 3])
                #expect(frames == cli, "walk_0\(i): the frames differ from the ffmpeg CLI's")
                #expect(try reader.file.read("frame_index", as: Int32.self).data == (0..<kept).map { Int32($0 * 2) })
                #expect(try reader.file.stringAttribute("video") == "Walk/walk_0\(i)")
                #expect(try reader.file.stringAttribute("class_name") == "Walk")
                #expect(try reader.file.intAttribute("label") == 1)
                #expect(try reader.file.intAttribute("source_frame_count") == imageCount)
                #expect(try reader.file.intAttribute("source_width") == 80)
                #expect(try reader.file.doubleAttribute("source_fps") == 0)
                #expect(reader.header.source == images.path)
            }
            let run = try ArtifactReader(url: folder.appendingPathComponent("Run/run_01.h5"), expecting: .frames)
            #expect(try run.file.doubleAttribute("source_fps") == 25)
        }
    }
}
