// Data-parallel training under a real MPI launcher: jam-c3d and jam-lstm with 2 ranks against
// one plain process, killed runs resumed with another number of ranks, and the fixed-order
// all-reduce (jam-bench allreduce --check) with 2 and 3 ranks.
//
// Tolerance (docs/DESIGN.md, "Data-parallel training"): R ranks add the per-clip gradient
// terms in another grouping than one process (within each rank's slice, then across ranks in
// rank order), so results agree to float32 summation, not bit for bit. Over these few steps we
// accept |a − b| ≤ 1e-4 + 1e-3·|b| for weights, logged metrics and exported values; the
// differences measured on these runs (8 to 60 steps) were ≤ 6e-7 on weights and ≤ 3e-5 on
// exported cube values (each test prints its largest).
import Foundation
import JAMArtifacts
import JAMCore
import JAMTestSupport
import JAMTraining
import Testing

/// `mpirun` from Open MPI (scripts/setup.sh installs openmpi-bin), or an issue saying so.
func mpirunExecutable(sourceLocation: SourceLocation = #_sourceLocation) -> URL? {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
    for folder in path.split(separator: ":").map(String.init) + ["/usr/bin"] {
        let url = URL(fileURLWithPath: folder).appendingPathComponent("mpirun")
        if FileManager.default.isExecutableFile(atPath: url.path) { return url }
    }
    Issue.record("\(MPIUnavailable())", sourceLocation: sourceLocation)
    return nil
}

/// Thrown (after the issue `mpirunExecutable` recorded) when Open MPI is not installed.
struct MPIUnavailable: Error, CustomStringConvertible {
    var description: String { "mpirun not found: run scripts/setup.sh (it installs openmpi-bin libopenmpi-dev)" }
}

/// `mpirun -np ranks <products>/name arguments` (as root too, more ranks than cores allowed).
func mpirunArguments(_ ranks: Int, _ name: String, _ arguments: [String]) -> [String] {
    ["--allow-run-as-root", "--oversubscribe", "-np", "\(ranks)", productsDirectory.appendingPathComponent(name).path] + arguments
}

/// Runs a JAM executable under `mpirun -np ranks` and collects its output.
func runMPI(_ ranks: Int, _ name: String, _ arguments: [String], in directory: URL) throws -> ProcessResult {
    guard let mpirun = mpirunExecutable() else { throw MPIUnavailable() }
    return try runProcess(mpirun, mpirunArguments(ranks, name, arguments), in: directory)
}

/// Starts `mpirun -np ranks name arguments` without waiting (nil, with an issue, without mpirun).
func launchMPI(_ ranks: Int, _ name: String, _ arguments: [String], in directory: URL) throws -> Process? {
    guard let mpirun = mpirunExecutable() else { return nil }
    let process = Process()
    process.executableURL = mpirun
    process.arguments = mpirunArguments(ranks, name, arguments)
    process.currentDirectoryURL = directory
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    return process
}

/// The processes `pid` started, and theirs (from /proc), so that a test can kill a whole MPI job
/// as a crash of its node would.
func descendants(of pid: Int32) -> [Int32] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    var parents: [Int32: [Int32]] = [:]
    for entry in entries {
        guard let child = Int32(entry),
              let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { continue }
        // "pid (comm) state ppid ...": the fields after the command name.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        if fields.count > 1, let parent = Int32(fields[1]) { parents[parent, default: []].append(child) }
    }
    var found: [Int32] = [], queue = [pid]
    while let next = queue.popLast() {
        for child in parents[next] ?? [] {
            found.append(child)
            queue.append(child)
        }
    }
    return found
}

/// SIGKILL to `process` and every process it started, then waits for it.
func killJob(_ process: Process) {
    let ranks = descendants(of: process.processIdentifier)
    kill(process.processIdentifier, SIGKILL)
    for rank in ranks { kill(rank, SIGKILL) }
    process.waitUntilExit()
    _ = waitUntil(timeout: 10) { ranks.allSatisfy { kill($0, 0) != 0 } }
}

