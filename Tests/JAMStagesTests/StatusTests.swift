import Foundation
import JAMCore
import JAMTestSupport
import JAMTraining
import Testing

/// `jam-status` run as a user would, on a tiny synthetic pipeline (2 splits, 18 videos, 2 rounds):
/// finished, half-finished, failed, sharded and mid-training runs, the table and the JSON.
@Suite(.serialized) struct StatusTests {
    /// The stages of the tiny config, in run order.
    static let commands = ["jam-synth", "jam-decode", "jam-features", "jam-c3d --round 1", "jam-lstm --round 1",
                           "jam-c3d --round 2", "jam-lstm --round 2", "jam-eval"]

    /// The keys docs/ARTIFACTS.md documents for `jam-status --json`.
    static let topKeys: Set<String> = ["status_schema", "config", "profile", "complete", "next_command", "next_note",
                                       "warnings", "stages"]
    static let stageKeys: Set<String> = ["stage", "round", "command", "folder", "state", "waiting_for", "problem", "total",
                                         "done", "failed", "pending", "in_progress", "shard_count", "pending_shards",
                                         "training", "failures"]
    static let trainingKeys: Set<String> = ["split", "checkpoint", "epochs_done", "step", "epochs", "exports", "export_epochs"]

    func stage(_ name: String, _ dir: URL, _ config: URL, _ extra: [String] = []) throws {
        let parts = name.split(separator: " ").map(String.init)
        let run = try runExecutable(parts[0], Array(parts.dropFirst()) + ["--config", config.path] + extra, in: dir)
        try #require(run.status == 0, "\(name) failed: \(run.stderr.suffix(2000))")
    }

