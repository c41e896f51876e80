import ArgumentParser
import Foundation
import JAMTensor

/// `jam-bench gemm`: this process's single-precision GEMM peak and the OpenBLAS kernels it loaded.
struct GEMMBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gemm",
        abstract: "Measure the sgemm peak (GFLOP/s) and print which OpenBLAS core kernels were loaded.",
        discussion: """
            OpenBLAS chooses its kernels when it loads: OPENBLAS_CORETYPE=Haswell forces AVX2 \
            kernels; with the variable unset it detects the CPU (e.g. Cooperlake/SkylakeX with \
            AVX-512). Compare `jam-bench gemm` with `env -u OPENBLAS_CORETYPE jam-bench gemm`. \
            Then it reports what this process's other threads (OpenBLAS's workers) do 10 ms after \
            the last product: asleep, or running (spinning), as OPENBLAS_THREAD_TIMEOUT decides.
            """)

    @Option(help: "Matrix size n of the n×n×n products.")
    var size = 2048

    @Option(help: "Timed repetitions (the best one counts), after one warm-up.")
    var repetitions = 5

    @Option(help: "OpenBLAS threads (default: its current setting, normally all cores).")
    var threads: Int?

    func validate() throws {
        guard size > 0, repetitions > 0 else { throw ValidationError("size and repetitions must be positive") }
        if let threads, threads < 1 { throw ValidationError("threads must be at least 1") }
    }

    func run() throws {
        if let threads { BLAS.threads = threads }
        print(BLASInfo.current)
        let peak = BLAS.measureSGEMMPeak(size: size, repetitions: repetitions)
        print("sgemm \(size)³, \(BLAS.threads) thread(s), best of \(repetitions): \(format(peak, 1)) GFLOP/s")
        usleep(10_000)
        let states = ProcessThreads.all().filter { !$0.isCaller }.map(\.state)
        print("other threads 10 ms after the last product: \(states.filter { $0 == "R" }.count) running, "
              + "\(states.filter { $0 != "R" }.count) not (\(OpenBLASIdleThreads.current))")
    }
}

private func format(_ value: Double, _ decimals: Int) -> String {
    String(format: "%.\(decimals)f", value)
}
