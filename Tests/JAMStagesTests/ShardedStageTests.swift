import Foundation
import JAMArtifacts
import JAMConfig
import JAMCore
import JAMDatasets
import JAMStages
import JAMTestSupport
import Testing

/// Shards (`--shard i/N`, Slurm array variables) and concurrent runs of one stage over one
/// folder, through the built executables. Byte comparisons fix `SOURCE_DATE_EPOCH`, the one
/// thing that differs between two runs' artifacts (their `jam_created`); runs happen in one
/// folder so that the `jam_source` paths agree.
@Suite(.serialized) struct ShardedStageTests {
    /// Fixes the artifacts' creation time, so identical work gives identical bytes.
    static let fixedTime = ["SOURCE_DATE_EPOCH": "1700000000"]

    /// Every file under `folder` (relative path → bytes), stage reports left out.
    func files(under folder: URL) throws -> [String: Data] {
        var result: [String: Data] = [:]
        guard let walker = FileManager.default.enumerator(atPath: folder.path) else { return [:] }
        for case let path as String in walker {
            let url = folder.appendingPathComponent(path)
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder), !isFolder.boolValue,
                  !path.split(separator: "/").last!.hasPrefix("stage-report") else { continue }
            result[path] = try Data(contentsOf: url)
        }
        return result
    }

    /// Expects `actual` to hold exactly the files of `expected`, byte for byte.
    func expectSameFiles(_ actual: [String: Data], _ expected: [String: Data], _ what: String) {
        #expect(Set(actual.keys) == Set(expected.keys), "\(what): files differ: only in one run \(Set(actual.keys).symmetricDifference(expected.keys).sorted())")
        let differing = expected.keys.filter { actual[$0] != nil && actual[$0] != expected[$0] }.sorted()
        #expect(differing.isEmpty, "\(what): bytes differ in \(differing)")
        #expect(!expected.isEmpty)
    }

    func report(_ folder: URL, _ name: String) throws -> StageReportFile {
        try JSONDecoder().decode(StageReportFile.self, from: Data(contentsOf: folder.appendingPathComponent(name)))
    }

    /// The unit names of the config's videos (`Class/v_….avi`), as the stages name them.
    func unitNames(_ config: URL) throws -> [String] {
        let pipeline = try PipelineConfig.load(from: config)
        return try DecodeStage.videos(config: pipeline).videos.map(\.relativePath)
    }

    @Test func threeShardsOfDecodeAndFeaturesWriteExactlyWhatOneRunWrites() throws {
        try withTemporaryDirectory { dir in
            let config = try writeTinyConfig(in: dir)
            #expect(try runExecutable("jam-synth", ["--config", config.path], in: dir).status == 0)
            let artifacts = dir.appendingPathComponent("artifacts")
            let common = ["--config", config.path, "--threads", "1"]
            for stage in ["jam-decode", "jam-features"] {
                let run = try runExecutable(stage, common, in: dir, environment: Self.fixedTime)
                #expect(run.status == 0, "\(run.stderr)")
            }
            let frames = try stageFolder(artifacts, "frames"), features = try stageFolder(artifacts, "features")
            let single = (frames: try files(under: frames), features: try files(under: features))
            #expect(single.frames.keys.filter { $0.hasSuffix(".h5") }.count == 18)
            try FileManager.default.removeItem(at: artifacts)

            let names = try unitNames(config)
            func expectedOutputs(_ shard: Shard) -> Set<String> {
                Set(shard.select(names) { $0 }.map { ($0 as NSString).deletingPathExtension + ".h5" })
            }
            // Shard 0 by --shard; shard 1 by Slurm's variables (array 1-3: task 2 is the second); shard 2 by --shard.
            var run = try runExecutable("jam-decode", common + ["--shard", "0/3"], in: dir, environment: Self.fixedTime)
            #expect(run.status == 0, "\(run.stderr)")
            #expect(Set(artifactFiles(under: frames)) == expectedOutputs(Shard(index: 0, count: 3)))
            let slurm = ["SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_COUNT": "3",
                         "SLURM_ARRAY_JOB_ID": "77"].merging(Self.fixedTime) { $1 }
            run = try runExecutable("jam-decode", common, in: dir, environment: slurm)
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.stdout.contains("jam-decode shard 1/3: 6 done"), "\(run.stdout)")
            #expect(Set(artifactFiles(under: frames)) == expectedOutputs(Shard(index: 0, count: 3)).union(expectedOutputs(Shard(index: 1, count: 3))))
            run = try runExecutable("jam-decode", common + ["--shard", "2/3"], in: dir, environment: Self.fixedTime)
            #expect(run.status == 0, "\(run.stderr)")
            expectSameFiles(try files(under: frames), single.frames, "frames")

            // The feature shards run at once.
            let processes = try (0..<3).map {
                try start("jam-features", common + ["--shard", "\($0)/3"], in: dir, environment: Self.fixedTime, log: "features-\($0)")
            }
            for (i, process) in processes.enumerated() {
                process.waitUntilExit()
                let output = (try? log(dir, "features-\(i)")) ?? ""
                #expect(process.terminationStatus == 0, "shard \(i): \(output)")
            }
            expectSameFiles(try files(under: features), single.features, "features")

            // One report per shard, none for the whole; each counts its own 6 of the 18 videos.
            for (folder, stage) in [(frames, "jam-decode"), (features, "jam-features")] {
                let reports = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasPrefix("stage-report") }
                #expect(Set(reports) == Set((0..<3).map { "stage-report.shard-\($0)-of-3.json" }), "\(stage): \(reports)")
                for i in 0..<3 {
                    let r = try report(folder, "stage-report.shard-\(i)-of-3.json")
                    #expect(r.stage == stage && r.shard == "\(i)/3" && r.total_units == 6 && r.completed == 6 && r.failures.isEmpty)
                }
            }
            // A rerun of a shard skips its finished units.
            run = try runExecutable("jam-features", common + ["--shard", "1/3"], in: dir)
            #expect(run.status == 0 && run.stdout.contains("0 done, 6 already done, 0 failed of 6"), "\(run.stdout)")
        }
    }

    @Test func badShardsAreRefusedBeforeAnyWork() throws {
        try withTemporaryDirectory { dir in
            let config = try writeTinyConfig(in: dir)
            let bad = try runExecutable("jam-decode", ["--config", config.path, "--shard", "3/3"], in: dir)
            #expect(bad.status != 0 && bad.stderr.contains("--shard 3/3: the index must be 0 to 2"), "\(bad.stderr)")
            let slurm = try runExecutable("jam-features", ["--config", config.path], in: dir,
                                          environment: ["SLURM_ARRAY_TASK_ID": "4", "SLURM_ARRAY_TASK_MIN": "0"])
            #expect(slurm.status != 0 && slurm.stderr.contains("SLURM_ARRAY_TASK_COUNT is not"), "\(slurm.stderr)")
            #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("artifacts").path))
            // jam-synth makes one dataset: it takes no shard.
            let synth = try runExecutable("jam-synth", ["--config", config.path, "--shard", "0/2"], in: dir)
            #expect(synth.status != 0 && synth.stderr.contains("--shard"), "\(synth.stderr)")
        }
    }

    /// Two whole runs of jam-features at once on one folder, as two processes on one host and
    /// as two "hosts" (`JAM_HOST`): both succeed, and the folder holds exactly one run's files.
    @Test(arguments: [false, true])
    func twoConcurrentRunsOnOneFolderBothFinishAndLoseNothing(asTwoHosts: Bool) throws {
        let hosts: (String?, String?) = asTwoHosts ? ("hostA", "hostB") : (nil, nil)
        try withTemporaryDirectory { dir in
            let config = try writeTinyConfig(in: dir)
            #expect(try runExecutable("jam-synth", ["--config", config.path], in: dir).status == 0)
            let common = ["--config", config.path, "--threads", "1"]
            #expect(try runExecutable("jam-decode", common, in: dir, environment: Self.fixedTime).status == 0)
            #expect(try runExecutable("jam-features", common, in: dir, environment: Self.fixedTime).status == 0)
            let artifacts = dir.appendingPathComponent("artifacts")
            let features = try stageFolder(artifacts, "features")
            let single = try files(under: features)
            try FileManager.default.removeItem(at: features)

            // A fresh temporary of a third host's writer, whose pid means nothing here: kept.
            try FileManager.default.createDirectory(at: features.appendingPathComponent("MoveUp"), withIntermediateDirectories: true)
            let foreign = features.appendingPathComponent("MoveUp/v_MoveUp_g01_c01.h5.tmp-hostC-2147483000-1")
            try Data([1]).write(to: foreign)

            let processes = try [hosts.0, hosts.1].enumerated().map { i, host in
                try start("jam-features", common, in: dir,
                          environment: Self.fixedTime.merging(host.map { ["JAM_HOST": $0] } ?? [:]) { $1 }, log: "run-\(i)")
            }
            for (i, process) in processes.enumerated() {
                process.waitUntilExit()
                let output = (try? log(dir, "run-\(i)")) ?? ""
                #expect(process.terminationStatus == 0, "run \(i): \(output)")
            }
            var after = try files(under: features)
            #expect(after.removeValue(forKey: "MoveUp/v_MoveUp_g01_c01.h5.tmp-hostC-2147483000-1") != nil,
                    "another host's fresh temporary was removed")
            #expect(!after.keys.contains { AtomicFile.isTemporaryName($0) }, "temporaries left: \(after.keys.sorted())")
            expectSameFiles(after, single, "two concurrent runs")
        }
    }

    /// Starts an executable with extra environment variables; its output goes to `dir/<log>.log`.
    func start(_ name: String, _ arguments: [String], in dir: URL, environment: [String: String], log: String) throws -> Process {
        let process = Process()
        process.executableURL = productsDirectory.appendingPathComponent(name)
        process.arguments = arguments
        process.currentDirectoryURL = dir
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let url = dir.appendingPathComponent("\(log).log")
        FileManager.default.createFile(atPath: url.path, contents: nil)
        let handle = try FileHandle(forWritingTo: url)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        return process
    }

    func log(_ dir: URL, _ name: String) throws -> String {
        try String(contentsOf: dir.appendingPathComponent("\(name).log"), encoding: .utf8)
    }
}