/// The data-parallel tolerance (see the file's header).
let dataParallelRtol = 1e-3, dataParallelAtol = 1e-4

/// Expects two checkpoints to hold the same training state within the tolerance: the step and
/// epoch exactly, the weights and the log's metrics within float32 summation tolerance.
func expectSameTraining(_ a: URL, _ b: URL, kind: ArtifactKind, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let (x, _) = try TrainingCheckpoint.read(from: a, expecting: kind)
    let (y, _) = try TrainingCheckpoint.read(from: b, expecting: kind)
    #expect(x.state.step == y.state.step && x.state.epoch == y.state.epoch, sourceLocation: sourceLocation)
    expectClose(x.values, y.values, rtol: dataParallelRtol, atol: dataParallelAtol, "weights", sourceLocation: sourceLocation)
    print("data-parallel vs 1 process, \(kind): weights max |diff| \(maxAbsDifference(x.values, y.values)) "
          + "(largest |w| \(x.values.map { abs($0) }.max() ?? 0))")
    #expect(x.log.count == y.log.count, sourceLocation: sourceLocation)
    for (p, q) in zip(x.log, y.log) {
        #expect(p.epoch == q.epoch && p.steps == q.steps && p.learningRate == q.learningRate, sourceLocation: sourceLocation)
        for (metrics, other, what) in [(p.train, q.train, "train"), (p.validation, q.validation, "validation")] {
            #expect(metrics.keys.sorted() == other.keys.sorted(), "\(what) metrics", sourceLocation: sourceLocation)
            for key in metrics.keys.sorted() where other[key] != nil {
                expectClose([metrics[key]!], [other[key]!], rtol: dataParallelRtol, atol: dataParallelAtol,
                            "epoch \(p.epoch + 1) \(what) \(key)", sourceLocation: sourceLocation)
            }
        }
    }
}

/// Expects two folders of exported artifacts to hold the same files, with equal attributes
/// (but creation time and source path) and every array within the tolerance.
func expectSameExports(_ a: URL, _ b: URL, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let files = artifactFiles(under: a).filter { $0 != "checkpoint.h5" }
    #expect(!files.isEmpty, "no exports under \(a.path)", sourceLocation: sourceLocation)
    #expect(files == artifactFiles(under: b).filter { $0 != "checkpoint.h5" }, sourceLocation: sourceLocation)
    var largest = 0.0
    defer { print("data-parallel vs 1 process: exports under \(a.lastPathComponent) max |diff| \(largest)") }
    for name in files {
        let x = try HDF5File.open(at: a.appendingPathComponent(name))
        let y = try HDF5File.open(at: b.appendingPathComponent(name))
        for attribute in x.attributeNames() where attribute != "jam_created" && attribute != "jam_source" {
            let p = (try? x.stringAttribute(attribute)) ?? (try? x.numericAttribute(attribute, as: Double.self)).map { "\($0)" }
            let q = (try? y.stringAttribute(attribute)) ?? (try? y.numericAttribute(attribute, as: Double.self)).map { "\($0)" }
            #expect(p == q, "\(name) @\(attribute)", sourceLocation: sourceLocation)
        }
        let members = datasetPaths(in: x)
        #expect(!members.isEmpty && members == datasetPaths(in: y), "\(name)", sourceLocation: sourceLocation)
        for member in members {
            let p = try x.openDataset(member), q = try y.openDataset(member)
            #expect(try p.shape() == q.shape(), "\(name) \(member)", sourceLocation: sourceLocation)
            let (pv, qv) = (try p.read(as: Double.self), try q.read(as: Double.self))
            if pv.count == qv.count { largest = max(largest, maxAbsDifference(pv, qv)) }
            expectClose(pv, qv, rtol: dataParallelRtol,
                        atol: dataParallelAtol, "\(name) \(member)", sourceLocation: sourceLocation)
        }
    }
}

