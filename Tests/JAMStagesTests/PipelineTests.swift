import Foundation
import JAMArtifacts
import JAMCore
import JAMTestSupport
import Testing

/// The whole pipeline through `scripts/run-pipeline.sh` (the README's main command), on a tiny
/// synthetic dataset: every stage runs, the artifacts chain, metrics and the report are
/// written, and a run killed at a random moment finishes, when rerun, with the same metrics.
@Suite(.serialized) struct PipelineTests {
    /// Small enough to run every stage, both rounds, in seconds.
    static let training = """
        ,
          "c3d": { "clip_length": 8, "clip_stride": 4, "conv1_width": 8, "conv2_width": 8, "hidden_width": 16,
                   "pool": false, "epochs": 2, "batch": 4, "checkpoint_every": 3, "rounds": 2, "attention_weight": 10 },
          "lstm": { "hidden": 16, "layers": 2, "clip_length": 8, "clip_stride": 4, "vote_steps": 4,
                    "epochs": 3, "batch": 4, "checkpoint_every": 3 }
        """

    func runPipeline(config: URL, in dir: URL) throws -> ProcessResult {
        try runProcess(URL(fileURLWithPath: "/bin/bash"),
                       [repositoryRoot.appendingPathComponent("scripts/run-pipeline.sh").path, "--config", config.path],
                       in: dir, environment: ["JAM_BIN": productsDirectory.path])
    }

    /// A relative `--config` is the user's, relative to where they ran the script (which changes
    /// to the repository before running the stages): the stages read that file.
    @Test func aRelativeConfigIsReadFromTheCallersFolder() throws {
        try withTemporaryDirectory { dir in
            try #"{"dataset": {"name": "mine", "format": "folders", "root": "no-such-videos"}}"#
                .write(to: dir.appendingPathComponent("my.json"), atomically: true, encoding: .utf8)
            let run = try runProcess(URL(fileURLWithPath: "/bin/bash"),
                                     [repositoryRoot.appendingPathComponent("scripts/run-pipeline.sh").path, "--config", "my.json"],
                                     in: dir, environment: ["JAM_BIN": productsDirectory.path])
            // It gets as far as the dataset the config names, and fails there, naming it.
            #expect(run.status != 0)
            #expect(run.stdout.contains("jam-synth: nothing to do"), "\(run.stdout)")
            #expect(run.stderr.contains(dir.appendingPathComponent("no-such-videos").path), "\(run.stderr.suffix(2000))")
            #expect(!run.stderr.contains("no such config file") && !run.stderr.contains("cannot read"), "\(run.stderr)")
        }
    }

