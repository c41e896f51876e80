import Foundation
import JAMCore
import JAMStages
import JAMTestSupport
import Testing

// The shared loop of the per-video stages, driven by an in-memory work closure that writes one
// small file per unit in a temporary folder.

@Suite struct StageRunnerTests {
    /// Units `names` reading `<dir>/in/<name>` and writing `<dir>/out/<name>.done`.
    func units(_ names: [String], in dir: URL) -> [WorkUnit] {
        names.map {
            WorkUnit(name: $0, input: dir.appendingPathComponent("in/\($0)"), output: dir.appendingPathComponent("out/\($0).done"))
        }
    }

    /// Writes the unit's output, or throws a JAMError naming its input when its name contains "bad".
    func work(_ unit: WorkUnit) throws {
        if unit.name.contains("bad") { throw JAMError("decoder said no", file: unit.input.path) }
        try FileManager.default.createDirectory(at: unit.output.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(unit.name.utf8).write(to: unit.output)
    }

    func runner(_ policy: RunPolicy) -> StageRunner {
        StageRunner(stage: "jam-test", policy: policy, progress: ProgressReporter(label: "jam-test", interactive: false, interval: 0))
    }

    func exists(_ url: URL) -> Bool { FileManager.default.fileExists(atPath: url.path) }

    @Test func finishedUnitsAreSkippedAndFailuresRecordedWithFileAndReason() throws {
        try withTemporaryDirectory { dir in
            let all = units(["a", "bad1", "c", "d"], in: dir)
            // "d" finished in an earlier run: its output holds something this run would not write.
            try FileManager.default.createDirectory(at: dir.appendingPathComponent("out"), withIntermediateDirectories: true)
            try Data("earlier".utf8).write(to: all[3].output)

            let report = runner(RunPolicy(workers: 2)).run(units: all, configDigest: "abcd") { try work($0) }
            #expect(report.totalUnits == 4 && report.completed == 2 && report.skipped == 1)
            // The file is named once: as the failure's file, not again at the head of its reason (issue 13).
            #expect(report.failures == [UnitFailure(unit: "bad1", file: all[1].input.path, reason: "decoder said no")])
            #expect(!report.stoppedEarly && !report.succeeded)
            #expect(report.stage == "jam-test" && report.producer == "jam-test \(jamVersion)" && report.configDigest == "abcd")
            #expect(exists(all[0].output) && exists(all[2].output) && !exists(all[1].output))
            #expect(try String(contentsOf: all[3].output, encoding: .utf8) == "earlier", "a skipped unit is not redone")
            #expect(report.summary.hasPrefix("jam-test: 2 done, 1 already done, 1 failed of 4 in "))

            let again = runner(RunPolicy()).run(units: all, configDigest: "abcd") { try work($0) }
            #expect(again.completed == 0 && again.skipped == 3 && again.failures.count == 1, "only the failed unit is retried")

            let forced = runner(RunPolicy(force: true)).run(units: all, configDigest: "abcd") { try work($0) }
            #expect(forced.completed == 3 && forced.skipped == 0)
            #expect(try String(contentsOf: all[3].output, encoding: .utf8) == "d")
        }
    }

    @Test func isFinishedDecidesWhatCountsAsDone() throws {
        try withTemporaryDirectory { dir in
            let all = units(["a", "b"], in: dir)
            for unit in all { try work(unit) }
            let report = runner(RunPolicy()).run(units: all, configDigest: "x", isFinished: { $0.name == "a" }) { try work($0) }
            #expect(report.skipped == 1 && report.completed == 1 && report.succeeded)
        }
    }

    @Test func strictStopsAtTheFirstFailure() throws {
        try withTemporaryDirectory { dir in
            let all = units(["a", "bad1", "c", "bad2"], in: dir)
            let report = runner(RunPolicy(strict: true, workers: 1)).run(units: all, configDigest: "x") { try work($0) }
            #expect(report.stoppedEarly && !report.succeeded)
            #expect(report.completed == 1 && report.failures.map(\.unit) == ["bad1"])
            #expect(!exists(all[2].output), "nothing runs after the failure")
            #expect(report.summary.hasSuffix("(stopped at the first failure: --strict)"))

            // Without --strict every unit is tried.
            let lenient = runner(RunPolicy(workers: 1)).run(units: all, configDigest: "x") { try work($0) }
            #expect(!lenient.stoppedEarly && lenient.completed == 1 && lenient.failures.map(\.unit) == ["bad1", "bad2"])
            #expect(exists(all[2].output))
        }
    }

    @Test func knownFailuresAreReportedAndStopAStrictRunBeforeItStarts() throws {
        try withTemporaryDirectory { dir in
            let all = units(["a"], in: dir)
            let known = UnitFailure(unit: "split", file: "trainlist01.txt", reason: "lists a missing video")
            let strict = runner(RunPolicy(strict: true)).run(units: all, knownFailures: [known], configDigest: "x") { try work($0) }
            #expect(strict.failures == [known] && strict.completed == 0 && strict.stoppedEarly)
            #expect(!exists(all[0].output))
            let lenient = runner(RunPolicy()).run(units: all, knownFailures: [known], configDigest: "x") { try work($0) }
            #expect(lenient.failures == [known] && lenient.completed == 1 && !lenient.stoppedEarly && !lenient.succeeded)
        }
    }

    @Test func reportIsWrittenAsSortedJSONWithSnakeCaseKeys() throws {
        try withTemporaryDirectory { dir in
            let all = units(["bad2", "a", "bad1"], in: dir)
            let report = runner(RunPolicy()).run(units: all, configDigest: "cafe") { try work($0) }
            try report.write(to: dir)
            let data = try Data(contentsOf: dir.appendingPathComponent("stage-report.json"))
            let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            #expect(json["config_digest"] as? String == "cafe")
            #expect(json["total_units"] as? Int == 3 && json["completed"] as? Int == 1 && json["skipped"] as? Int == 0)
            #expect(json["stopped_early"] as? Bool == false)
            let failures = try #require(json["failures"] as? [[String: Any]])
            #expect(failures.map { $0["unit"] as? String } == ["bad1", "bad2"])
            #expect(failures.first?["file"] as? String == all[2].input.path)
        }
    }

    @Test func overSplitsAddsTheSplitsAndStopsAfterAStrictStop() throws {
        try withTemporaryDirectory { dir in
            let strict = runner(RunPolicy(strict: true, workers: 1))
            var visited: [Int] = []
            let merged = try StageReport.overSplits([1, 2, 3], stage: "jam-test", configDigest: "d", started: Date()) { split in
                visited.append(split)
                let names = split == 2 ? ["bad", "c", "e"] : ["a", "b"]
                return strict.run(units: units(names.map { "split\(split)-\($0)" }, in: dir), configDigest: "d") { try work($0) }
            }
            #expect(visited == [1, 2], "split 3 is not started after split 2 stopped")
            #expect(merged.totalUnits == 2 + 3 && merged.completed == 2 && merged.skipped == 0)
            #expect(merged.failures.map(\.unit) == ["split2-bad"] && merged.stoppedEarly)
            #expect(merged.stage == "jam-test" && merged.configDigest == "d" && !merged.finished.isEmpty)
        }
    }
}