/// Every dataset of a file, nested groups included (`cube/pool4`), sorted.
func datasetPaths(in file: HDF5File) -> [String] {
    var paths: [String] = []
    func walk(_ group: HDF5Group, prefix: String) {
        for name in group.memberNames() {
            if (try? group.openDataset(name)) != nil {
                paths.append(prefix + name)
            } else if let inner = try? group.openGroup(name) {
                walk(inner, prefix: prefix + name + "/")
            }
        }
    }
    walk(file, prefix: "")
    return paths.sorted()
}

@Suite(.serialized) struct MPITrainingTests {
    /// A c3d section (6 clips per batch: 3 per rank). SGD rather than Adam, whose update hardly
    /// changes when every gradient is scaled alike, so that a wrong share n_r/B would show; weight
    /// decay, which every rank adds, must come out once.
    static let c3d = """
        "clip_length": 8, "clip_stride": 3, "conv1_width": 8, "conv2_width": 8, "hidden_width": 16,
        "epochs": 2, "batch": 6, "optimizer": "sgd", "momentum": 0.9, "learning_rate": 0.01, "weight_decay": 0.001,
        "checkpoint_every": 2, "seed": 2, "validation_clips": 6
        """

    /// Two copies of the motion features: `reference` (one process) and `artifacts` (MPI).
    func c3dFixture(in dir: URL, epochs: Int = 2) throws -> (mpi: URL, plain: URL) {
        let fixture = MotionFixture(trainPerClass: 3, testPerClass: 1, frames: 12, side: 6, channels: 8)
        let section = Self.c3d.replacingOccurrences(of: "\"epochs\": 2", with: "\"epochs\": \(epochs)")
        let mpi = try writeC3DConfig(in: dir, c3d: section)
        try makeMotionFeatures(in: dir, config: mpi, fixture: fixture)
        let plain = try writeC3DConfig(in: dir, name: "reference.json", artifacts: "reference", c3d: section)
        try FileManager.default.copyItem(at: dir.appendingPathComponent("artifacts"), to: dir.appendingPathComponent("reference"))
        return (mpi, plain)
    }