    /// A user's own folder-per-class dataset, its config without the `synthetic` key: every stage
    /// runs end to end and jam-synth leaves the videos alone.
    @Test func anOwnFolderDatasetWithoutTheSyntheticKeyRunsEndToEnd() throws {
        try withTemporaryDirectory { dir in
            // Videos made once by jam-synth, then used as the user's own (class folders of .avi).
            let maker = try writeTinyConfig(in: dir, name: "maker.json", root: "videos")
            let made = try runExecutable("jam-synth", ["--config", maker.path], in: dir)
            try #require(made.status == 0, "\(made.stderr)")
            let videos = dir.appendingPathComponent("videos")
            for name in try FileManager.default.contentsOfDirectory(atPath: videos.path)
            where name.hasPrefix("ucfTrainTestlist") || name.hasSuffix(".json") {
                try FileManager.default.removeItem(at: videos.appendingPathComponent(name))
            }
            let own = try writeTinyConfig(in: dir, name: "mine.json", artifacts: "mine", root: "videos", format: "folders",
                                          training: Self.training)
            let text = try String(contentsOf: own, encoding: .utf8).replacingOccurrences(of: #", "synthetic": true"#, with: "")
            #expect(!text.contains("synthetic"))
            try text.write(to: own, atomically: true, encoding: .utf8)
            let before = try FileManager.default.subpathsOfDirectory(atPath: videos.path).sorted()
            let run = try runPipeline(config: own, in: dir)
            #expect(run.status == 0, "pipeline failed: \(run.stderr.suffix(3000))")
            #expect(run.stdout.contains("jam-synth: nothing to do") && run.stdout.contains("top-1"), "\(run.stdout)")
            #expect(try FileManager.default.subpathsOfDirectory(atPath: videos.path).sorted() == before)
        }
    }

    @Test func everyStageRunsAndTheArtifactsChain() throws {
        try withTemporaryDirectory { dir in
            let config = try writeTinyConfig(in: dir, frames: 16, training: Self.training)
            let run = try runPipeline(config: config, in: dir)
            #expect(run.status == 0, "pipeline failed: \(run.stderr.suffix(3000))")
            for stage in ["jam-synth", "jam-decode", "jam-features", "jam-c3d --round 1", "jam-lstm --round 1",
                          "jam-c3d --round 2", "jam-lstm --round 2", "jam-eval"] {
                #expect(run.stderr.contains("== \(stage)"), "\(stage) did not run")
            }
            #expect(run.stdout.contains("top-1"), "no accuracy table: \(run.stdout)")

            let paths = try runExecutable("jam-config", ["paths", "--config", config.path], in: dir)
            let folders = Dictionary(uniqueKeysWithValues: paths.stdout.split(separator: "\n").map { line in
                let parts = line.split(separator: " ", omittingEmptySubsequences: true)
                return (parts.dropLast().joined(separator: " "), URL(fileURLWithPath: String(parts.last!)))
            })
            let video = "MoveUp/v_MoveUp_g01_c01.h5"
            #expect(FileManager.default.fileExists(atPath: folders["features"]!.appendingPathComponent(video).path))
            for round in [1, 2] {
                let cubes = folders["cubes r\(round)"]!.appendingPathComponent("split1/\(video)")
                let attention = folders["attention r\(round)"]!.appendingPathComponent("split1/\(video)")
                #expect(try ArtifactReader(url: cubes, expecting: .cubes).header.kind == "cubes")
                let reader = try ArtifactReader(url: attention, expecting: .attention)
                #expect(try reader.file.read("attention", as: Float.self).shape == [16, 4])
            }
            // Every digest folder holds settings.json: the canonical JSON its name is the digest of,
            // which its artifacts carry as jam_config.
            #expect(folders.count == 10, "the dataset and 9 digest folders: \(folders.keys.sorted())")
            for (stage, folder) in folders where stage != "dataset" {
                let digestFolder = stage == "eval" ? folder.deletingLastPathComponent() : folder
                let data = try Data(contentsOf: digestFolder.appendingPathComponent("settings.json"))
                #expect(String(SHA256.hex(data).prefix(16)) == digestFolder.lastPathComponent, "\(stage)")
                let (kind, file): (ArtifactKind, String) = switch stage.prefix(4) {
                case "fram": (.frames, video)
                case "feat": (.features, video)
                case "cube": (.cubes, "split1/\(video)")
                case "lstm": (.lstmCheckpoint, "split1/checkpoint.h5")
                case "atte": (.attention, "split1/\(video)")
                default: (.predictions, "split1/predictions.h5")
                }
                let header = try ArtifactReader(url: folder.appendingPathComponent(file), expecting: kind).header
                #expect(header.config == String(decoding: data, as: UTF8.self), "\(stage)")
                #expect(header.configDigest == digestFolder.lastPathComponent, "\(stage)")
            }

            // Round 2's cubes were trained against round 1's attention: their digests chain.
            let round2 = try ArtifactReader(url: folders["cubes r2"]!.appendingPathComponent("split1/\(video)"),
                                            expecting: .cubes)
            #expect(round2.header.config.contains(folders["attention r1"]!.lastPathComponent))

            let eval = folders["eval"]!
            let metrics = try JSONValue.read(contentsOf: eval.appendingPathComponent("metrics.json"))
            #expect(metrics["splits"]?.arrayValue?.count == 2)
            // The synthetic dataset's object tracks give the attention-tracking score per split:
            // a mass and a baseline that are shares (the 2×2 grid's baseline is at least 1/4).
            let tracking = try #require(metrics["attentionTracking"]?.arrayValue, "\(metrics)")
            #expect(tracking.count == 2)
            for split in tracking {
                let mass = try #require(split["score"]?["massSum"]?.doubleValue)
                let baseline = try #require(split["score"]?["baselineSum"]?.doubleValue)
                let steps = try #require(split["score"]?["steps"]?.doubleValue)
                #expect(steps == 6 * 16 && mass > 0 && mass <= steps + 1e-6 && baseline >= steps / 4 && baseline <= steps)
            }
            #expect(run.stdout.contains("attention on the moving object"), "\(run.stdout)")
            let predictions = try ArtifactReader(url: eval.appendingPathComponent("split1/predictions.h5"),
                                                 expecting: .predictions)
            #expect(try predictions.file.read("predicted_label", as: Int32.self).shape == [6])
            let index = try String(contentsOf: eval.appendingPathComponent("report/index.html"), encoding: .utf8)
            #expect(index.contains("<img"))
            let pictures = try FileManager.default.contentsOfDirectory(atPath: eval.appendingPathComponent("report").path)
                .filter { $0.hasSuffix(".png") }
            #expect(pictures.count >= 4, "confusion, curves and attention: \(pictures)")
        }
    }

    @Test func aKilledPipelineFinishesWithTheSameMetrics() throws {
        try withTemporaryDirectory { dir in
            let reference = try writeTinyConfig(in: dir, name: "reference.json", artifacts: "reference",
                                                frames: 16, root: "reference-synth", training: Self.training)
            let started = Date()
            #expect(try runPipeline(config: reference, in: dir).status == 0)
            let duration = Date().timeIntervalSince(started)

            // Kill the script and its running stage (one process group) at a random moment.
            let config = try writeTinyConfig(in: dir, frames: 16, training: Self.training)
            var generator = SystemRandomNumberGenerator()
            let delay = Double.random(in: 0.2...(0.9 * duration), using: &generator)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/setsid")
            process.arguments = ["/bin/bash", repositoryRoot.appendingPathComponent("scripts/run-pipeline.sh").path,
                                 "--config", config.path]
            process.currentDirectoryURL = dir
            process.environment = ProcessInfo.processInfo.environment.merging(["JAM_BIN": productsDirectory.path]) { $1 }
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            usleep(UInt32(delay * 1_000_000))
            kill(-process.processIdentifier, SIGKILL)
            process.waitUntilExit()

            let rerun = try runPipeline(config: config, in: dir)
            #expect(rerun.status == 0, "rerun after a kill at \(delay) s failed: \(rerun.stderr.suffix(3000))")
            let folder = { (config: URL) throws -> URL in
                let paths = try runExecutable("jam-config", ["paths", "--config", config.path], in: dir).stdout
                let line = paths.split(separator: "\n").first { $0.hasPrefix("eval") }!
                return URL(fileURLWithPath: String(line.split(separator: " ").last!))
            }
            let expected = try JSONValue.read(contentsOf: try folder(reference).appendingPathComponent("metrics.json"))
            let actual = try JSONValue.read(contentsOf: try folder(config).appendingPathComponent("metrics.json"))
            #expect(actual == expected, "metrics differ after a kill at \(String(format: "%.1f", delay)) s of \(String(format: "%.1f", duration)) s")
        }
    }
}
