import Foundation
import JAMArtifacts
import JAMCore
import JAMTestSupport
import Testing

/// jam-synth and jam-decode end to end, through the built executables (the same path a user's
/// run and the pipeline script take).
@Suite(.serialized) struct DecodeStageTests {
    @Test func synthThenDecodeWritesOneFramesArtifactPerVideo() throws {
        try withTemporaryDirectory { dir in
            let config = try writeTinyConfig(in: dir)
            let synth = try runExecutable("jam-synth", ["--config", config.path], in: dir)
            #expect(synth.status == 0, "jam-synth: \(synth.stderr)")
            let lists = dir.appendingPathComponent("synth/ucfTrainTestlist")
            for name in ["classInd.txt", "trainlist01.txt", "testlist01.txt", "trainlist03.txt", "testlist03.txt"] {
                #expect(FileManager.default.fileExists(atPath: lists.appendingPathComponent(name).path), "\(name)")
            }

            let decode = try runExecutable("jam-decode", ["--config", config.path], in: dir)
            #expect(decode.status == 0, "jam-decode: \(decode.stderr)")
            let folder = try stageFolder(dir.appendingPathComponent("artifacts"), "frames")
            let files = artifactFiles(under: folder)
            #expect(files.count == 6 * 3, "splits 1 and 2 together hold every video: \(files)")
            #expect(files.contains("MoveLeft/v_MoveLeft_g01_c01.h5"))

            let reader = try ArtifactReader(url: folder.appendingPathComponent("MoveLeft/v_MoveLeft_g02_c01.h5"), expecting: .frames)
            let (frames, shape) = try reader.file.read("frames", as: UInt8.self)
            #expect(shape == [12, 32, 32, 3])
            #expect(frames.contains { $0 > 0 })
            #expect(try reader.file.read("frame_index", as: Int32.self).data == (0..<12).map(Int32.init))
            #expect(try reader.file.stringAttribute("class_name") == "MoveLeft")
            #expect(try reader.file.intAttribute("label") == 1)
            #expect(try reader.file.intAttribute("source_width") == 64)
            #expect(try reader.file.intAttribute("source_frame_count") == 12)
            #expect(reader.header.configDigest == folder.lastPathComponent)

            let report = try JSONValue.read(contentsOf: folder.appendingPathComponent("stage-report.json"))
            #expect(report["completed"]?.intValue == 18)
            #expect(report["failures"]?.arrayValue?.isEmpty == true)

            // A second run finds everything done and redoes nothing.
            let again = try runExecutable("jam-decode", ["--config", config.path], in: dir)
            #expect(again.status == 0)
            #expect(again.stdout.contains("0 done, 18 already done"), "\(again.stdout)")
            // --force redoes every unit.
            let forced = try runExecutable("jam-decode", ["--config", config.path, "--force"], in: dir)
            #expect(forced.stdout.contains("18 done, 0 already done"), "\(forced.stdout)")
        }
    }

    @Test func sameSeedGivesByteIdenticalVideos() throws {
        try withTemporaryDirectory { dir in
            let a = try writeTinyConfig(in: dir, name: "a.json", videosPerClass: 3, root: "a")
            let b = try writeTinyConfig(in: dir, name: "b.json", videosPerClass: 3, root: "b")
            #expect(try runExecutable("jam-synth", ["--config", a.path, "--threads", "1"], in: dir).status == 0)
            #expect(try runExecutable("jam-synth", ["--config", b.path, "--threads", "2"], in: dir).status == 0)
            let video = "RotateClockwise/v_RotateClockwise_g03_c01.avi"
            let first = try Data(contentsOf: dir.appendingPathComponent("a/\(video)"))
            let second = try Data(contentsOf: dir.appendingPathComponent("b/\(video)"))
            #expect(first.count > 1000)
            #expect(first == second)
        }
    }

