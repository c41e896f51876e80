import Foundation
import JAMCore
import JAMTestSupport
import Testing

/// The pipeline on a real Slurm: `scripts/slurm/local-cluster.sh` starts munge, slurmctld and
/// slurmd on this machine, `scripts/slurm/submit-pipeline.sh` submits every stage and round of a
/// tiny synthetic config as chained jobs (arrays of 3 tasks for decode and features, 2 MPI
/// ranks per training job), and the results must equal `scripts/run-pipeline.sh`'s on the same
/// config: the frames and features artifacts exactly, the metrics within the data-parallel
/// tolerance. Then one array task is cancelled while it runs, the jobs after it are cancelled
/// by Slurm, and resubmitting the same command completes with the same results. A cluster that
/// cannot start fails the test with the reason.
@Suite(.serialized) struct SlurmPipelineTests {
    static let arraySize = 3
    static let ranks = 2
    /// |a - b| <= atol + rtol·|b| for the metrics of training with `ranks` ranks against one
    /// process: the data-parallel sum of gradients differs from the 1-process sum only in
    /// float32 rounding (docs/DESIGN.md).
    static let rtol = 1e-4, atol = 1e-6

    /// Tiny training: both rounds, one epoch each.
    static let training = """
        ,
          "c3d": { "clip_length": 8, "clip_stride": 4, "conv1_width": 8, "conv2_width": 8, "hidden_width": 16,
                   "pool": false, "epochs": 1, "batch": 4, "checkpoint_every": 3, "rounds": 2, "attention_weight": 10 },
          "lstm": { "hidden": 16, "layers": 2, "clip_length": 8, "clip_stride": 4, "vote_steps": 4,
                    "epochs": 1, "batch": 4, "checkpoint_every": 3 }
        """

    @Test func submitPipelineMatchesTheSingleMachineRunAndCarriesOnAfterACancel() throws {
        try withClusterLock {
            try withTemporaryDirectory { dir in
                let cluster = repositoryRoot.appendingPathComponent("scripts/slurm/local-cluster.sh").path
                let log = dir.appendingPathComponent("local-cluster.log")
                let wasRunning = spawnAndWait([cluster, "status"], log: log) == 0
                let started = spawnAndWait([cluster, "start"], log: log)
                try #require(started == 0, "the local Slurm did not start:\n\((try? String(contentsOf: log, encoding: .utf8)) ?? "")")
                defer {
                    // Leave a cluster that someone else started; stop ours, failed test or not.
                    if !wasRunning { _ = spawnAndWait([cluster, "stop"], log: log) }
                }
                try runAndCompare(in: dir)
            }
        }
    }

