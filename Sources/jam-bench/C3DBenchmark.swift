// shapes: a branch's training batch x [B, T, H, W, 512]; conv1 [kt·3·3·512, W1], conv2
// [kt·3·3·W1, W2]; head W2 → hidden → classes.
import ArgumentParser
import Foundation
import JAMConfig
import JAMCore
import JAMDistributed
import JAMModel
import JAMNN
import JAMTensor
import JAMTraining

/// `jam-bench c3d`: training speed of one 3D-convnet branch (forward + backward + Adam) at the
/// paper's and the default profile's shapes, next to this process's measured sgemm peak.
struct C3DBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "c3d",
        abstract: "Time a 3D-convnet training step (one branch) in clips/s and GFLOP/s against the sgemm peak.",
        discussion: """
            GFLOP/s is "direct-equivalent": the direct convolutions' (and fully connected layers') \
            FLOP count over the step's time, whatever the convolution method, so Winograd can \
            exceed the sgemm peak (2048³ on the BLAS threads, measured at the start of the run). \
            Peak memory is the process's VmHWM after the shape.
            """)

    @Option(help: "How the convolutions are computed: automatic (Conv3D's rule), direct (im2col or output taps), winograd, im2col or outputTaps.")
    var method: Conv3D.Method = .automatic

    @Flag(help: "Also time each convolution alone (forward and backward as in the step: conv1 without dX), direct and winograd alternately.")
    var perConv = false

    @OptionGroup var options: TrainingBenchmarkOptions

    func run() throws {
        let world = try ProcessGroup.join()
        ComputeThreads.set(options.threads)
        if world.isWriter { print(BLASInfo.current) }
        let peak = BLAS.measureSGEMMPeak(size: 2048, repetitions: 3)
        if world.isWriter { print(String(format: "sgemm 2048³ (%d threads, rank 0 of %d): %.1f GFLOP/s", options.threads, world.size, peak)) }
        var shapes: [BenchmarkShape] = []
        if !options.skipPaper {
            shapes.append(BenchmarkShape(name: "paper", side: 24, time: 30, widths: (256, 256, 512), conv1Valid: true, batch: 1))
        }
        shapes.append(BenchmarkShape(name: "default", side: 6, time: 16, widths: (32, 32, 64), conv1Valid: false, batch: 8))
        for shape in shapes {
            if world.isDistributed {
                // Each rank takes its slice of the batch, as data-parallel training splits it.
                let localBatch = SingleProcess.blockRange(count: shape.batch, block: world.rank, of: world.size).count
                var local = shape
                local.batch = localBatch
                var reduce: [Double] = []
                let (seconds, _) = try time(local, world: world, reduceSeconds: &reduce)
                let median = reduce.sorted()[reduce.count / 2]
                let compute = Double(try world.maxAllReduce(Int(seconds * 1e9))) / 1e9
                let allReduce = Double(try world.maxAllReduce(Int(median * 1e9))) / 1e9
                if world.isWriter {
                    print(String(format: "%@ data-parallel, %d ranks × %d thread(s), global batch %d: %.3f s/step "
                                 + "(compute %.3f s best + all-reduce %.4f s median), slowest rank",
                                 shape.name, world.size, options.threads, shape.batch, compute + allReduce, compute, allReduce))
                }
                continue
            }
            var unused: [Double] = []
            let (seconds, flops) = try time(shape, world: world, reduceSeconds: &unused)
            let clips = Double(shape.batch) / seconds
            let methods = shape.geometry.map { Conv3D.resolvedMethod(method, $0).rawValue }.joined(separator: "/")
            print(String(format: "%@ (%d×%d×512 in, T %d, widths %d/%d/%d, batch %d), conv1/conv2 %@: %.3f s/step, "
                         + "%.2f clips/s per branch (%.2f for two branches), %.1f GFLOP/step, %.1f direct-equivalent "
                         + "GFLOP/s = %.2f × sgemm peak, VmHWM %.0f MiB",
                         shape.name, shape.side, shape.side, shape.time, shape.widths.0, shape.widths.1, shape.widths.2,
                         shape.batch, methods, seconds, clips, clips / 2, flops / 1e9, flops / seconds / 1e9,
                         flops / seconds / 1e9 / peak, peakResidentMiB()))
            if perConv { timeConvolutions(shape) }
        }
    }

    struct BenchmarkShape {
        var name: String
        var side: Int
        var time: Int
        var widths: (Int, Int, Int)
        var conv1Valid: Bool
        var batch: Int

        /// conv1's and conv2's geometries.
        var geometry: [Conv3DGeometry] {
            var settings = C3DSettings()
            (settings.conv1Width, settings.conv2Width, settings.hiddenWidth) = widths
            settings.conv1SpatialPadding = conv1Valid ? .valid : .same
            let g = ConvNet3DBranchGeometry(settings: settings, inputChannels: 512, batch: batch, time: time,
                                            height: side, width: side)
            return [g.conv1, g.conv2]
        }
    }

    /// Each convolution of `shape` alone, forward + backward (conv1 without the input gradient,
    /// as the branch runs it): best of `steps` for `.direct` and `.winograd`, alternated.
    func timeConvolutions(_ shape: BenchmarkShape) {
        for (index, g) in shape.geometry.enumerated() {
            var random = SplitMix64(seed: 5)
            func values(_ n: Int) -> [Float] { (0..<n).map { _ in Float(random.nextUniform()) - 0.5 } }
            let (x, k, b, dy) = (values(g.inputCount), values(g.kernelCount), values(g.outputChannels), values(g.outputCount))
            var y = [Float](repeating: 0, count: g.outputCount), dx = [Float](repeating: 0, count: g.inputCount)
            var dk = [Float](repeating: 0, count: g.kernelCount), db = [Float](repeating: 0, count: g.outputChannels)
            let methods: [Conv3D.Method] = g.kernelHeight == 3 && g.kernelWidth == 3 ? [.direct, .winograd] : [.direct]
            let workspaces = methods.map { _ in Conv3DWorkspace() }
            var best = [Double](repeating: .infinity, count: methods.count)
            for step in 0...options.steps {
                for (m, method) in methods.enumerated() {
                    let start = Date()
                    Conv3D.forward(output: &y, input: x, kernel: k, bias: b, geometry: g, method: method, workspace: workspaces[m])
                    if index == 0 {
                        Conv3D.backward(inputGradient: nil, kernelGradient: &dk, biasGradient: &db, outputGradient: dy, input: x,
                                        kernel: k, geometry: g, method: method, workspace: workspaces[m])
                    } else {
                        Conv3D.backward(inputGradient: &dx, kernelGradient: &dk, biasGradient: &db, outputGradient: dy, input: x,
                                        kernel: k, geometry: g, method: method, workspace: workspaces[m])
                    }
                    if step > 0 { best[m] = min(best[m], Date().timeIntervalSince(start)) }
                }
            }
            let line = zip(methods, best).map { String(format: "%@ %.1f ms", Conv3D.resolvedMethod($0, g).rawValue, $1 * 1e3) }
            print("  conv\(index + 1) \(g.batch)×\(g.time)×\(g.height)×\(g.width)×\(g.inputChannels) → \(g.outputChannels) "
                  + "(\(g.temporalPadding)/\(g.spatialPadding)), forward + backward: " + line.joined(separator: ", ")
                  + (best.count == 2 ? String(format: "; winograd/direct %.2f", best[1] / best[0]) : ""))
        }
    }

    /// Best seconds of a training step and its FLOP count (GEMMs of the convolutions and
    /// fully connected layers: forward, dW and dX, conv1 without dX). The FLOP count is the direct
    /// convolutions', whatever the method.
    func time(_ shape: BenchmarkShape, world: any Communicator, reduceSeconds: inout [Double]) throws -> (Double, Double) {
        var settings = C3DSettings()
        (settings.conv1Width, settings.conv2Width, settings.hiddenWidth) = shape.widths
        settings.conv1SpatialPadding = shape.conv1Valid ? .valid : .same
        let store = ParameterStore()
        let branch = ConvNet3DBranch(settings: settings, inputChannels: 512, classCount: 101, attentionWeight: 0,
                                     store: store, name: "bench")
        branch.initialize(seed: 1)
        branch.convolutionMethod = method
        var optimizer = TrainingOptimizer.adam(parameterCount: store.totalCount)
        var random = SplitMix64(seed: 2)
        let input = (0..<(shape.batch * shape.time * shape.side * shape.side * 512)).map { _ in Float(random.nextUniform()) }
        let labels = (0..<shape.batch).map { $0 % 101 }
        let g = branch.geometry(batch: shape.batch, time: shape.time, height: shape.side, width: shape.side)
        var best = Double.infinity
        for i in 0...options.steps {
            let start = Date()
            store.zeroGradients()
            _ = input.withUnsafeBufferPointer {
                branch.lossAndGradients(clips: $0.baseAddress!, labels: labels, attentionTargets: nil, batch: shape.batch,
                                        time: shape.time, height: shape.side, width: shape.side)
            }
            let computed = Date()
            if world.isDistributed { try world.sumAllReduce(&store.gradients) }
            let reduced = Date()
            optimizer.update(store, learningRate: 1e-4)
            if i > 0 {
                best = min(best, Date().timeIntervalSince(start) - reduced.timeIntervalSince(computed))
                reduceSeconds.append(reduced.timeIntervalSince(computed))
            }
        }
        let conv1 = 2.0 * Double(g.conv1.outputPositions) * Double(g.conv1.patchLength) * Double(g.conv1.outputChannels)
        let conv2 = 2.0 * Double(g.conv2.outputPositions) * Double(g.conv2.patchLength) * Double(g.conv2.outputChannels)
        let head = 2.0 * Double(g.steps) * Double(g.cubeChannels * settings.hiddenWidth + settings.hiddenWidth * 101)
        return (best, 2 * conv1 + 3 * conv2 + 3 * head)
    }
}

extension Conv3D.Method: ExpressibleByArgument {}
