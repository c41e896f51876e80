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

    @Flag(help: "Use im2col for every layer instead of Winograd F(4×4, 3×3) for layers 2-13.")
    var im2col = false

    @Flag(help: "Also time each of the 13 convolutions alone (batch 1) at each size.")
    var perLayer = false

    func validate() throws {
        guard threads >= 1, repetitions >= 1 else { throw ValidationError("threads and repetitions must be positive") }
        for s in try parsedSizes() where s <= 0 || s % 16 != 0 {
            throw ValidationError("frame size \(s) is not a positive multiple of 16")
        }
        guard try parsedBatches().allSatisfy({ $0 > 0 }) else { throw ValidationError("batch sizes must be positive") }
    }

    func run() throws {
        BLAS.threads = threads
        let info = BLASInfo.current
        print(info)
        let firstPeak = measurePeak()
        print("sgemm peak (2048³, \(threads) threads): \(fixed(firstPeak.wall, 1)) GFLOP/s, \(fixed(firstPeak.cpu, 1)) GFLOP/CPU-s")
        let weights = VGG16Weights.heInitialized(seed: 1)
        let extractor = VGG16FeatureExtractor(weights: weights, threads: threads, useWinograd: !im2col)
        print("algorithm: \(im2col ? "im2col" : "Winograd F(4x4,3x3), im2col for block1_conv1"), threads \(threads)")
        if perLayer { try timeLayers(weights: weights) }
        print("    S  batch  frames/s  GFLOP/s  peak  ratio  CPU-s/frame  CPU ratio  core        VmHWM MiB")
        for s in try parsedSizes() {
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

    /// Each convolution alone on random input: wall and CPU time, effective GFLOP/s.
    private func timeLayers(weights: VGG16Weights) throws {
        let workspace = ConvolutionWorkspace()
        print("layer          S    algorithm     ms   CPU-ms  GFLOP/s  GFLOP/CPU-s")
        for s in try parsedSizes() {
            var side = s
            for (index, layer) in weights.layers.enumerated() {
                let l = layer.layer
                let algorithm: Convolution3x3.Algorithm = im2col || index == 0 ? .im2col : .winogradF4x4
                let conv = Convolution3x3(kernel: layer.kernel, bias: layer.bias, inputChannels: l.inputChannels,
                                          outputChannels: l.outputChannels, algorithm: algorithm)
                var generator = SplitMix64(seed: 3)
                let input = (0..<(side * side * l.inputChannels)).map { _ in Float(generator.nextUniform()) }
                let pool = l.poolAfter && algorithm == .winogradF4x4
                var output = [Float](repeating: 0, count: side * side * l.outputChannels)
                var best = Double.infinity, bestCPU = Double.infinity
                for rep in 0...repetitions {
                    let cpuStart = processCPUSeconds()
                    let start = DispatchTime.now().uptimeNanoseconds
                    output.withUnsafeMutableBufferPointer { o in
                        input.withUnsafeBufferPointer { i in
                            conv.forward(output: o.baseAddress!, input: i.baseAddress!, batch: 1, height: side,
                                         width: side, fusedMaxPool: pool, threads: threads, workspace: workspace)
                        }
                    }
                    if rep > 0 {
                        best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9)
                        bestCPU = min(bestCPU, processCPUSeconds() - cpuStart)
                    }
                }
                let flop = 2 * Double(Convolution3x3.multiplyAccumulates(
                    batch: 1, height: side, width: side, inputChannels: l.inputChannels,
                    outputChannels: l.outputChannels))
                print(l.name.padding(toLength: 13, withPad: " ", startingAt: 0)
                      + String(format: "%4d  ", side)
                      + algorithm.rawValue.padding(toLength: 12, withPad: " ", startingAt: 0)
                      + String(format: "%7.2f  %7.2f  %7.1f  %11.1f", best * 1e3, bestCPU * 1e3,
                               flop / best / 1e9, flop / bestCPU / 1e9))
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

/// User plus system CPU time of the whole process so far (all threads), in seconds.
private func processCPUSeconds() -> Double {
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
