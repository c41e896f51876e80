import Foundation
import JAMTensor
import JAMTestSupport
import Testing

@Suite struct BLASKernelChoiceTests {
    static let avx512: Set<String> = ["sse3", "avx", "avx2", "fma", "avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"]

    @Test func aGenericFallbackIsReplacedByTheBestCoreTheCPURuns() {
        #expect(BLASKernelChoice.preferredCore(detected: "Prescott", cpuFlags: Self.avx512) == "SkylakeX")
        #expect(BLASKernelChoice.preferredCore(detected: "Prescott", cpuFlags: ["sse3", "avx", "avx2", "fma"]) == "Haswell")
        // AVX-512 without the subsets the SkylakeX kernels use (Knights Landing): AVX2 kernels.
        #expect(BLASKernelChoice.preferredCore(detected: "Prescott", cpuFlags: ["avx2", "fma", "avx512f", "avx512cd"]) == "Haswell")
        #expect(BLASKernelChoice.preferredCore(detected: "Sandybridge", cpuFlags: ["avx2", "fma"]) == "Haswell")
        // Nothing better to run: OpenBLAS's choice stays.
        #expect(BLASKernelChoice.preferredCore(detected: "Prescott", cpuFlags: ["sse3", "avx"]) == nil)
    }

    @Test func anInformedChoiceOfOpenBLASIsKept() {
        for core in ["Zen", "Haswell", "SkylakeX", "Cooperlake", "SapphireRapids"] {
            #expect(BLASKernelChoice.preferredCore(detected: core, cpuFlags: Self.avx512) == nil, "\(core)")
        }
    }

    @Test func flagsComeFromTheFirstProcessor() {
        let cpuinfo = """
            processor\t: 0
            model name\t: Intel(R) Xeon(R) Processor
            flags\t\t: fpu sse3 avx2 fma avx512f
            bugs\t\t: spectre_v1

            processor\t: 1
            flags\t\t: fpu
            """
        #expect(BLASKernelChoice.cpuFlags(cpuinfo: cpuinfo) == ["fpu", "sse3", "avx2", "fma", "avx512f"])
        #expect(BLASKernelChoice.cpuFlags(cpuinfo: "processor\t: 0\n").isEmpty)
    }

    /// The executables load the core the rule picks for this machine's CPU, and keep one the
    /// user set.
    @Test func theExecutablesRunTheChosenCoreAndKeepTheUsers() throws {
        let arguments = ["gemm", "--size", "64", "--repetitions", "1"]
        func core(_ run: ProcessResult) throws -> String {
            try #require(run.status == 0, "jam-bench gemm: \(run.stderr)")
            let line = try #require(run.stdout.split(separator: "\n").first { $0.hasPrefix("OpenBLAS core ") }, "\(run.stdout)")
            return String(line.dropFirst("OpenBLAS core ".count).prefix { $0 != " " })
        }
        // What OpenBLAS detects on its own: the marker of an earlier choice stops JAM's.
        let alone = try runExecutable("jam-bench", arguments, environment: [BLASKernelChoice.detectedVariable: "test"],
                                      unsetting: ["OPENBLAS_CORETYPE"])
        let detected = try core(alone)
        #expect(alone.stdout.contains("(auto-detected)"), "\(alone.stdout)")
        let flags = BLASKernelChoice.cpuFlags(cpuinfo: try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))
        let expected = BLASKernelChoice.preferredCore(detected: detected, cpuFlags: flags) ?? detected
        let chosen = try runExecutable("jam-bench", arguments, unsetting: ["OPENBLAS_CORETYPE", BLASKernelChoice.detectedVariable])
        #expect(try core(chosen) == expected, "\(chosen.stdout)")
        if expected != detected {
            #expect(chosen.stdout.contains("chosen by JAM: OpenBLAS detected \(detected)"), "\(chosen.stdout)")
        }
        let users = try runExecutable("jam-bench", arguments, environment: ["OPENBLAS_CORETYPE": "Prescott"],
                                      unsetting: [BLASKernelChoice.detectedVariable])
        #expect(try core(users) == "Prescott" && users.stdout.contains("(OPENBLAS_CORETYPE=Prescott)"), "\(users.stdout)")
    }
}
