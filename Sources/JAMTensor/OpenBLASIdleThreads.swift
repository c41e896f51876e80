// Tests: Tests/JAMTensorTests/OpenBLASIdleThreadsTests.swift (the workers' scheduler state after a
// threaded sgemm, read from /proc; the setting's parsing and description)

import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Makes OpenBLAS's idle worker threads sleep at once instead of spinning.
///
/// After each threaded call, an OpenBLAS worker spins (`sched_yield` in a loop) for 2²⁸ cycles,
/// about 0.1 s, before it sleeps, so that a next call finds it awake. JAM runs its own threads
/// between OpenBLAS calls (the LSTM's step products on `SkinnyGEMM`, the convolutions' workers),
/// and on a machine with as many cores as threads the spinning worker takes their CPU time:
/// the plain LSTM's recurrent products ran at half their speed right after the layer's large
/// input GEMM (docs/BENCHMARKS.md). `OPENBLAS_THREAD_TIMEOUT=N` makes the worker spin 2^N cycles
/// (4 to 30) instead; JAM sets 4 unless the environment already has a value.
///
/// OpenBLAS reads the variable when it loads, before `main`. So `sleepWhenIdle` sets it, makes
/// OpenBLAS read its environment again and restarts its thread pool (`openblas_read_env`,
/// `blas_thread_shutdown_`, `blas_thread_init`: exported functions, looked up at run time, that
/// OpenBLAS itself uses to rebuild its threads after a `fork`). Where they are missing, nothing
/// changes and `BLASInfo` says that the workers spin.
public enum OpenBLASIdleThreads {
    /// OpenBLAS's variable: the workers spin 2^value cycles before they sleep.
    public static let variable = "OPENBLAS_THREAD_TIMEOUT"
    /// JAM's value: 2⁴ cycles, so the workers sleep right after each call.
    public static let jamValue = 4
    /// The value OpenBLAS uses when the variable is unset (its `THREAD_TIMEOUT`).
    public static let openBLASDefault = 28

    /// What this process's OpenBLAS workers do when idle.
    public enum Setting: Equatable, Sendable, CustomStringConvertible {
        /// JAM set `OPENBLAS_THREAD_TIMEOUT` and restarted the workers.
        case setByJAM(Int)
        /// The environment set it before OpenBLAS loaded.
        case environment(Int)
        /// Unset and not changed: OpenBLAS's default spin.
        case openBLASDefault(reason: String)

        /// log2 of the cycles a worker spins before it sleeps.
        public var exponent: Int {
            switch self {
            case .setByJAM(let n), .environment(let n): OpenBLASIdleThreads.clamped(n)
            case .openBLASDefault: OpenBLASIdleThreads.openBLASDefault
            }
        }

        public var description: String {
            switch self {
            case .setByJAM(let n):
                "idle BLAS threads sleep after 2^\(exponent) cycles (JAM's \(OpenBLASIdleThreads.variable)=\(n))"
            case .environment(let n):
                "idle BLAS threads sleep after 2^\(exponent) cycles (\(OpenBLASIdleThreads.variable)=\(n) from the environment)"
            case .openBLASDefault(let reason):
                "idle BLAS threads spin 2^\(exponent) cycles (OpenBLAS's default: \(reason))"
            }
        }
    }

    /// OpenBLAS's bounds on the exponent.
    static func clamped(_ n: Int) -> Int { min(30, max(4, n)) }

    /// The setting `environment` asks for: its value of the variable when it holds a positive
    /// integer (what OpenBLAS reads with `atoi`), nil when it is unset or not one.
    public static func requested(environment: [String: String]) -> Int? {
        guard let text = environment[variable], let n = Int(text.trimmingCharacters(in: .whitespaces)), n > 0
        else { return nil }
        return n
    }

    private static let state = Mutex<Setting?>(nil)

    /// This process's setting: what `sleepWhenIdle` did, or what the environment gave OpenBLAS.
    public static var current: Setting {
        state.withLock { $0 } ?? environmentSetting ?? .openBLASDefault(reason: "\(variable) unset")
    }

    /// `.environment` when this process's environment sets the variable, else nil.
    private static var environmentSetting: Setting? {
        requested(environment: ProcessInfo.processInfo.environment).map { .environment($0) }
    }

    /// Sets `OPENBLAS_THREAD_TIMEOUT` to `jamValue` and restarts OpenBLAS's workers, unless the
    /// environment has a value (kept: OpenBLAS read it when it loaded). Call first thing in
    /// `main`, before any other thread uses BLAS. Returns the resulting setting.
    @discardableResult
    public static func sleepWhenIdle() -> Setting {
        state.withLock { state in
            if let state { return state }
            let setting: Setting
            if let environmentSetting {
                setting = environmentSetting
            } else if let restart = ThreadPoolRestart.resolve() {
                setenv(variable, String(jamValue), 1)
                restart.readEnvironment()
                _ = restart.shutdown()
                _ = restart.initialize()
                setting = .setByJAM(jamValue)
            } else {
                setting = .openBLASDefault(reason: "this OpenBLAS does not export the functions to restart its threads")
            }
            state = setting
            return setting
        }
    }

    /// OpenBLAS's functions that re-read the environment and rebuild the thread pool.
    private struct ThreadPoolRestart {
        let readEnvironment: @convention(c) () -> Void
        let shutdown: @convention(c) () -> Int32
        let initialize: @convention(c) () -> Int32

        static func resolve() -> ThreadPoolRestart? {
            #if os(Linux)
            guard let read = dlsym(nil, "openblas_read_env"), let shutdown = dlsym(nil, "blas_thread_shutdown_"),
                  let initialize = dlsym(nil, "blas_thread_init") else { return nil }
            return ThreadPoolRestart(
                readEnvironment: unsafeBitCast(read, to: (@convention(c) () -> Void).self),
                shutdown: unsafeBitCast(shutdown, to: (@convention(c) () -> Int32).self),
                initialize: unsafeBitCast(initialize, to: (@convention(c) () -> Int32).self))
            #else
            return nil
            #endif
        }
    }
}

/// What every JAM program does with OpenBLAS before anything else.
public enum OpenBLASSetup {
    /// Re-executes with better kernels where OpenBLAS fell back to generic ones
    /// (`BLASKernelChoice`), then makes its idle threads sleep at once (`OpenBLASIdleThreads`).
    /// Call first thing in `main`, before threads start.
    public static func atProgramStart() {
        BLASKernelChoice.reexecutingIfOpenBLASFellBack()
        OpenBLASIdleThreads.sleepWhenIdle()
    }
}
