import Foundation
import JAMTensor
import JAMTestSupport
import Testing

@Suite struct OpenBLASIdleThreadsTests {
    @Test func theEnvironmentsValueIsReadAsOpenBLASReadsIt() {
        let variable = OpenBLASIdleThreads.variable
        #expect(OpenBLASIdleThreads.requested(environment: [variable: "12"]) == 12)
        #expect(OpenBLASIdleThreads.requested(environment: [variable: " 7 "]) == 7)
        // Unset, zero or not a number: OpenBLAS keeps its default, so JAM sets its own.
        #expect(OpenBLASIdleThreads.requested(environment: [:]) == nil)
        #expect(OpenBLASIdleThreads.requested(environment: [variable: "0"]) == nil)
        #expect(OpenBLASIdleThreads.requested(environment: [variable: "soon"]) == nil)
        // OpenBLAS clamps the exponent to 4…30.
        #expect(OpenBLASIdleThreads.Setting.environment(40).exponent == 30)
        #expect(OpenBLASIdleThreads.Setting.setByJAM(1).exponent == 4)
        #expect(OpenBLASIdleThreads.Setting.openBLASDefault(reason: "x").exponent == 28)
    }

    /// A JAM program's OpenBLAS worker is asleep 10 ms after a threaded product; with OpenBLAS's
    /// own timeout set in the environment (kept by JAM) it is still spinning then.
    @Test func theExecutablesWorkersSleepUnlessTheUserAsksThemToSpin() throws {
        try #require(ProcessInfo.processInfo.activeProcessorCount >= 2,
                     "OpenBLAS starts no worker thread on one core, so there is nothing to observe here")
        let arguments = ["gemm", "--size", "512", "--repetitions", "2", "--threads", "2"]
        func counts(_ run: ProcessResult) throws -> (running: Int, idle: Int) {
            try #require(run.status == 0, "jam-bench gemm: \(run.stderr)")
            let line = try #require(run.stdout.split(separator: "\n").first { $0.hasPrefix("other threads") }, "\(run.stdout)")
            let words = line.split(separator: " ")
            let running = try #require(words.firstIndex(of: "running,").flatMap { Int(words[$0 - 1]) }, "\(line)")
            let idle = try #require(words.firstIndex(of: "not").flatMap { Int(words[$0 - 1]) }, "\(line)")
            return (running, idle)
        }
        let jams = try runExecutable("jam-bench", arguments, unsetting: [OpenBLASIdleThreads.variable])
        let asleep = try counts(jams)
        #expect(asleep.running == 0 && asleep.idle >= 1, "\(jams.stdout)")
        #expect(jams.stdout.contains("JAM's \(OpenBLASIdleThreads.variable)=4"), "\(jams.stdout)")
        let users = try runExecutable("jam-bench", arguments, environment: [OpenBLASIdleThreads.variable: "28"])
        let spinning = try counts(users)
        #expect(spinning.running >= 1, "\(users.stdout)")
        #expect(users.stdout.contains("\(OpenBLASIdleThreads.variable)=28 from the environment"), "\(users.stdout)")
    }
}
