import Foundation
import JAMArtifacts
import JAMConfig
import JAMCore
import JAMStages
import JAMTestSupport
import JAMTraining
import Testing

/// Issue 13: every failure says the true cause and a fix that works — damaged outputs are
/// verified and redone, every "rerun X" advice is run here to show it fixes the problem, a full
/// disk and permissions are said as such, the file at fault is named once, leftovers are swept.
@Suite(.serialized) struct FailureMessageTests {
    /// One round, one split: every stage in a few seconds.
    static let training = """
        ,
          "c3d": { "clip_length": 8, "clip_stride": 4, "conv1_width": 8, "conv2_width": 8, "hidden_width": 16,
                   "pool": false, "epochs": 2, "batch": 4, "checkpoint_every": 3, "rounds": 1 },
          "lstm": { "hidden": 16, "layers": 2, "clip_length": 8, "clip_stride": 4, "vote_steps": 4,
                    "epochs": 2, "batch": 4, "checkpoint_every": 3 }
        """

    /// Runs a stage executable and checks its exit status, showing its standard error when wrong.
    @discardableResult
    func run(_ stage: String, _ arguments: [String] = [], config: URL, in dir: URL, expect status: Int32 = 0,
             sourceLocation: SourceLocation = #_sourceLocation) throws -> ProcessResult {
        let result = try runExecutable(stage, arguments + ["--config", config.path], in: dir)
        #expect(result.status == status, "\(stage) \(arguments) exited \(result.status): \(result.stderr.suffix(2000))",
                sourceLocation: sourceLocation)
        return result
    }

    /// The first training video of split 1 (`Class/v_….avi`) as an artifact name (`Class/v_….h5`).
    func firstTrainingVideo(_ dir: URL) throws -> String {
        let list = try String(contentsOf: dir.appendingPathComponent("synth/ucfTrainTestlist/trainlist01.txt"), encoding: .utf8)
        let path = try #require(list.split(separator: "\n").first?.split(separator: " ").first)
        return String(path.dropLast(4)) + ".h5"
    }

    @Test func damagedOutputsAreRedoneAndEveryRerunAdviceWorks() throws {
        try withTemporaryDirectory { dir in
            let config = try writeTinyConfig(in: dir, videosPerClass: 3, frames: 12, splits: "[1]", training: Self.training)
            for stage in ["jam-synth", "jam-decode", "jam-features", "jam-c3d"] { try run(stage, config: config, in: dir) }
            let artifacts = dir.appendingPathComponent("artifacts")
            let video = try firstTrainingVideo(dir)
            let features = try stageFolder(artifacts, "features").appendingPathComponent(video)
            let frames = try stageFolder(artifacts, "frames").appendingPathComponent(video)
            let featuresBefore = try artifactContents(features)
            let framesBefore = try artifactContents(frames)

            // 1. A truncated features file: jam-c3d names it (not its checkpoint) and says to run jam-features…
            let bytes = try Data(contentsOf: features)
            try bytes.prefix(bytes.count / 2).write(to: features)
            let refused = try run("jam-c3d", config: config, in: dir, expect: 1)
            #expect(refused.stderr.contains(features.path), "the damaged input is not named: \(refused.stderr)")
            #expect(refused.stderr.contains("run jam-features"), "\(refused.stderr)")
            // …which redoes it, bit-identical, saying which and why…
            let redone = try run("jam-features", config: config, in: dir)
            #expect(redone.stderr.contains("REDO \(video.dropLast(3))"), "\(redone.stderr)")
            #expect(redone.stdout.contains(": 1 done,"), "\(redone.stdout)")
            #expect(try artifactContents(features) == featuresBefore)
            // …and then jam-c3d goes on as before.
            try run("jam-c3d", config: config, in: dir)

            // 2. A zero-byte checkpoint: jam-c3d retrains from scratch to the same weights.
            let checkpoint = try stageFolder(artifacts, "cubes").appendingPathComponent("split1/checkpoint.h5")
            let weights = try TrainingCheckpoint.read(from: checkpoint, expecting: .c3dCheckpoint).0.values
            try Data().write(to: checkpoint)
            let retrained = try run("jam-c3d", config: config, in: dir)
            #expect(retrained.stderr.contains("REDO training"), "\(retrained.stderr)")
            #expect(try TrainingCheckpoint.read(from: checkpoint, expecting: .c3dCheckpoint).0.values == weights)

            // 3. A zeroed frames file: jam-decode redoes it.
            try Data(count: try Data(contentsOf: frames).count).write(to: frames)
            let decoded = try run("jam-decode", config: config, in: dir)
            #expect(decoded.stderr.contains("REDO"), "\(decoded.stderr)")
            #expect(try artifactContents(frames) == framesBefore)

            // 4. A NaN written into a finished file passes the quick check; --verify finds and redoes it.
            do {
                let file = try HDF5File.open(at: features, writable: true)
                let nan: [Float] = [.nan]
                try nan.withUnsafeBufferPointer { try file.openDataset("pool4").write(buffer: $0, at: [0, 0, 0, 0], shape: [1, 1, 1, 1]) }
            }
            #expect(try run("jam-features", config: config, in: dir).stdout.contains(": 0 done,"))
            func scan() throws { _ = try FeaturesArtifact.scan(features, video: video, taps: ["pool4"], expected: nil, meanMaps: false) }
            #expect { try scan() } throws: { String(describing: $0).contains("rerun jam-features --verify") }
            let verified = try run("jam-features", ["--verify"], config: config, in: dir)
            #expect(verified.stderr.contains("REDO") && verified.stderr.contains("nan"), "\(verified.stderr)")
            #expect(try artifactContents(features) == featuresBefore)
            try scan()
        }
    }

    @Test func failedLinesNameTheFileOnceAndFFmpegStaysQuiet() throws {
        try withTemporaryDirectory { dir in
            _ = try BadInputTests().makeBadDataset(in: dir)
            // A JPEG named .avi joins the bad inputs (point 3).
            _ = try runProcess(URL(fileURLWithPath: "/usr/bin/ffmpeg"), [
                "-v", "error", "-f", "lavfi", "-i", "testsrc=size=64x48", "-frames:v", "1", "-f", "image2",
                "-y", dir.appendingPathComponent("bad/MoveRight/picture.avi").path])
            let list = dir.appendingPathComponent("bad/ucfTrainTestlist/trainlist01.txt")
            try (try String(contentsOf: list, encoding: .utf8) + "MoveRight/picture.avi 1\n").write(to: list, atomically: true, encoding: .utf8)
            let config = try writeTinyConfig(in: dir, root: "bad", synthetic: false, splits: "[1]")
            let result = try run("jam-decode", config: config, in: dir, expect: 1)
            let failed = result.stderr.split(separator: "\n").filter { $0.contains("FAILED ") }
            #expect(failed.count >= 5, "\(result.stderr)")
            for line in failed {
                let path = line.components(separatedBy: "FAILED ")[1].components(separatedBy: ": ")[0]
                #expect(line.components(separatedBy: path).count == 2, "path named more than once: \(line)")
            }
            #expect(failed.contains { $0.contains("picture.avi: not a video") }, "\(failed)")
            // Every line is jam-decode's own; FFmpeg's are attached to the failure they explain.
            let foreign = result.stderr.split(separator: "\n").filter { !$0.hasPrefix("jam-decode") }
            #expect(foreign.isEmpty, "FFmpeg's own lines reached standard error: \(foreign)")
            #expect(failed.contains { $0.contains("notes.avi") && $0.contains("FFmpeg said: avi: ") }, "\(failed)")
        }
    }

    @Test func aFullDiskNamesTheOutputAndTheSpaceNeeded() throws {
        guard getuid() == 0 else {
            Issue.record("not root: cannot mount a small tmpfs; ArtifactFailureTests.aFullDiskSaysNoSpaceLeftOnDevice covers the message")
            return
        }
        try withTemporaryDirectory { dir in
            let disk = dir.appendingPathComponent("small")
            try FileManager.default.createDirectory(at: disk, withIntermediateDirectories: true)
            let mount = try runProcess(URL(fileURLWithPath: "/bin/mount"), ["-t", "tmpfs", "-o", "size=160k", "tmpfs", disk.path])
            try #require(mount.status == 0, "cannot mount a tmpfs: \(mount.stderr)")
            defer { _ = try? runProcess(URL(fileURLWithPath: "/bin/umount"), [disk.path]) }
            let config = try writeTinyConfig(in: dir, artifacts: "small/artifacts", videosPerClass: 3, frames: 12, size: 64)
            try run("jam-synth", config: config, in: dir)
            let result = try run("jam-decode", config: config, in: dir, expect: 1)
            let failed = result.stderr.split(separator: "\n").filter { $0.contains("FAILED ") }
            let full = try #require(failed.first { $0.contains("no space left on device") }, "\(result.stderr)")
            // The disk may fill while the temporary is being created or while it is being
            // written; either way the line names the output and says it was being written.
            let namesTheOutput = full.contains(".h5: writing it") || full.contains(".h5: cannot write it")
            #expect(full.contains(disk.path) && namesTheOutput, "names the output: \(full)")
            #expect(!full.contains(".avi") && !full.contains(".tmp-"), "blames the input or a temporary: \(full)")
            #expect(full.contains("free there") && full.contains("need"), "says what it needs: \(full)")
            // The advice: free space there, then rerun (the finished units are kept).
            let grown = try runProcess(URL(fileURLWithPath: "/bin/mount"), ["-o", "remount,size=16m", disk.path])
            try #require(grown.status == 0, "cannot grow the tmpfs: \(grown.stderr)")
            let finished = try #require(result.stdout.split(separator: " ").dropFirst().first.flatMap { Int($0) })
            let rerun = try run("jam-decode", config: config, in: dir)
            #expect(rerun.stdout.contains("\(finished) already done, 0 failed of 18"), "\(rerun.stdout)")
        }
    }

    @Test func anUncreatableStageFolderSaysPermissionDenied() throws {
        try withTemporaryDirectory { dir in
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: dir.path)
            let configURL = try writeTinyConfig(in: dir, artifacts: "locked/artifacts", videosPerClass: 3, frames: 4)
            let config = try PipelineConfig.load(from: configURL)
            _ = try SynthStage.run(config: config, policy: RunPolicy())
            let locked = dir.appendingPathComponent("locked")
            try FileManager.default.createDirectory(at: locked, withIntermediateDirectories: true)
            try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: locked.path)
            try withoutFileAccessPrivileges {
                do {
                    _ = try DecodeStage.run(config: config, policy: RunPolicy(), progress: quietProgress)
                    Issue.record("made a folder inside a read-only one")
                } catch {
                    let text = String(describing: error)
                    #expect(text.contains("permission denied") && text.contains(locked.path), "\(text)")
                    #expect(!text.contains("Error Domain"), "\(text)")
                }
            }
        }
    }

    @Test func evalSweepsItsTemporariesAndAClassWithoutVideosIsSaid() throws {
        try withTemporaryDirectory { dir in
            let config = try writeTinyConfig(in: dir, videosPerClass: 3, frames: 12, splits: "[1]", training: Self.training)
            try run("jam-synth", config: config, in: dir)
            let classes = dir.appendingPathComponent("synth/ucfTrainTestlist/classInd.txt")
            try (try String(contentsOf: classes, encoding: .utf8) + "7 Juggling\n").write(to: classes, atomically: true, encoding: .utf8)
            let decode = try run("jam-decode", config: config, in: dir)
            #expect(decode.stderr.contains("WARNING") && decode.stderr.contains("Juggling"), "\(decode.stderr)")
            for stage in ["jam-features", "jam-c3d", "jam-lstm"] { try run(stage, config: config, in: dir) }

            // Damaged exports of the trained stages are redone from the trained model, bit-identical.
            let artifacts = dir.appendingPathComponent("artifacts")
            let video = try firstTrainingVideo(dir)
            let cube = try stageFolder(artifacts, "cubes").appendingPathComponent("split1/\(video)")
            let attention = try stageFolder(artifacts, "attention").appendingPathComponent("split1/\(video)")
            func values(_ url: URL, _ names: [String]) throws -> [[Double]] {
                let file = try HDF5File.open(at: url)
                return try names.map { try file.read($0, as: Double.self).data }
            }
            let datasets = [cube: ["cube/pool4", "cube/conv5_3", "frame_index"],
                            attention: ["attention", "clip_probabilities", "frame_index"]]
            for (url, stage) in [(cube, "jam-c3d"), (attention, "jam-lstm")] {
                let before = try values(url, datasets[url]!)
                let bytes = try Data(contentsOf: url)
                try bytes.prefix(bytes.count / 3).write(to: url)
                let redone = try run(stage, config: config, in: dir)
                #expect(redone.stderr.contains("REDO split1/\(video.dropLast(3))"), "\(redone.stderr)")
                #expect(try values(url, datasets[url]!) == before, "\(stage) redid \(url.lastPathComponent) differently")
            }

            // Leftovers of a killed jam-eval: a writer pid that no longer runs.
            let paths = try runExecutable("jam-config", ["paths", "--config", config.path], in: dir).stdout
            let eval = URL(fileURLWithPath: String(try #require(
                paths.split(separator: "\n").first { $0.hasPrefix("eval") }?.split(separator: " ").last)))
            let lstm = try stageFolder(dir.appendingPathComponent("artifacts"), "lstm")
            let dead = deadPid()
            let leftovers = [eval.appendingPathComponent("split1/predictions.h5.tmp-\(dead)-1a"),
                             eval.appendingPathComponent("report/confusion.png.tmp-\(dead)-2b"),
                             lstm.appendingPathComponent("stage-report.json.tmp-\(dead)-3c")]
            for url in leftovers {
                try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try Data([0]).write(to: url)
            }
            let result = try run("jam-eval", config: config, in: dir)
            for url in leftovers { #expect(!FileManager.default.fileExists(atPath: url.path), "left: \(url.path)") }
            #expect(result.stderr.contains("Juggling"), "\(result.stderr)")
            let report = try String(contentsOf: eval.appendingPathComponent("report/index.html"), encoding: .utf8)
            #expect(report.contains("Juggling") && report.contains("no video"), "the report does not say it")
        }
    }
}

/// A pid that no process has (a child that has exited and been reaped).
func deadPid() -> pid_t {
    var pid: pid_t = 0
    let argv: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/true"), nil]
    defer { free(argv[0]) }
    guard posix_spawn(&pid, "/bin/true", nil, nil, argv, environ) == 0 else { return 999_999 }
    var status: Int32 = 0
    waitpid(pid, &status, 0)
    return pid
}
