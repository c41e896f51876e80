import ArgumentParser
import Foundation
import JAMCore
import JAMModel
import JAMTensor

/// `jam-bench vgg`: VGG16 feature-extraction speed (frames/s and effective GFLOP/s) next to the
/// sgemm peak measured in the same process, with the OpenBLAS core and the peak memory.
struct VGGBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vgg",
        abstract: "Time VGG16 up to conv5_3 (pool4 and conv5_3 taps) against this process's sgemm peak.",
        discussion: """
            GFLOP/s counts 2·MACs of the 13 convolutions as direct convolution, whatever the \
            algorithm, so Winograd layers can exceed the sgemm peak. The peak (sgemm 2048³ on all \
            threads, best of 3) is measured again before each row, so a shared machine's load \
            affects both alike; "CPU ratio" compares GFLOP per CPU-second of both, which other \
            processes disturb less. Weights are He-initialised (speed does not depend on their \
            values). Peak memory is the process's VmHWM so far.
            """)

    @Option(help: "Frame sizes S (multiples of 16), comma-separated.")
    var sizes = "224,384"

    @Option(help: "Batch sizes, comma-separated.")
    var batches = "1,8"

    @Option(help: "Worker threads for the convolutions (and OpenBLAS threads for the peak).")
    var threads = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "Timed runs per configuration (the best counts), after one warm-up run.")
    var repetitions = 3

    @Flag(help: "Use im2col for every layer instead of Winograd for layers 2-13.")
    var im2col = false

    @Option(help: """
        Winograd output tile of layers 2-13: 'default' (the extractor's choice for the frame size), 4 \
        (F(4×4, 3×3) everywhere), 6 (F(6×6, 3×3) everywhere), or twelve comma-separated 4s and 6s.
        """)
    var tiles = "default"

    @Flag(help: """
        Also time each of the 13 convolutions alone at each size, at the batch the extractor gives \
        it (1 for blocks 1-3, the largest --batches for blocks 4-5), per frame.
        """)
    var perLayer = false

    @Flag(help: """
        With --per-layer: where each layer's CPU time goes (input transform or im2col gather, GEMMs \
        with their GFLOP/CPU-s against the peak's, output transform or bias pass) and an estimate \
        of its memory traffic.
        """)
    var profile = false

    func validate() throws {
        guard threads >= 1, repetitions >= 1 else { throw ValidationError("threads and repetitions must be positive") }
        for s in try parsedSizes() where s <= 0 || s % 16 != 0 {
            throw ValidationError("frame size \(s) is not a positive multiple of 16")
        }
        guard try parsedBatches().allSatisfy({ $0 > 0 }) else { throw ValidationError("batch sizes must be positive") }
        _ = try algorithms(frameSize: 384)
    }

    /// The 13 layers' algorithms for S×S frames from `--im2col` and `--tiles`.
    private func algorithms(frameSize: Int) throws -> [Convolution3x3.Algorithm] {
        if im2col { return Array(repeating: .im2col, count: 13) }
        if tiles == "default" { return VGG16FeatureExtractor.defaultAlgorithms(frameSize: frameSize) }
        var list = tiles.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        if list.count == 1 { list = Array(repeating: list[0], count: 12) }
        guard list.count == 12 else { throw ValidationError("--tiles: give one value or twelve, not \(list.count)") }
        return try [.im2col] + list.map { value -> Convolution3x3.Algorithm in
            switch value {
            case "4": return .winogradF4x4
            case "6": return .winogradF6x6
            default: throw ValidationError("--tiles: '\(value)' is not 4 or 6")
            }
        }
    }

    func run() throws {
        BLAS.threads = threads
        let info = BLASInfo.current
        print(info)
        let firstPeak = measurePeak()
        print("sgemm peak (2048³, \(threads) threads): \(fixed(firstPeak.wall, 1)) GFLOP/s, \(fixed(firstPeak.cpu, 1)) GFLOP/CPU-s")
        let weights = VGG16Weights.heInitialized(seed: 1)
        // One extractor per algorithm list (the default list depends on the frame size).
        var extractors: [[Convolution3x3.Algorithm]: VGG16FeatureExtractor] = [:]
        for s in try parsedSizes() {
            let algorithms = try algorithms(frameSize: s)
            if extractors[algorithms] == nil {
                extractors[algorithms] = VGG16FeatureExtractor(weights: weights, threads: threads, algorithms: algorithms)
            }
            print("S = \(s): algorithms \(algorithms.map(\.rawValue).joined(separator: ",")), threads \(threads)")
        }
        if perLayer || profile { try timeLayers(weights: weights, peak: firstPeak) }
        print("    S  batch  frames/s  GFLOP/s  peak  ratio  CPU-s/frame  CPU ratio  core        VmHWM MiB")
        for s in try parsedSizes() {
            let extractor = extractors[try algorithms(frameSize: s)]!
            for batch in try parsedBatches() {
                var generator = SplitMix64(seed: 42)
                let frames = (0..<(batch * s * s * 3)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
                let tap = batch * (s / 16) * (s / 16) * 512
                var pool4 = [Float](repeating: 0, count: tap), conv53 = pool4
                let peak = measurePeak()
                var best = Double.infinity
                var bestCPU = Double.infinity
                for rep in 0...repetitions {
                    let cpuStart = processCPUSeconds()
                    let start = DispatchTime.now().uptimeNanoseconds
                    try pool4.withUnsafeMutableBufferPointer { p in
                        try conv53.withUnsafeMutableBufferPointer { c in
                            try frames.withUnsafeBufferPointer { f in
                                try extractor.extract(pool4: p.baseAddress!, conv5_3: c.baseAddress!,
                                                      frames: f.baseAddress!, batch: batch, frameSize: s)
                            }
                        }
                    }
                    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
                    if rep > 0 {
                        best = min(best, seconds)
                        bestCPU = min(bestCPU, processCPUSeconds() - cpuStart)
                    }
                }
                let framesPerSecond = Double(batch) / best
                let gflops = 2 * Double(VGG16FeatureExtractor.multiplyAccumulates(frameSize: s)) * framesPerSecond / 1e9
                let flopPerFrame = 2 * Double(VGG16FeatureExtractor.multiplyAccumulates(frameSize: s))
                let cpuRatio = flopPerFrame / (bestCPU / Double(batch)) / 1e9 / peak.cpu
                let numbers = String(format: "%5d  %5d  %8.2f  %7.1f  %4.0f  %5.2f  %11.3f  %9.2f",
                                     s, batch, framesPerSecond, gflops, peak.wall, gflops / peak.wall,
                                     bestCPU / Double(batch), cpuRatio)
                print(numbers + "  " + info.coreName.padding(toLength: 10, withPad: " ", startingAt: 0)
                      + String(format: "  %9.0f", peakResidentMiB()))
            }
        }
    }

    /// sgemm 2048³ on OpenBLAS's threads, best of 3 after a warm-up: GFLOP per second of wall
    /// time and per second of process CPU time.
    private func measurePeak() -> (wall: Double, cpu: Double) {
        let n = 2048
        var a = [Float](repeating: 0, count: n * n), b = a, c = a
        for i in 0..<(n * n) {
            a[i] = Float(i % 13) * 0.01 - 0.06
            b[i] = Float(i % 7) * 0.02 - 0.06
        }
        var wall = Double.infinity, cpu = Double.infinity
        for rep in 0...3 {
            let cpuStart = processCPUSeconds()
            let start = DispatchTime.now().uptimeNanoseconds
            BLAS.sgemm(&c, a, b, m: n, n: n, k: n)
            if rep > 0 {
                wall = min(wall, Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9)
                cpu = min(cpu, processCPUSeconds() - cpuStart)
            }
        }
        let flop = 2 * Double(n) * Double(n) * Double(n)
        return (flop / wall / 1e9, flop / cpu / 1e9)
    }

    /// Each convolution alone on random input, at the batch the extractor runs it at: wall and CPU
    /// time and effective GFLOP/s per frame; with `--profile` also the CPU time per phase.
    private func timeLayers(weights: VGG16Weights, peak: (wall: Double, cpu: Double)) throws {
        let workspace = ConvolutionWorkspace()
        let profiler = ConvolutionProfile()
        if profile { workspace.profile = profiler }
        let largestBatch = try parsedBatches().max() ?? 1
        print("layer          S  batch  algorithm      ms/frame  CPU-ms  GFLOP/s  GFLOP/CPU-s"
              + (profile ? "   in-CPU-ms  GEMM-CPU-ms  GEMM GFLOP/CPU-s (of peak)  out-CPU-ms  other  traffic MB" : ""))
        for s in try parsedSizes() {
            var side = s
            let algorithms = try algorithms(frameSize: s)
            for (index, layer) in weights.layers.enumerated() {
                let l = layer.layer
                let algorithm = algorithms[index]
                let batch = index < 7 ? 1 : largestBatch  // blocks 4-5 run batched in the extractor
                let conv = Convolution3x3(kernel: layer.kernel, bias: layer.bias, inputChannels: l.inputChannels,
                                          outputChannels: l.outputChannels, algorithm: algorithm)
                var generator = SplitMix64(seed: 3)
                let input = (0..<(batch * side * side * l.inputChannels)).map { _ in Float(generator.nextUniform()) }
                let pool = l.poolAfter && algorithm != .im2col
                var output = [Float](repeating: 0, count: batch * side * side * l.outputChannels)
                var best = Double.infinity, bestCPU = Double.infinity
                var phases: [Double] = [0, 0, 0]
                for rep in 0...repetitions {
                    profiler.reset()
                    let cpuStart = processCPUSeconds()
                    let start = DispatchTime.now().uptimeNanoseconds
                    output.withUnsafeMutableBufferPointer { o in
                        input.withUnsafeBufferPointer { i in
                            conv.forward(output: o.baseAddress!, input: i.baseAddress!, batch: batch, height: side,
                                         width: side, fusedMaxPool: pool, threads: threads, workspace: workspace)
                        }
                    }
                    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
                    if rep > 0 && seconds < best {
                        best = seconds
                        bestCPU = processCPUSeconds() - cpuStart
                        phases = ConvolutionProfile.Phase.allCases.map { profiler.seconds($0) }
                    }
                }
                let perFrame = 1 / Double(batch)
                let flop = 2 * Double(Convolution3x3.multiplyAccumulates(
                    batch: batch, height: side, width: side, inputChannels: l.inputChannels,
                    outputChannels: l.outputChannels))
                var line = l.name.padding(toLength: 13, withPad: " ", startingAt: 0)
                    + String(format: "%4d  %5d  ", side, batch)
                    + algorithm.rawValue.padding(toLength: 12, withPad: " ", startingAt: 0)
                    + String(format: "  %8.2f  %6.2f  %7.1f  %11.1f", best * 1e3 * perFrame, bestCPU * 1e3 * perFrame,
                             flop / best / 1e9, flop / bestCPU / 1e9)
                if profile {
                    let gemmFlop = 2 * Double(conv.gemmMultiplyAccumulates(batch: batch, height: side, width: side))
                    let gemmRate = gemmFlop / phases[1] / 1e9
                    let traffic = Double(conv.memoryTrafficEstimate(batch: batch, height: side, width: side,
                                                                    fusedMaxPool: pool))
                    line += String(format: "   %9.2f  %11.2f  %9.1f (%4.0f%%)          %10.2f  %5.2f  %10.1f",
                                   phases[0] * 1e3 * perFrame, phases[1] * 1e3 * perFrame,
                                   gemmRate, 100 * gemmRate / peak.cpu, phases[2] * 1e3 * perFrame,
                                   (bestCPU - phases.reduce(0, +)) * 1e3 * perFrame, traffic * perFrame / 1e6)
                }
                print(line)
                if l.poolAfter { side /= 2 }
            }
        }
    }

    private func parsedSizes() throws -> [Int] { try parseList(sizes, "--sizes") }
    private func parsedBatches() throws -> [Int] { try parseList(batches, "--batches") }

    private func parseList(_ text: String, _ option: String) throws -> [Int] {
        try text.split(separator: ",").map {
            guard let value = Int($0.trimmingCharacters(in: .whitespaces)) else {
                throw ValidationError("\(option): '\($0)' is not an integer")
            }
            return value
        }
    }
}

/// User plus system CPU time of the whole process so far (all threads), in seconds (also
/// `jam-bench skinny`'s).
func processCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    let user = Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) * 1e-6
    let system = Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) * 1e-6
    return user + system
}

/// The process's peak resident memory so far (VmHWM in /proc/self/status), in MiB.
func peakResidentMiB() -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
          let kib = Double(line.split(separator: " ").dropFirst().first ?? "")
    else { return .nan }
    return kib / 1024
}

private func fixed(_ value: Double, _ decimals: Int) -> String {
    String(format: "%.\(decimals)f", value)
}