    /// `jam-status --json` parsed, with its exit status; the stages by command.
    func status(_ dir: URL, _ config: URL) throws -> (status: Int32, json: [String: Any], stages: [String: [String: Any]]) {
        let run = try runExecutable("jam-status", ["--config", config.path, "--json"], in: dir)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any],
                                  "not a JSON object: \(run.stdout) \(run.stderr)")
        let list = try #require(object["stages"] as? [[String: Any]])
        #expect(list.map { $0["command"] as? String } == Self.commands)
        return (run.status, object, Dictionary(uniqueKeysWithValues: list.map { ($0["command"] as! String, $0) }))
    }

    /// Every file under `dir` with its size and modification time: what jam-status must leave alone.
    func snapshot(_ dir: URL) throws -> [String: String] {
        var result: [String: String] = [:]
        for path in FileManager.default.enumerator(atPath: dir.path)?.compactMap({ $0 as? String }) ?? [] {
            let attributes = try FileManager.default.attributesOfItem(atPath: dir.appendingPathComponent(path).path)
            result[path] = "\(attributes[.size] ?? "") \(attributes[.modificationDate] ?? "")"
        }
        return result
    }

    @Test func aFinishedRunIsDoneAndExitsZero() throws {
        try withTemporaryDirectory { dir in
            let config = try writeTinyConfig(in: dir, training: PipelineTests.training)
            for command in Self.commands { try stage(command, dir, config) }
            let before = try snapshot(dir)
            let table = try runExecutable("jam-status", ["--config", config.path], in: dir)
            #expect(table.status == 0, "\(table.stdout) \(table.stderr)")
            #expect(table.stdout.contains("Next: nothing; every stage is done."), "\(table.stdout)")
            let (status, json, stages) = try status(dir, config)
            #expect(status == 0)
            #expect(json["complete"] as? Bool == true && json["next_command"] is NSNull)
            for command in Self.commands {
                let s = try #require(stages[command])
                #expect(s["state"] as? String == "done", "\(command): \(s)")
                #expect(s["done"] as? Int == s["total"] as? Int && s["pending"] as? Int == 0, "\(command): \(s)")
            }
            // 18 videos; each trained stage exports every video of each of the 2 splits.
            #expect(stages["jam-decode"]?["total"] as? Int == 18 && stages["jam-c3d --round 2"]?["total"] as? Int == 36)
            let training = try #require(stages["jam-lstm --round 2"]?["training"] as? [[String: Any]])
            #expect(training.count == 2)
            for split in training {
                #expect(split["checkpoint"] as? String == "finished" && split["epochs_done"] as? Int == 3
                        && split["exports"] as? String == "current", "\(split)")
            }
            #expect(try snapshot(dir) == before, "jam-status changed files")
        }
    }

    @Test func aHalfFinishedRunNamesTheNextStageAndTheJSONHasTheDocumentedKeys() throws {
        try withTemporaryDirectory { dir in
            let config = try writeTinyConfig(in: dir, training: PipelineTests.training)
            for command in Self.commands.prefix(3) { try stage(command, dir, config) }
            let table = try runExecutable("jam-status", ["--config", config.path, "--profile", "fast"], in: dir)
            // No such profile: the config cannot be resolved, exit 2 with the reason.
            #expect(table.status == 2 && table.stderr.contains("fast"), "\(table.status) \(table.stderr)")

            let text = try runExecutable("jam-status", ["--config", config.path], in: dir)
            #expect(text.status == 1)
            #expect(text.stdout.contains("Next: jam-c3d --round 1 --config \(config.path)\n"), "\(text.stdout)")
            #expect(text.stdout.contains("waiting for jam-c3d --round 1"), "\(text.stdout)")

            let (status, json, stages) = try status(dir, config)
            #expect(status == 1)
            #expect(json["next_command"] as? String == "jam-c3d --round 1 --config \(config.path)")
            #expect(json["complete"] as? Bool == false && json["status_schema"] as? Int == 1)
            #expect(Set(json.keys) == Self.topKeys)
            for (command, s) in stages {
                #expect(Set(s.keys) == Self.stageKeys, "\(command)")
                for split in s["training"] as? [[String: Any]] ?? [] { #expect(Set(split.keys) == Self.trainingKeys) }
            }
            #expect(stages["jam-features"]?["state"] as? String == "done" && stages["jam-features"]?["done"] as? Int == 18)
            let c3d = try #require(stages["jam-c3d --round 1"])
            #expect(c3d["state"] as? String == "pending" && c3d["pending"] as? Int == 36 && c3d["done"] as? Int == 0)
            let lstm = try #require(stages["jam-lstm --round 1"])
            #expect(lstm["state"] as? String == "waiting" && lstm["waiting_for"] as? String == "jam-c3d --round 1")
            #expect((c3d["training"] as? [[String: Any]])?.map { $0["checkpoint"] as? String } == ["absent", "absent"])
            #expect(stages["jam-eval"]?["state"] as? String == "waiting")
        }
    }

    @Test func aFailedVideoIsListedWithItsFileAndReason() throws {
        try withTemporaryDirectory { dir in
            let config = try writeTinyConfig(in: dir, training: PipelineTests.training)
            try stage("jam-synth", dir, config)
            let video = dir.appendingPathComponent("synth/MoveUp/v_MoveUp_g02_c01.avi")
            try Data("not a video at all\n".utf8).write(to: video)
            // A video both split lists name that does not exist: one unit, one failure, in each stage.
            let lists = dir.appendingPathComponent("synth/ucfTrainTestlist")
            let classes = try String(contentsOf: lists.appendingPathComponent("classInd.txt"), encoding: .utf8)
            let label = try #require(classes.split(separator: "\n").first { $0.hasSuffix(" MoveUp") }?.split(separator: " ").first)
            let ghost = "MoveUp/v_MoveUp_g09_c01.avi"
            for (list, line) in [("trainlist01.txt", "\(ghost) \(label)\n"), ("testlist02.txt", "\(ghost)\n")] {
                let handle = try FileHandle(forWritingTo: lists.appendingPathComponent(list))
                try handle.seekToEnd()
                try handle.write(contentsOf: Data(line.utf8))
                try handle.close()
            }
            let decode = try runExecutable("jam-decode", ["--config", config.path], in: dir)
            try #require(decode.status == 1, "jam-decode should fail two videos: \(decode.stderr)")

            let (status, _, stages) = try status(dir, config)
            #expect(status == 1)
            let s = try #require(stages["jam-decode"])
            #expect(s["state"] as? String == "failed" && s["done"] as? Int == 17 && s["failed"] as? Int == 2
                    && s["pending"] as? Int == 0 && s["total"] as? Int == 19, "\(s)")
            let failures = try #require(s["failures"] as? [[String: Any]]).filter { $0["unit"] as? String != ghost }
            #expect(failures.count == 1)
            #expect(failures.first?["unit"] as? String == "MoveUp/v_MoveUp_g02_c01.avi")
            #expect(failures.first?["file"] as? String == video.path)
            // jam-features has not run: the missing video is its one failure already, listed once.
            let features = try #require(stages["jam-features"])
            #expect((features["failures"] as? [[String: Any]])?.map { $0["unit"] as? String } == [ghost], "\(features)")
            #expect(features["failed"] as? Int == 1 && features["pending"] as? Int == 18 && features["state"] as? String == "pending")
            let reason = try #require(failures.first?["reason"] as? String)
            #expect(!reason.isEmpty && decode.stderr.contains(reason), "\(reason)")
            // Nothing left to run in jam-decode: the next stage goes on without the bad video.
            let text = try runExecutable("jam-status", ["--config", config.path], in: dir)
            #expect(text.stdout.contains("jam-decode: MoveUp/v_MoveUp_g02_c01.avi: \(video.path): \(reason)"), "\(text.stdout)")
            #expect(text.stdout.contains("Next: jam-features --config"), "\(text.stdout)")
        }
    }

    /// Asked while jam-features runs: every answer parses, its counts add up and never go back.
    @Test func itAnswersWhileAStageRuns() throws {
        try withTemporaryDirectory { dir in
            let config = try writeTinyConfig(in: dir, training: PipelineTests.training)
            for command in Self.commands.prefix(2) { try stage(command, dir, config) }
            let features = try launch("jam-features", ["--config", config.path, "--threads", "1"], in: dir)
            var answers: [Int] = []
            while features.isRunning || answers.isEmpty {
                let (status, _, stages) = try status(dir, config)
                let s = try #require(stages["jam-features"])
                let (done, failed, pending, total) = (s["done"] as! Int, s["failed"] as! Int, s["pending"] as! Int, s["total"] as! Int)
                #expect(status == 1 && done + failed + pending == total && total == 18 && failed == 0, "\(s)")
                #expect(done >= (answers.last ?? 0), "done went back: \(answers) then \(done)")
                answers.append(done)
            }
            features.waitUntilExit()
            #expect(features.terminationStatus == 0)
            let (_, _, stages) = try status(dir, config)
            #expect(stages["jam-features"]?["state"] as? String == "done", "answers while running: \(answers)")
            print("jam-status answers while jam-features ran (units done): \(answers)")
        }
    }

    /// Shard reports (written here as a sharded run of 3 writes them) merge with the whole run's:
    /// one failure per unit (the latest), none for units done since, counts from the files.
    @Test func shardReportsMergeWithTheOutputs() throws {
        try withTemporaryDirectory { dir in
            let config = try writeTinyConfig(in: dir, training: PipelineTests.training)
            try stage("jam-synth", dir, config)
            try stage("jam-decode", dir, config)
            let frames = try stageFolder(dir.appendingPathComponent("artifacts"), "frames")
            let units = artifactFiles(under: frames).map { String($0.dropLast(3)) + ".avi" }
            try #require(units.count == 18)
            let (failedA, failedB, redone, missing, writing) = (units[0], units[5], units[9], units[12], units[16])
            for unit in [failedA, failedB, missing, writing] {
                try FileManager.default.removeItem(at: frames.appendingPathComponent(String(unit.dropLast(4)) + ".h5"))
            }
            try Data().write(to: frames.appendingPathComponent(String(writing.dropLast(4)) + ".h5.tmp-999999-ab12"))
            func report(_ failures: [(String, String)], finished: String) -> Data {
                let list = failures.map { #"{"unit": "\#($0.0)", "file": "/videos/\#($0.0)", "reason": "\#($0.1)"}"# }
                return Data("""
                    {"stage": "jam-decode", "producer": "jam-decode test", "config_digest": "x", "total_units": 6,
                     "completed": 4, "skipped": 0, "failures": [\(list.joined(separator: ","))], "stopped_early": false,
                     "seconds": 1, "finished": "\(finished)"}
                    """.utf8)
            }
            try report([(failedA, "older reason"), (redone, "failed once, done since")], finished: "2026-01-01T00:00:00Z")
                .write(to: frames.appendingPathComponent("stage-report.shard-0-of-3.json"))
            try report([(failedA, "newer reason"), (failedB, "bad header")], finished: "2026-01-02T00:00:00Z")
                .write(to: frames.appendingPathComponent("stage-report.shard-1-of-3.json"))
            try Data("{ truncated".utf8).write(to: frames.appendingPathComponent("stage-report.shard-2-of-3.json"))
            // A writer's temporary report is not a report.
            try Data("{".utf8).write(to: frames.appendingPathComponent("stage-report.shard-2-of-3.json.tmp-1-ab"))

            let (status, json, stages) = try status(dir, config)
            #expect(status == 1)
            let s = try #require(stages["jam-decode"])
            #expect(s["total"] as? Int == 18 && s["done"] as? Int == 14 && s["failed"] as? Int == 2
                    && s["in_progress"] as? Int == 1 && s["pending"] as? Int == 2, "\(s)")
            #expect(s["state"] as? String == "in_progress" && s["shard_count"] as? Int == 3)
            let failures = try #require(s["failures"] as? [[String: Any]])
            #expect(failures.map { $0["unit"] as? String } == [failedA, failedB].sorted())
            #expect(failures.first { $0["unit"] as? String == failedA }?["reason"] as? String == "newer reason")
            // The shards of the units still to do, by Shard's rule over the unit names.
            let open = Set([missing, writing])
            let expected = (0..<3).filter { i in Shard(index: i, count: 3).select(units, name: { $0 }).contains { open.contains($0) } }
            #expect(s["pending_shards"] as? [Int] == expected)
            let warnings = try #require(json["warnings"] as? [String])
            #expect(warnings.count == 1 && warnings[0].contains("stage-report.shard-2-of-3.json"), "\(warnings)")
            #expect(json["next_command"] as? String == "jam-decode --config \(config.path)")
            #expect((json["next_note"] as? String)?.contains("3 shards") == true, "\(json["next_note"] ?? "")")
        }
    }

    /// A real sharded run: jam-decode as shards 0/3 and 2/3 of an array whose task 1 has not run.
    /// jam-status merges the shards' reports and names shard 1 as the one with work left; once
    /// it has run, the stage is done and the next command is jam-features.
    @Test func aRunInRealShardsShowsTheShardStillToRun() throws {
        try withTemporaryDirectory { dir in
            let config = try writeTinyConfig(in: dir, training: PipelineTests.training)
            try stage("jam-synth", dir, config)
            try stage("jam-decode", dir, config, ["--shard", "0/3"])
            try stage("jam-decode", dir, config, ["--shard", "2/3"])
            let (exit, json, stages) = try status(dir, config)
            #expect(exit == 1)
            let decode = try #require(stages["jam-decode"])
            #expect(decode["total"] as? Int == 18 && decode["done"] as? Int == 12 && decode["pending"] as? Int == 6
                    && decode["failed"] as? Int == 0, "\(decode)")
            #expect(decode["shard_count"] as? Int == 3 && decode["pending_shards"] as? [Int] == [1], "\(decode)")
            #expect(json["next_command"] as? String == "jam-decode --config \(config.path)")
            #expect((json["next_note"] as? String)?.contains("3 shards") == true, "\(json["next_note"] ?? "")")

            try stage("jam-decode", dir, config, ["--shard", "1/3"])
            let after = try status(dir, config)
            let done = try #require(after.stages["jam-decode"])
            #expect(done["state"] as? String == "done" && done["done"] as? Int == 18 && done["pending"] as? Int == 0, "\(done)")
            #expect(after.json["next_command"] as? String == "jam-features --config \(config.path)")
        }
    }

    /// A checkpoint part way: raising c3d.epochs from 1 to 3 leaves split checkpoints at epoch 1 of 3
    /// and the exports of the 1-epoch model stale (they no longer count as done).
    @Test func aCheckpointPartWayShowsItsEpochAndStep() throws {
        try withTemporaryDirectory { dir in
            let one = PipelineTests.training.replacingOccurrences(of: #""epochs": 2"#, with: #""epochs": 1"#)
            try #require(one != PipelineTests.training)
            var config = try writeTinyConfig(in: dir, training: one)
            for command in Self.commands.prefix(4) { try stage(command, dir, config) }
            // The export half run in 2 shards (simulated: a shard report, two exports of split 1 gone):
            // the shards with pending exports follow Shard's rule per split over `split<N>/<video>`.
            let cubes = try stageFolder(dir.appendingPathComponent("artifacts"), "cubes")
            let exported = artifactFiles(under: cubes.appendingPathComponent("split1")).filter { $0.contains("/") }
            try #require(exported.count == 18)
            let gone = ["split1/" + exported[3].dropLast(3) + ".avi", "split1/" + exported[4].dropLast(3) + ".avi"]
            for name in gone { try FileManager.default.removeItem(at: cubes.appendingPathComponent(String(name.dropLast(4)) + ".h5")) }
            try Data(#"{"stage": "jam-c3d", "producer": "t", "config_digest": "x", "total_units": 18, "completed": 18, "skipped": 0, "failures": [], "stopped_early": false, "seconds": 1, "finished": "2026-01-01T00:00:00Z"}"#.utf8)
                .write(to: cubes.appendingPathComponent("stage-report.shard-1-of-2.json"))
            let sharded = try status(dir, config).stages["jam-c3d --round 1"]
            let names = exported.map { "split1/" + $0.dropLast(3) + ".avi" }
            let expected = (0..<2).filter { i in Shard(index: i, count: 2).select(names) { $0 }.contains { gone.contains($0) } }
            #expect(sharded?["pending_shards"] as? [Int] == expected && sharded?["pending"] as? Int == 2, "\(sharded ?? [:])")

            config = try writeTinyConfig(in: dir, training: one.replacingOccurrences(of: #""epochs": 1"#, with: #""epochs": 3"#))
            let position = try #require(TrainingCheckpoint.position(at: cubes.appendingPathComponent("split1/checkpoint.h5"),
                                                                    kind: .c3dCheckpoint))
            #expect(position.epoch == 1 && position.step > 0)

            let (status, json, stages) = try status(dir, config)
            #expect(status == 1)
            let c3d = try #require(stages["jam-c3d --round 1"])
            let split = try #require((c3d["training"] as? [[String: Any]])?.first)
            #expect(split["checkpoint"] as? String == "training" && split["epochs_done"] as? Int == 1
                    && split["step"] as? Int == position.step && split["epochs"] as? Int == 3, "\(split)")
            #expect(split["exports"] as? String == "stale" && split["export_epochs"] as? Int == 1, "\(split)")
            #expect(c3d["done"] as? Int == 0 && c3d["state"] as? String == "pending", "\(c3d)")
            #expect(json["next_command"] as? String == "jam-c3d --round 1 --config \(config.path)")
            let text = try runExecutable("jam-status", ["--config", config.path], in: dir)
            #expect(text.stdout.contains("split 1: training: 1/3 epochs done, step \(position.step); exports: stale"),
                    "\(text.stdout)")
        }
    }
}
