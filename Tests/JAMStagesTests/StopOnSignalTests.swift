import Foundation
import JAMArtifacts
import JAMCore
import JAMStages
import JAMTestSupport
import JAMTraining
import Testing

/// A clean stop on SIGUSR1 or SIGTERM (Slurm's warning before a time limit): a per-video stage
/// takes no new unit, keeps the finished ones, writes its report and exits 75; training
/// checkpoints after the step it is in and exits 75; rerunning finishes with what an
/// uninterrupted run makes. The signals go to real processes (the process-wide request must not
/// reach the other tests running in this one).
@Suite(.serialized) struct StopOnSignalTests {
    /// Every file under `folder` whose name marks an unpublished temporary.
    func temporaries(under folder: URL) -> [String] {
        let walker = FileManager.default.enumerator(atPath: folder.path)
        return (walker?.compactMap { $0 as? String } ?? []).filter { $0.contains(AtomicFile.temporaryMarker) }
    }

    @Test func theRunnerTakesNoNewUnitOnceAStopIsRequested() throws {
        try withTemporaryDirectory { dir in
            let units = ["a", "b", "c", "d", "e"].map {
                WorkUnit(name: $0, input: dir.appendingPathComponent($0), output: dir.appendingPathComponent("\($0).done"))
            }
            let done = Counter()
            var runner = StageRunner(stage: "jam-test", policy: RunPolicy(workers: 1),
                                     progress: ProgressReporter(label: "jam-test", interactive: false, interval: 0))
            runner.stopRequested = { done.value >= 2 }  // requested while unit "b" runs
            let work: @Sendable (WorkUnit) throws -> Void = { unit in
                try AtomicFile.write(Data(unit.name.utf8), to: unit.output)
                done.increment()
            }
            let report = runner.run(units: units, configDigest: "d", work: work)
            #expect(report.completed == 2 && report.skipped == 0 && report.failures.isEmpty && report.totalUnits == 5)
            #expect(report.stoppedEarly && !report.succeeded)
            #expect(report.summary.contains("stopped on request"), "\(report.summary)")
            #expect(units.map { FileManager.default.fileExists(atPath: $0.output.path) } == [true, true, false, false, false])
            #expect(temporaries(under: dir).isEmpty)

            runner.stopRequested = { false }
            let rerun = runner.run(units: units, configDigest: "d", work: work)
            #expect(rerun.completed == 3 && rerun.skipped == 2 && rerun.succeeded)
        }
    }