    @Test func changingSynthSettingsIsRefusedWithoutForce() throws {
        try withTemporaryDirectory { dir in
            let config = try writeTinyConfig(in: dir, frames: 8)
            #expect(try runExecutable("jam-synth", ["--config", config.path], in: dir).status == 0)
            let changed = try writeTinyConfig(in: dir, frames: 9)
            let refused = try runExecutable("jam-synth", ["--config", changed.path], in: dir)
            #expect(refused.status != 0)
            #expect(refused.stderr.contains("other synth settings"), "\(refused.stderr)")
            let forced = try runExecutable("jam-synth", ["--config", changed.path, "--force"], in: dir)
            #expect(forced.status == 0, "\(forced.stderr)")
        }
    }

    @Test func killedDecodeResumesToTheSameArtifacts() throws {
        try withTemporaryDirectory { dir in
            let config = try writeTinyConfig(in: dir, videosPerClass: 6, frames: 40, size: 64)
            #expect(try runExecutable("jam-synth", ["--config", config.path], in: dir).status == 0)
            let reference = try writeTinyConfig(in: dir, name: "reference.json", artifacts: "reference",
                                                videosPerClass: 6, frames: 40, size: 64)
            #expect(try runExecutable("jam-decode", ["--config", reference.path], in: dir).status == 0)

            // Kill -9 as soon as the first artifact is published, while others are being written.
            let process = try launch("jam-decode", ["--config", config.path, "--threads", "1"], in: dir)
            let base = dir.appendingPathComponent("artifacts/tiny/frames")
            let started = waitUntil(timeout: 60) {
                guard let walker = FileManager.default.enumerator(atPath: base.path) else { return false }
                return walker.contains { ($0 as? String)?.hasSuffix(".h5") == true }
            }
            #expect(started)
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            #expect(process.terminationReason == .uncaughtSignal, "jam-decode finished before it could be killed")
            let folder = try stageFolder(dir.appendingPathComponent("artifacts"), "frames")
            let partial = artifactFiles(under: folder)
            #expect(partial.count < 36, "the kill came after every video was done")

            let resumed = try runExecutable("jam-decode", ["--config", config.path], in: dir)
            #expect(resumed.status == 0, "\(resumed.stderr)")
            #expect(resumed.stdout.contains("\(partial.count) already done"), "\(resumed.stdout)")
            let referenceFolder = try stageFolder(dir.appendingPathComponent("reference"), "frames")
            let files = artifactFiles(under: folder)
            #expect(files == artifactFiles(under: referenceFolder))
            #expect(files.count == 36)
            for file in files {
                #expect(try artifactContents(folder.appendingPathComponent(file))
                        == artifactContents(referenceFolder.appendingPathComponent(file)), "\(file)")
            }
            let leftovers = FileManager.default.enumerator(atPath: folder.path)!.compactMap { $0 as? String }
                .filter { AtomicFile.isTemporaryName($0) }
            #expect(leftovers.isEmpty, "temporary files left: \(leftovers)")
        }
    }

    @Test func killedSynthResumesToTheSameVideos() throws {
        try withTemporaryDirectory { dir in
            let config = try writeTinyConfig(in: dir, videosPerClass: 4, frames: 30)
            let reference = try writeTinyConfig(in: dir, name: "reference.json", videosPerClass: 4, frames: 30, root: "reference")
            #expect(try runExecutable("jam-synth", ["--config", reference.path], in: dir).status == 0)
            let process = try launch("jam-synth", ["--config", config.path, "--threads", "1"], in: dir)
            let firstVideo = dir.appendingPathComponent("synth/MoveRight/v_MoveRight_g01_c01.avi")
            #expect(waitUntil(timeout: 60) { FileManager.default.fileExists(atPath: firstVideo.path) })
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            #expect(process.terminationReason == .uncaughtSignal)
            let resumed = try runExecutable("jam-synth", ["--config", config.path], in: dir)
            #expect(resumed.status == 0, "\(resumed.stderr)")
            let names = try FileManager.default.subpathsOfDirectory(atPath: dir.appendingPathComponent("reference").path)
                .filter { $0.hasSuffix(".avi") }.sorted()
            #expect(names.count == 24)
            for name in names {
                #expect(try Data(contentsOf: dir.appendingPathComponent("synth/\(name)"))
                        == Data(contentsOf: dir.appendingPathComponent("reference/\(name)")), "\(name)")
            }
        }
    }
}