/// The fields of a stage report the tests read.
struct StageReportFile: Decodable {
    var stage: String
    var shard: String?
    var total_units: Int
    var completed: Int
    var skipped: Int
    var failures: [UnitFailureFile]
}

struct UnitFailureFile: Decodable {
    var unit: String
    var file: String
    var reason: String
}

/// The export half of jam-c3d as shards: after a whole run trained the model, a shard
/// re-exports only its own videos; before training is finished, a shard refuses.
@Suite(.serialized) struct ShardedTrainedStageTests {
    @Test func aShardReexportsOnlyItsOwnCubesAndRefusesBeforeTrainingIsFinished() throws {
        try withTemporaryDirectory { dir in
            let c3d = smallC3D.replacingOccurrences(of: "\"epochs\": 12", with: "\"epochs\": 1")
            let configURL = try writeC3DConfig(in: dir, c3d: c3d)
            try makeMotionFeatures(in: dir, config: configURL, fixture: MotionFixture(trainPerClass: 2, testPerClass: 1, frames: 12))
            let time = ShardedStageTests.fixedTime
            let whole = try runExecutable("jam-c3d", ["--config", configURL.path, "--threads", "1"], in: dir, environment: time)
            #expect(whole.status == 0, "\(whole.stderr)")
            let split = try cubesFolder(dir).appendingPathComponent("split1")
            let helpers = ShardedStageTests()
            let finished = try helpers.files(under: split)

            // Units are `split1/<video>`; delete two cubes of each of the shards 0/2 and 1/2.
            let videos = try DatasetReader.read(.ucf101, root: dir.appendingPathComponent("motion"), split: 1, checkFiles: false)
                .split.allVideos.map(\.relativePath)
            #expect(videos.count == 12)
            func cubes(_ shard: Shard) -> [String] {
                shard.select(videos.map { "split1/\($0)" }) { $0 }.map { (String($0.dropFirst(7)) as NSString).deletingPathExtension + ".h5" }
            }
            let (mine, theirs) = (Array(cubes(Shard(index: 1, count: 2)).prefix(2)), Array(cubes(Shard(index: 0, count: 2)).prefix(2)))
            #expect(Set(cubes(Shard(index: 1, count: 2))).isDisjoint(with: cubes(Shard(index: 0, count: 2))))
            for name in mine + theirs { try FileManager.default.removeItem(at: split.appendingPathComponent(name)) }

            let shard = try runExecutable("jam-c3d", ["--config", configURL.path, "--threads", "1", "--shard", "1/2"], in: dir,
                                          environment: time)
            #expect(shard.status == 0, "\(shard.stderr)")
            var expected = finished
            for name in theirs { expected.removeValue(forKey: name) }
            helpers.expectSameFiles(try helpers.files(under: split), expected, "after shard 1/2")
            let report = try helpers.report(try cubesFolder(dir), "stage-report.shard-1-of-2.json")
            #expect(report.shard == "1/2" && report.total_units == 6 && report.completed == 2 && report.skipped == 4, "\(report)")

            // With more epochs planned than the checkpoint has, a shard neither trains nor touches the exports.
            let longer = try writeC3DConfig(in: dir, name: "longer.json", c3d: smallC3D.replacingOccurrences(of: "\"epochs\": 12", with: "\"epochs\": 2"))
            let refused = try runExecutable("jam-c3d", ["--config", longer.path, "--shard", "0/2"], in: dir, environment: time)
            #expect(refused.status != 0)
            #expect(refused.stderr.contains("split 1: training is not finished (epoch 1 of 2); run jam-c3d --round 1 without --shard "
                                            + "(or under mpirun/srun) to train, then the shards export"), "\(refused.stderr)")
            helpers.expectSameFiles(try helpers.files(under: split), expected, "after the refused shard")