    @Test func jamFeaturesStopsAtAUnitBoundaryOnSIGUSR1AndARerunFinishes() throws {
        try withTemporaryDirectory { dir in
            // 18 videos, one at a time: the signal comes after the first, with most still to do.
            let config = try writeTinyConfig(in: dir, frames: 16)
            let reference = try writeTinyConfig(in: dir, name: "reference.json", artifacts: "reference", frames: 16)
            for stage in ["jam-synth", "jam-decode"] {
                let run = try runExecutable(stage, ["--config", config.path], in: dir)
                try #require(run.status == 0, "\(stage): \(run.stderr)")
            }
            try FileManager.default.copyItem(at: dir.appendingPathComponent("artifacts"), to: dir.appendingPathComponent("reference"))
            #expect(try runExecutable("jam-features", ["--config", reference.path], in: dir).status == 0)

            let process = try launch("jam-features", ["--config", config.path, "--threads", "1"], in: dir)
            let base = dir.appendingPathComponent("artifacts/tiny/features")
            #expect(waitUntil(timeout: 120) {
                FileManager.default.enumerator(atPath: base.path)?.contains { ($0 as? String)?.hasSuffix(".h5") == true } == true
            }, "jam-features wrote nothing")
            kill(process.processIdentifier, SIGUSR1)
            process.waitUntilExit()
            #expect(process.terminationReason == .exit && process.terminationStatus == StopRequest.exitCode,
                    "exit \(process.terminationStatus) (\(process.terminationReason == .exit ? "exit" : "signal"))")

            let folder = try stageFolder(dir.appendingPathComponent("artifacts"), "features")
            let report = try JSONValue.read(contentsOf: folder.appendingPathComponent("stage-report.json"))
            let completed = try #require(report["completed"]?.intValue)
            #expect(report["stopped_early"]?.boolValue == true && report["failures"]?.arrayValue?.isEmpty == true, "\(report)")
            #expect(completed >= 1 && completed < 18, "stopped after \(completed) of 18")
            #expect(artifactFiles(under: folder).count == completed, "the finished units are kept, the others not started")
            #expect(temporaries(under: folder).isEmpty, "\(temporaries(under: folder))")

            let rerun = try runExecutable("jam-features", ["--config", config.path, "--threads", "1"], in: dir)
            #expect(rerun.status == 0, "\(rerun.stderr)")
            #expect(rerun.stdout.contains("\(18 - completed) done, \(completed) already done"), "\(rerun.stdout)")
            let expected = try stageFolder(dir.appendingPathComponent("reference"), "features")
            #expect(artifactFiles(under: folder) == artifactFiles(under: expected))
            for name in artifactFiles(under: expected) {
                #expect(try artifactContents(folder.appendingPathComponent(name))
                        == artifactContents(expected.appendingPathComponent(name)), "\(name)")
            }
        }
    }

    @Test func jamC3DCheckpointsAndExits75OnSIGUSR1AndResumesBitIdentically() throws {
        try withTemporaryDirectory { dir in
            let configURL = try makeInterruptibleC3DRun(in: dir, checkpointEvery: 1)

            // The first checkpoint (after step 1) says training is under way; then the signal.
            let log = dir.appendingPathComponent("stopped.log")
            let process = try launch("jam-c3d", ["--config", configURL.path, "--threads", "2"], in: dir, standardError: log)
            let base = dir.appendingPathComponent("artifacts/tiny/cubes")
            #expect(waitUntil(timeout: 120) {
                FileManager.default.enumerator(atPath: base.path)?.contains { ($0 as? String)?.hasSuffix("checkpoint.h5") == true } == true
            })
            kill(process.processIdentifier, SIGUSR1)
            process.waitUntilExit()
            #expect(process.terminationReason == .exit && process.terminationStatus == StopRequest.exitCode,
                    "exit \(process.terminationStatus) (\(process.terminationReason == .exit ? "exit" : "signal"))")
            let message = try String(contentsOf: log, encoding: .utf8)
            #expect(message.contains("jam-c3d: stopped on request (SIGUSR1): the checkpoint ")
                    && message.contains("rerun the same command to resume from it"), "\(message.suffix(1500))")
            let split = try cubesFolder(dir).appendingPathComponent("split1")
            let (stopped, _) = try TrainingCheckpoint.read(from: split.appendingPathComponent("checkpoint.h5"), expecting: .c3dCheckpoint)
            #expect(stopped.state.epoch < 3, "the signal came after training finished")
            #expect(artifactFiles(under: split).filter { $0 != "checkpoint.h5" && $0 != "normalization.h5" }.isEmpty,
                    "no cube is exported from unfinished training")
            #expect(temporaries(under: split).isEmpty)

            let referenceSplit = try resumeToTheReference(in: dir, config: configURL, split: split)
            #expect(artifactFiles(under: split) == artifactFiles(under: referenceSplit))
        }
    }

    @Test func theStopMessageNamesTheCheckpointEpochAndStep() throws {
        // The message a user (or a job log) sees when training stops on request.
        let error = StoppedOnRequest(reason: "SIGUSR1", checkpoint: URL(fileURLWithPath: "/x/split1/checkpoint.h5"), epoch: 1, step: 7)
        #expect(error.description == "stopped on request (SIGUSR1): the checkpoint /x/split1/checkpoint.h5 holds the training "
                + "state at epoch 2, 7 steps done; rerun the same command to resume from it")
    }
}

/// Starts a built executable without waiting for it, its standard error going to `standardError`.
func launch(_ name: String, _ arguments: [String], in directory: URL, standardError: URL) throws -> Process {
    _ = FileManager.default.createFile(atPath: standardError.path, contents: nil)
    let process = Process()
    process.executableURL = productsDirectory.appendingPathComponent(name)
    process.arguments = arguments
    process.currentDirectoryURL = directory
    process.standardOutput = FileHandle.nullDevice
    process.standardError = try FileHandle(forWritingTo: standardError)
    try process.run()
    return process
}

/// A thread-safe count.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    var value: Int { lock.withLock { count } }
    func increment() { lock.withLock { count += 1 } }
}
