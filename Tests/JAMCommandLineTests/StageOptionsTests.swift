import ArgumentParser
import Foundation
import JAMCommandLine
import JAMConfig
import JAMStages
import JAMTestSupport
import Testing

@Suite struct StageOptionsTests {
    /// A config with one profile that changes a decode setting.
    func writeConfig(in dir: URL) throws -> URL {
        let url = dir.appendingPathComponent("my.json")
        try #"{"decode": {"size": 32, "threads": 3}, "profiles": {"big": {"decode": {"size": 64}}}}"#
            .write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    @Test func parsesEveryOptionAndLoadsTheProfile() throws {
        try withTemporaryDirectory { dir in
            let config = try writeConfig(in: dir)
            let options = try StageOptions.parse(["--config", config.path, "--profile", "big", "--force", "--strict",
                                                  "--threads", "5"])
            #expect(options.configURL == config)
            let loaded = try options.loadConfig()
            #expect(loaded.decode.size == 64 && loaded.decode.threads == 3)
            let policy = options.policy(defaultWorkers: loaded.decode.threads)
            #expect(policy.force && policy.strict && policy.workers == 5)
        }
    }

    @Test func threadsDefaultToTheStageSetting() throws {
        try withTemporaryDirectory { dir in
            let options = try StageOptions.parse(["--config", try writeConfig(in: dir).path])
            let loaded = try options.loadConfig()
            #expect(loaded.decode.size == 32)
            let policy = options.policy(defaultWorkers: loaded.decode.threads)
            #expect(!policy.force && !policy.strict && policy.workers == 3)
        }
    }

    @Test func badArgumentsAreRefusedBeforeAnyWorkWithTheReason() throws {
        try withTemporaryDirectory { dir in
            let config = try writeConfig(in: dir).path
            #expect { try StageOptions.parse(["--config", config, "--threads", "0"]) } throws: {
                StageOptions.message(for: $0).contains("--threads must be at least 1, got 0")
            }
            let missing = dir.appendingPathComponent("absent.json").path
            #expect { try StageOptions.parse(["--config", missing]) } throws: {
                StageOptions.message(for: $0).contains("\(missing): no such config file")
            }
            // An unknown profile is the config's error, naming the file and the profiles there are.
            let options = try StageOptions.parse(["--config", config, "--profile", "paper"])
            #expect { try options.loadConfig() } throws: { "\($0)".contains("no profile named \"paper\"") && "\($0)".contains("\"big\"") }
        }
    }

    @Test func finishExitsNonZeroExactlyWhenAUnitFailed() throws {
        func report(failures: [UnitFailure], stoppedEarly: Bool = false) throws -> StageReport {
            // As a stage writes it to stage-report.json.
            let failed = try String(decoding: JSONEncoder().encode(failures), as: UTF8.self)
            let json = """
                {"stage": "jam-test", "producer": "jam-test 0", "config_digest": "d", "total_units": 2,
                 "completed": \(2 - failures.count), "skipped": 0, "failures": \(failed),
                 "stopped_early": \(stoppedEarly), "seconds": 0, "finished": ""}
                """
            return try JSONDecoder().decode(StageReport.self, from: Data(json.utf8))
        }
        func exitCode(_ r: StageReport) -> Int32? {
            do { try finish(with: r) } catch let code as ExitCode { return code.rawValue } catch { return nil }
        }
        #expect(exitCode(try report(failures: [])) == 0)
        #expect(exitCode(try report(failures: [UnitFailure(unit: "a", file: "a.avi", reason: "bad")])) == 1)
        #expect(exitCode(try report(failures: [], stoppedEarly: true)) == 1)
    }
}
