import CBLAS
import Foundation

/// Chooses OpenBLAS's kernels when OpenBLAS itself could not.
///
/// A `DYNAMIC_ARCH` OpenBLAS detects the CPU when it loads. A CPU newer than the library (an
/// AVX-512 Xeon that OpenBLAS 0.3.21 does not know, for one) makes it fall back to its generic
/// SSE3 kernels, `Prescott`: on such a machine sgemm ran at 40 GFLOP/s on 2 threads where the
/// `SkylakeX` kernels, which the CPU supports, reach 226 (docs/BENCHMARKS.md). OpenBLAS reads
/// `OPENBLAS_CORETYPE` only while it loads, so the choice is made by re-executing the program
/// with the variable set, before anything else runs (`reexecutingIfOpenBLASFellBack`).
///
/// A core the user or the machine set in `OPENBLAS_CORETYPE` is always kept, whatever it is
/// (`OPENBLAS_CORETYPE=Prescott` restores OpenBLAS's own choice on such a CPU).
public enum BLASKernelChoice {
    /// Set in the re-executed program: the core OpenBLAS detected on its own.
    public static let detectedVariable = "JAM_OPENBLAS_DETECTED"

    /// The generic kernels OpenBLAS falls back to on a CPU it does not recognise, and the
    /// older x86 cores below AVX2. A detected core outside this list is OpenBLAS's informed
    /// choice and is kept.
    static let fallbackCores: Set<String> = [
        "Prescott", "Core2", "Penryn", "Dunnington", "Nehalem", "Atom", "Sandybridge", "Katmai",
        "Coppermine", "Northwood", "Banias", "Opteron", "Barcelona", "Unknown",
    ]

    /// The core to use instead of `detected` on a CPU with these `flags` (as in /proc/cpuinfo),
    /// or nil to keep OpenBLAS's choice: `SkylakeX` when the CPU has the AVX-512 subsets those
    /// kernels use, `Haswell` when it has AVX2 and FMA, and nothing for a core that is not a
    /// fallback.
    public static func preferredCore(detected: String, cpuFlags: Set<String>) -> String? {
        guard fallbackCores.contains(detected) else { return nil }
        if cpuFlags.isSuperset(of: ["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"]) { return "SkylakeX" }
        if hasAVX2AndFMA(cpuFlags) { return "Haswell" }
        return nil
    }

    /// This machine's CPU flags, read once from /proc/cpuinfo (empty where there is none).
    public static let machineCPUFlags: Set<String> = {
        guard let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return [] }
        return cpuFlags(cpuinfo: cpuinfo)
    }()

    /// Whether `flags` include AVX2 and FMA, what OpenBLAS's `Haswell` kernels and JAM's own
    /// (`SkinnyGEMM`) need.
    public static func hasAVX2AndFMA(_ flags: Set<String>) -> Bool { flags.isSuperset(of: ["avx2", "fma"]) }

    /// The flags of the first processor in `/proc/cpuinfo` (empty where there is none).
    public static func cpuFlags(cpuinfo: String) -> Set<String> {
        for line in cpuinfo.split(separator: "\n") where line.hasPrefix("flags") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            return Set(line[line.index(after: colon)...].split(separator: " ").map(String.init))
        }
        return []
    }

    /// Re-executes this program with `OPENBLAS_CORETYPE` set to `preferredCore` when OpenBLAS
    /// fell back to generic kernels on a CPU that runs better ones, and the variable is unset.
    /// Returns (and the program goes on with the kernels it has) when there is nothing to
    /// change or the re-execution fails. Call it first thing in `main`, before threads start.
    public static func reexecutingIfOpenBLASFellBack() {
        #if os(Linux)
        let environment = ProcessInfo.processInfo.environment
        guard environment["OPENBLAS_CORETYPE"] == nil, environment[detectedVariable] == nil,
              let name = openblas_get_corename() else { return }
        let detected = String(cString: name)
        guard let core = preferredCore(detected: detected, cpuFlags: machineCPUFlags) else { return }
        setenv("OPENBLAS_CORETYPE", core, 1)
        setenv(detectedVariable, detected, 1)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        // Still here: the exec failed. Go on with OpenBLAS's kernels, and say so in BLASInfo.
        unsetenv("OPENBLAS_CORETYPE")
        unsetenv(detectedVariable)
        #endif
    }
}