    func runAndCompare(in dir: URL) throws {
        let reference = try writeTinyConfig(in: dir, name: "reference.json", artifacts: "reference", frames: 16,
                                            root: "reference-synth", training: Self.training)
        let single = try bash([repositoryRoot.appendingPathComponent("scripts/run-pipeline.sh").path, "--config", reference.path],
                              in: dir, environment: ["JAM_BIN": productsDirectory.path])
        try #require(single.status == 0, "run-pipeline.sh failed: \(single.stderr.suffix(3000))")

        // The whole pipeline on Slurm.
        let config = try writeTinyConfig(in: dir, name: "cluster.json", artifacts: "cluster", frames: 16,
                                         root: "cluster-synth", training: Self.training)
        let jobs = try submit(config, in: dir)
        #expect(jobs.map(\.stage) == ["jam-synth", "jam-decode", "jam-features", "jam-c3d-r1", "jam-lstm-r1",
                                      "jam-c3d-r2", "jam-lstm-r2", "jam-eval"])
        try waitFor(jobs, in: dir)
        for job in jobs {
            let states = try jobStates(job.id)
            #expect(!states.isEmpty && states.allSatisfy { $0 == "COMPLETED" }, "\(job.stage) \(job.id): \(states)\n\(logs(dir))")
        }
        try expectSameResults(dir.appendingPathComponent("cluster"), as: dir.appendingPathComponent("reference"), in: dir)
        for stage in ["frames", "features"] {
            let folder = try stageFolder(dir.appendingPathComponent("cluster"), stage)
            for i in 0..<Self.arraySize {
                let report = folder.appendingPathComponent("stage-report.shard-\(i)-of-\(Self.arraySize).json")
                #expect(FileManager.default.fileExists(atPath: report.path), "array task \(i) wrote no shard report in \(folder.path)")
            }
        }

        // A task of the features array cancelled while it runs: the jobs after it never start.
        let cancelled = try writeTinyConfig(in: dir, name: "cancel.json", artifacts: "cancel", frames: 16,
                                            root: "cancel-synth", training: Self.training)
        let first = try submit(cancelled, in: dir)
        let features = try #require(first.first { $0.stage == "jam-features" }).id
        let task = "\(features)_1"
        #expect(waitUntil(timeout: 240) { (try? squeue(["-j", task, "-o", "%T"]))?.contains("RUNNING") == true },
                "\(task) never ran\n\(logs(dir))")
        let cancel = try runProcess(URL(fileURLWithPath: "/usr/bin/env"), ["scancel", task])
        #expect(cancel.status == 0, "scancel \(task): \(cancel.stderr)")
        try waitFor(first, in: dir)
        #expect(try jobStates(task) == ["CANCELLED"], "\(task) should have been cancelled while running")
        for job in first.drop(while: { $0.stage != "jam-c3d-r1" }) {
            #expect(try jobStates(job.id) == ["CANCELLED"], "\(job.stage) should not run after a cancelled dependency")
        }
        let again = try submit(cancelled, in: dir)
        try waitFor(again, in: dir)
        for job in again {
            let states = try jobStates(job.id)
            #expect(!states.isEmpty && states.allSatisfy { $0 == "COMPLETED" }, "\(job.stage) \(job.id): \(states)\n\(logs(dir))")
        }
        try expectSameResults(dir.appendingPathComponent("cancel"), as: dir.appendingPathComponent("reference"), in: dir)
        // Same ranks, same results: the resubmitted run equals the uninterrupted one exactly.
        #expect(try metrics(dir.appendingPathComponent("cancel.json"), in: dir)
                == metrics(dir.appendingPathComponent("cluster.json"), in: dir))
    }

    // MARK: - Comparing results

    /// The per-video stages' artifacts are identical (every value and attribute but the creation
    /// time and source path); the metrics agree within the tolerance.
    func expectSameResults(_ root: URL, as reference: URL, in dir: URL) throws {
        for stage in ["frames", "features"] {
            let actual = try stageFolder(root, stage), expected = try stageFolder(reference, stage)
            #expect(artifactFiles(under: actual) == artifactFiles(under: expected), "\(stage)")
            for name in artifactFiles(under: expected) {
                #expect(try comparable(actual.appendingPathComponent(name)) == comparable(expected.appendingPathComponent(name)),
                        "\(stage)/\(name)")
            }
        }
        let config = dir.appendingPathComponent(root.lastPathComponent + ".json")
        let actual = try metrics(config, in: dir)
        let expected = try metrics(dir.appendingPathComponent("reference.json"), in: dir)
        var differences: [String] = []
        compare(actual, expected, path: "$", into: &differences)
        #expect(differences.isEmpty, "metrics.json of \(root.lastPathComponent) differs:\n\(differences.prefix(20).joined(separator: "\n"))")
    }

    /// `artifactContents` less the settings and their digest, which name each run's own dataset
    /// root, or the digest of the folder made from it (each config here has its own root, so
    /// that every run makes its dataset).
    func comparable(_ url: URL) throws -> [String: String] {
        var contents = try artifactContents(url)
        #expect(contents["@jam_config"] != nil, "\(url.path) has no jam_config")
        contents["@jam_config"] = nil
        contents["@jam_config_digest"] = nil
        return contents
    }

    /// Numbers within the tolerance, everything else equal.
    func compare(_ a: JSONValue, _ b: JSONValue, path: String, into differences: inout [String]) {
        if let x = a.doubleValue, let y = b.doubleValue {
            if abs(x - y) > Self.atol + Self.rtol * abs(y) { differences.append("\(path): \(x) vs \(y)") }
        } else if let x = a.arrayValue, let y = b.arrayValue, x.count == y.count {
            for (i, (u, v)) in zip(x, y).enumerated() { compare(u, v, path: "\(path)[\(i)]", into: &differences) }
        } else if let x = a.objectValue, let y = b.objectValue, Set(x.keys) == Set(y.keys) {
            for key in x.keys.sorted() { compare(x[key]!, y[key]!, path: "\(path).\(key)", into: &differences) }
        } else if a != b {
            differences.append("\(path): \(a) vs \(b)")
        }
    }

    /// jam-eval's metrics.json for a config.
    func metrics(_ config: URL, in dir: URL) throws -> JSONValue {
        let paths = try runExecutable("jam-config", ["paths", "--config", config.path], in: dir).stdout
        let line = try #require(paths.split(separator: "\n").first { $0.hasPrefix("eval") })
        return try JSONValue.read(contentsOf: URL(fileURLWithPath: String(line.split(separator: " ").last!))
            .appendingPathComponent("metrics.json"))
    }

    // MARK: - Slurm

    /// `submit-pipeline.sh` on a config: the (stage, job id) pairs it printed.
    func submit(_ config: URL, in dir: URL) throws -> [(stage: String, id: String)] {
        let run = try bash([repositoryRoot.appendingPathComponent("scripts/slurm/submit-pipeline.sh").path,
                            "--config", config.lastPathComponent, "--array-size", "\(Self.arraySize)",
                            "--ranks", "\(Self.ranks)", "--logs", "logs"],
                           in: dir, environment: ["JAM_BIN": productsDirectory.path])
        try #require(run.status == 0, "submit-pipeline.sh failed: \(run.stderr)")
        return run.stdout.split(separator: "\n").map {
            let parts = $0.split(separator: " ")
            return (String(parts[0]), String(parts[1]))
        }
    }

    /// Waits until none of `jobs` (array tasks included) is in the queue.
    func waitFor(_ jobs: [(stage: String, id: String)], in dir: URL, timeout: Double = 400) throws {
        let ids = Set(jobs.map(\.id))
        let done = waitUntil(timeout: timeout) {
            guard let queued = try? squeue(["-o", "%F"]) else { return false }
            return ids.isDisjoint(with: queued.split(separator: "\n").map(String.init))
        }
        try #require(done, "jobs still queued after \(Int(timeout)) s: \((try? squeue(["-o", "%i %j %T %r"])) ?? "")\n\(logs(dir))")
    }

    func squeue(_ arguments: [String]) throws -> String {
        let run = try runProcess(URL(fileURLWithPath: "/usr/bin/env"), ["squeue", "-h"] + arguments)
        guard run.status == 0 else { throw JAMError("squeue failed: \(run.stderr)") }
        return run.stdout
    }

    /// The state of a job, or of each task of an array (`scontrol show job`; there is no accounting).
    func jobStates(_ id: String) throws -> [String] {
        let run = try runProcess(URL(fileURLWithPath: "/usr/bin/env"), ["scontrol", "show", "job", id])
        return run.stdout.split(whereSeparator: \.isWhitespace).compactMap {
            $0.hasPrefix("JobState=") ? String($0.dropFirst("JobState=".count)) : nil
        }
    }

    /// The last lines of every job's output, for failure messages.
    func logs(_ dir: URL) -> String {
        let folder = dir.appendingPathComponent("logs")
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).sorted()
        return names.map { name in
            let text = (try? String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)) ?? ""
            return "--- \(name)\n" + text.split(separator: "\n", omittingEmptySubsequences: false).suffix(12).joined(separator: "\n")
        }.joined(separator: "\n")
    }

    /// Runs `bash arguments...` with its output appended to `log` and returns its exit status.
    /// Not through Foundation's Process: its waitUntilExit was seen to wait forever for a script
    /// that leaves daemons behind (local-cluster.sh start).
    func spawnAndWait(_ arguments: [String], log: URL) -> Int32 {
        let command = (["exec", "/bin/bash"] + arguments).map { "'\($0.replacingOccurrences(of: "'", with: "'\\''"))'" }
            .joined(separator: " ") + " </dev/null >>'\(log.path)' 2>&1"
        let words: [String] = ["/bin/bash", "-c", command]
        let argv: [UnsafeMutablePointer<CChar>?] = words.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        guard posix_spawn(&pid, "/bin/bash", nil, nil, argv, environ) == 0 else { return -1 }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }

    func bash(_ arguments: [String], in dir: URL, environment: [String: String] = [:]) throws -> ProcessResult {
        try runProcess(URL(fileURLWithPath: "/bin/bash"), arguments, in: dir, environment: environment)
    }

    /// One local cluster per machine (its config and ports are global): runs `body` holding a
    /// lock that other test runs on this machine wait for.
    func withClusterLock(_ body: () throws -> Void) throws {
        let fd = open("/tmp/jam-local-cluster.lock", O_CREAT | O_RDWR | O_CLOEXEC, 0o666)
        try #require(fd >= 0, "cannot open /tmp/jam-local-cluster.lock")
        defer { close(fd) }
        flock(fd, LOCK_EX)
        defer { flock(fd, LOCK_UN) }
        try body()
    }
}