            let other = try runExecutable("jam-c3d", ["--config", configURL.path, "--threads", "1", "--shard", "0/2"], in: dir,
                                          environment: time)
            #expect(other.status == 0, "\(other.stderr)")
            helpers.expectSameFiles(try helpers.files(under: split), finished, "after both shards")
        }
    }
}

/// The runner's side of shards, in memory: which units a shard runs, which failures it
/// reports, what its report counts and where it is written.
@Suite struct ShardedRunnerTests {
    @Test func aShardRunsReportsAndCountsOnlyItsUnits() throws {
        try withTemporaryDirectory { dir in
            // Given out of name order, with a failure found before the run ("c.avi" is missing).
            let names = ["e.avi", "a.avi", "d.avi", "b.avi", "f.avi"]
            let units = names.map {
                WorkUnit(name: $0, input: dir.appendingPathComponent("in/\($0)"), output: dir.appendingPathComponent("out/\($0).done"))
            }
            let missing = UnitFailure(unit: "c.avi", file: "list.txt", reason: "no such file")
            // Sorted: a b c d e f → shard 0/2 takes a, c, e; shard 1/2 takes b, d, f.
            var done: [String: [String]] = [:]
            for index in 0..<2 {
                let shard = Shard(index: index, count: 2)
                let ran = Locked<[String]>([])
                let runner = StageRunner(stage: "jam-test", policy: RunPolicy(workers: 2, shard: shard),
                                         progress: ProgressReporter(label: "jam-test", interactive: false, interval: 0))
                let report = runner.run(units: units, knownFailures: [missing], configDigest: "d") { unit in
                    ran.withLock { $0.append(unit.name) }
                    try FileManager.default.createDirectory(at: unit.output.deletingLastPathComponent(), withIntermediateDirectories: true)
                    try Data().write(to: unit.output)
                }
                done[shard.description] = ran.withLock { $0.sorted() }
                #expect(report.shard == shard.description && report.fileName == "stage-report.shard-\(index)-of-2.json")
                #expect(report.totalUnits == (index == 0 ? 2 : 3) && report.completed == report.totalUnits)
                #expect(report.failures == (index == 0 ? [missing] : []), "the missing unit is shard 0's alone")
                try report.write(to: dir)
            }
            #expect(done == ["0/2": ["a.avi", "e.avi"], "1/2": ["b.avi", "d.avi", "f.avi"]])
            let written = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix("stage-report") }
            #expect(Set(written) == ["stage-report.shard-0-of-2.json", "stage-report.shard-1-of-2.json"])
            // A whole run: every unit, the plain report name, no shard field.
            let whole = StageRunner(stage: "jam-test", policy: RunPolicy(), progress: ProgressReporter(label: "t", interactive: false, interval: 0))
                .run(units: units, knownFailures: [missing], configDigest: "d") { _ in }
            #expect(whole.shard == nil && whole.fileName == "stage-report.json" && whole.skipped == 5 && whole.failures == [missing])
        }
    }

    @Test func onlyAWholeRunTrainsUnlessTold() {
        #expect(RunPolicy().trainsHere)
        var policy = RunPolicy(shard: Shard(index: 1, count: 4))
        #expect(!policy.trainsHere)
        policy.trainsHere = true  // an MPI run: the ranks train together, each exports its shard
        #expect(policy.trainsHere && policy.shard == Shard(index: 1, count: 4))
    }
}

/// A value behind a lock, for the runner's concurrent workers.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func withLock<R>(_ body: (inout Value) -> R) -> R { lock.withLock { body(&value) } }
}