    @Test func c3dWithTwoRanksEqualsOneProcess() throws {
        try withTemporaryDirectory { dir in
            let (mpi, plain) = try c3dFixture(in: dir)
            let reference = try runExecutable("jam-c3d", ["--config", plain.path, "--threads", "1"], in: dir)
            #expect(reference.status == 0, "\(reference.stderr)")
            let parallel = try runMPI(2, "jam-c3d", ["--config", mpi.path, "--threads", "1"], in: dir)
            #expect(parallel.status == 0, "\(parallel.stderr)")
            #expect(parallel.stderr.contains("data-parallel over 2 ranks"), "\(parallel.stderr)")
            // Rank 0 alone prints the training lines, as the one process does; each rank names
            // itself on the progress of its share of the exports.
            let epochLines = { (text: String) in text.components(separatedBy: "split 1: epoch 1:").count - 1 }
            #expect(epochLines(reference.stderr) == 1 && epochLines(parallel.stderr) == 1, "\(parallel.stderr)")
            #expect(parallel.stderr.contains("jam-c3d split 1 export (rank 0 of 2)")
                    && parallel.stderr.contains("jam-c3d split 1 export (rank 1 of 2)"), "\(parallel.stderr)")
            // One summary line: rank 0 merged every rank's exports into one report.
            #expect(parallel.stdout.contains("jam-c3d: 16 done, 0 already done, 0 failed of 16"), "\(parallel.stdout)")

            let split = try cubesFolder(dir).appendingPathComponent("split1")
            let referenceSplit = try cubesFolder(dir, artifacts: "reference").appendingPathComponent("split1")
            try expectSameTraining(split.appendingPathComponent("checkpoint.h5"),
                                   referenceSplit.appendingPathComponent("checkpoint.h5"), kind: .c3dCheckpoint)
            try expectSameExports(split, referenceSplit)
            let report = try String(contentsOf: cubesFolder(dir).appendingPathComponent("stage-report.json"), encoding: .utf8)
            #expect(report.contains("\"completed\" : 16") && report.contains("\"total_units\" : 16"), "\(report)")
            #expect(FileManager.default.fileExists(atPath: split.appendingPathComponent("training-log.json").path))
        }
    }

    /// The ranks shard the exports themselves: --shard on top of an MPI launch is refused, naming both.
    @Test func shardOptionWithMPIIsRefused() throws {
        try withTemporaryDirectory { dir in
            let (mpi, _) = try c3dFixture(in: dir)
            let run = try runMPI(2, "jam-c3d", ["--config", mpi.path, "--threads", "1", "--shard", "0/2"], in: dir)
            #expect(run.status != 0)
            #expect(run.stderr.contains("--shard 0/2") && run.stderr.contains("cannot be combined"), "\(run.stderr)")
            #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("artifacts/tiny/cubes").path)
                    || artifactFiles(under: dir.appendingPathComponent("artifacts/tiny/cubes")).isEmpty)
        }
    }

    @Test func c3dKilledWithTwoRanksResumesWithOne() throws {
        try withTemporaryDirectory { dir in
            let (mpi, plain) = try c3dFixture(in: dir, epochs: 6)
            let reference = try runExecutable("jam-c3d", ["--config", plain.path, "--threads", "1"], in: dir)
            #expect(reference.status == 0, "\(reference.stderr)")

            guard let process = try launchMPI(2, "jam-c3d", ["--config", mpi.path, "--threads", "1"], in: dir) else { return }
            defer { if process.isRunning { killJob(process) } }
            let base = dir.appendingPathComponent("artifacts/tiny/cubes")
            let started = waitUntil(timeout: 300) {
                guard let walker = FileManager.default.enumerator(atPath: base.path) else { return false }
                return walker.contains { ($0 as? String)?.hasSuffix("checkpoint.h5") == true }
            }
            #expect(started)
            killJob(process)  // mpirun and both ranks, as if the node had failed
            let split = try cubesFolder(dir).appendingPathComponent("split1")
            let (partial, _) = try TrainingCheckpoint.read(from: split.appendingPathComponent("checkpoint.h5"), expecting: .c3dCheckpoint)
            #expect(partial.state.epoch < 6, "the kill came after training finished")

            let resumed = try runExecutable("jam-c3d", ["--config", mpi.path, "--threads", "1"], in: dir)
            #expect(resumed.status == 0, "\(resumed.stderr)")
            #expect(resumed.stderr.contains("resuming from checkpoint.h5"), "\(resumed.stderr)")
            let referenceSplit = try cubesFolder(dir, artifacts: "reference").appendingPathComponent("split1")
            try expectSameTraining(split.appendingPathComponent("checkpoint.h5"),
                                   referenceSplit.appendingPathComponent("checkpoint.h5"), kind: .c3dCheckpoint)
            try expectSameExports(split, referenceSplit)
        }
    }

    @Test func lstmWithTwoRanksEqualsOneProcess() throws {
        try withTemporaryDirectory { dir in
            // 5 clips per batch (3 + 2 over the ranks), SGD (see `c3d`), weight decay on.
            let section = lstmSection(hidden: 16, layers: 2, clip: 6, stride: 2, epochs: 2, batch: 5, learningRate: 0.05,
                                      checkpointEvery: 3, extra: #", "optimizer": "sgd", "momentum": 0.9, "weight_decay": 0.001"#)
            let (plain, mpi) = try (makeLSTMFixture(dir, "reference", section), makeLSTMFixture(dir, "mpi", section))
            let reference = try runExecutable("jam-lstm", ["--config", plain.config.path, "--threads", "1"], in: plain.dir)
            #expect(reference.status == 0, "\(reference.stderr)")
            let parallel = try runMPI(2, "jam-lstm", ["--config", mpi.config.path, "--threads", "1"], in: mpi.dir)
            #expect(parallel.status == 0, "\(parallel.stderr)")
            #expect(parallel.stderr.contains("data-parallel over 2 ranks"), "\(parallel.stderr)")
            #expect(parallel.stdout.contains("jam-lstm: 16 done, 0 already done, 0 failed of 16"), "\(parallel.stdout)")
            try expectSameTraining(mpi.checkpointURL(), plain.checkpointURL(), kind: .lstmCheckpoint)
            try expectSameExports(mpi.plan().attentionFolder, plain.plan().attentionFolder)
        }
    }

    @Test func lstmKilledWithOneProcessResumesWithTwoRanks() throws {
        try withTemporaryDirectory { dir in
            let section = lstmSection(hidden: 32, layers: 2, clip: 6, stride: 1, epochs: 4, batch: 4, checkpointEvery: 2)
            let (plain, killed) = try (makeLSTMFixture(dir, "reference", section), makeLSTMFixture(dir, "killed", section))
            let reference = try runExecutable("jam-lstm", ["--config", plain.config.path, "--threads", "1"], in: plain.dir)
            #expect(reference.status == 0, "\(reference.stderr)")

            let checkpoint = try killed.checkpointURL()
            let process = try launch("jam-lstm", ["--config", killed.config.path, "--threads", "1"], in: killed.dir)
            #expect(waitUntil(timeout: 120) { FileManager.default.fileExists(atPath: checkpoint.path) })
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            let (partial, _) = try TrainingCheckpoint.read(from: checkpoint, expecting: .lstmCheckpoint)
            #expect(partial.state.epoch < 4, "the kill came after training ended")

            let resumed = try runMPI(2, "jam-lstm", ["--config", killed.config.path, "--threads", "1"], in: killed.dir)
            #expect(resumed.status == 0, "\(resumed.stderr)")
            #expect(resumed.stderr.contains("resuming from checkpoint.h5"), "\(resumed.stderr)")
            try expectSameTraining(checkpoint, plain.checkpointURL(), kind: .lstmCheckpoint)
            try expectSameExports(killed.plan().attentionFolder, plain.plan().attentionFolder)
        }
    }

    func makeLSTMFixture(_ dir: URL, _ name: String, _ section: String) throws -> LSTMFixture {
        let folder = dir.appendingPathComponent(name, isDirectory: true)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return try LSTMFixture(in: folder, lstm: section, trainPerClass: 3, testPerClass: 1)
    }

    /// The fixed-order all-reduce: bit-equal to the rank-order float32 sum regenerated on rank 0,
    /// within (R − 1)·2⁻²⁴·Σ|x| of a float64 sum, the same bytes on every rank; uneven blocks
    /// and fewer values than ranks included.
    @Test(arguments: [2, 3]) func fixedOrderAllReduceEqualsTheRankOrderSum(ranks: Int) throws {
        try withTemporaryDirectory { dir in
            for count in [100_003, 2] {
                let run = try runMPI(ranks, "jam-bench", ["allreduce", "--count", "\(count)", "--repetitions", "2", "--check"], in: dir)
                #expect(run.status == 0, "\(run.stdout)\n\(run.stderr)")
                #expect(run.stdout.contains("\(count) of \(count) equal the rank-order float32 sum bit for bit"), "\(run.stdout)")
                #expect(run.stdout.contains("check passed on \(ranks) rank(s)"), "\(run.stdout)")
            }
        }
    }

    /// A plain invocation never starts MPI: no launcher variables, one process, no data-parallel log.
    @Test func plainRunDoesNotUseMPI() throws {
        try withTemporaryDirectory { dir in
            let run = try runExecutable("jam-bench", ["allreduce", "--count", "10", "--repetitions", "1", "--check"], in: dir)
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.stdout.contains("over 1 rank(s)") && run.stdout.contains("check passed on 1 rank(s)"), "\(run.stdout)")
        }
    }
}
