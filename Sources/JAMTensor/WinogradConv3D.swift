// shapes: input x [B, T, H, W, Cin], output y [B, To, Ho, Wo, Cout], kernel [kt, 3, 3, Cin, Cout],
// bias [Cout]; float32, channels last, row-major. Each pass is a correlation of a C1-channel
// signal into a C2-channel one (forward: x → y; input gradient: dy → dx), with, in the transform
// domain: U [kt, 36, C1, C2]; per chunk of output frames V [36, inputFrames·tiles, C1] and
// M [36, frames·tiles, C2], a tile's rows ordered (frame, tile row, tile column).
// Tests: Tests/JAMNNTests/WinogradConv3DTests.swift (every pass against the Double reference),
// Tests/JAMNNTests/Conv3DTests.swift (.winograd beside the direct methods)
//
// Longer than our usual 400 lines: the three passes share the chunking and the tile indexing,
// and read side by side.

/// Sizes of a stride-1 3D convolution with a `kt×3×3` kernel, as `WinogradConv3D` needs them:
/// the input, the output, and the zeros in front of each axis (padding after is implied by the
/// output length).
public struct WinogradConv3DSizes: Sendable, Hashable {
    public var batch: Int
    public var time: Int
    public var height: Int
    public var width: Int
    public var inputChannels: Int
    public var outputChannels: Int
    public var kernelTime: Int
    public var outputTime: Int
    public var outputHeight: Int
    public var outputWidth: Int
    /// Zeros in front of the time, height and width axes.
    public var padTime: Int
    public var padHeight: Int
    public var padWidth: Int

    public init(batch: Int, time: Int, height: Int, width: Int, inputChannels: Int, outputChannels: Int,
                kernelTime: Int, outputTime: Int, outputHeight: Int, outputWidth: Int,
                padTime: Int, padHeight: Int, padWidth: Int) {
        precondition(batch > 0 && time > 0 && height > 0 && width > 0 && inputChannels > 0 && outputChannels > 0
                     && kernelTime > 0 && outputTime > 0 && outputHeight > 0 && outputWidth > 0,
                     "WinogradConv3D: sizes must be positive")
        precondition(padTime >= 0 && padTime < kernelTime && (0...2).contains(padHeight) && (0...2).contains(padWidth),
                     "WinogradConv3D: padding must be smaller than the kernel")
        (self.batch, self.time, self.height, self.width) = (batch, time, height, width)
        (self.inputChannels, self.outputChannels, self.kernelTime) = (inputChannels, outputChannels, kernelTime)
        (self.outputTime, self.outputHeight, self.outputWidth) = (outputTime, outputHeight, outputWidth)
        (self.padTime, self.padHeight, self.padWidth) = (padTime, padHeight, padWidth)
    }
}

/// 3D convolution (cross-correlation, stride 1) with `kt×3×3` kernels by Winograd's F(4×4, 3×3)
/// in space, accumulating the temporal taps in the transform domain:
/// `M_p[output frame t] = Σ_tap V_p[input frame t + tap − padTime] · U_{tap, p}`, then one
/// output transform per output tile. Per chunk of output frames of one clip: (1) input
/// transforms of the frames the chunk reads, (2) per transform position p, one GEMM per tap
/// `[rows, C1] × [C1, C2]` (rows: the chunk's tiles whose frame the tap reaches) accumulated
/// into M_p, (3) output transforms. The input gradient is the same correlation of dy with the
/// kernel flipped in time and space and its channel axes swapped; the kernel gradient is its
/// adjoint: `dU_{tap, p} += V_pᵀ · dM_p` with `dM = A dY Aᵀ`, and `dK = Gᵀ dU G` at the end.
///
/// The GEMMs multiply 36 instead of 144 values per 4×4 output tile and channel pair; tiles
/// cover the output in 4×4 steps, so 22×22 outputs (36 tiles) do 3.4× fewer multiplies than
/// the direct convolution, 11×11 ones (9 tiles) 3.4× fewer too. Errors are a few 1e-6 of the
/// largest magnitude with few channels, 1e-5 at 256 (Float im2col: a few 1e-7; see the tests).
///
/// Work is split over `threads` workers of our own running single-threaded GEMMs (as
/// `Convolution3x3`): transforms by groups of tiles, GEMMs by whole transform positions. Chunk
/// sizes and GEMM shapes do not depend on the thread count, so neither do the results.
///
/// Memory (in `ConvolutionWorkspace`): U or dU, `kt·36·Cin·Cout` floats (4× the kernel), plus one
/// chunk's V and M, at most about `Tuning.chunkFloats` floats (or one frame's when that is more),
/// plus `36·max(Cin, Cout)` floats and 48 vectors per worker: at the paper's conv1 (kt 3,
/// 512 → 256, 24×24 → 22×22, T 30) 54 MiB of U and a 62 MiB chunk.
public enum WinogradConv3D {
    /// How the work is cut into chunks of output frames.
    public struct Tuning: Sendable, Hashable {
        /// Floats of V + M per chunk (at least one output frame per chunk). 16 Mi floats (64 MiB)
        /// give the paper's conv1 chunks of 15 frames, GEMMs of 540 rows: its training step took
        /// 1.22 s against 1.35-1.47 s with 4 Mi floats (chunks of 2 frames) and 1.16-1.24 s with
        /// 64 Mi (2026-12-06, 2 cores, load ~5). Tests set tiny values to run the chunk edges.
        public var chunkFloats = 16 << 20
        public init() {}
    }

    /// `output = conv(input, kernel) + bias`.
    /// - Parameters:
    ///   - output: `[B, To, Ho, Wo, Cout]`, overwritten.
    ///   - input: `[B, T, H, W, Cin]`.
    ///   - kernel: `[kt, 3, 3, Cin, Cout]`.
    ///   - bias: `[Cout]`.
    ///   - threads: workers; results are identical for every value.
    public static func forward(
        output: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>,
        kernel: UnsafePointer<Float>, bias: UnsafePointer<Float>,
        sizes s: WinogradConv3DSizes, threads: Int, workspace: ConvolutionWorkspace, tuning: Tuning = Tuning()
    ) {
        let pass = Correlation(forward: s)
        BLAS.withSingleThreadedBLAS {
            let u = workspace.reserveShared(floats: pass.kernelFloats + pass.chunkFloats(tuning))
            transformKernel(u, kernel, sizes: s, flipped: false, threads: threads)
            pass.run(output: output, input: input, u: u, chunk: u + pass.kernelFloats, bias: bias, accumulate: false,
                     tuning: tuning, threads: threads, workspace: workspace)
        }
    }

    /// `inputGradient += dLoss/dInput` for `outputGradient` = dLoss/dOutput.
    /// - Parameters:
    ///   - inputGradient: `[B, T, H, W, Cin]`, accumulated.
    ///   - outputGradient: `[B, To, Ho, Wo, Cout]`.
    ///   - kernel: `[kt, 3, 3, Cin, Cout]`.
    public static func inputGradient(
        _ inputGradient: UnsafeMutablePointer<Float>, outputGradient: UnsafePointer<Float>,
        kernel: UnsafePointer<Float>,
        sizes s: WinogradConv3DSizes, threads: Int, workspace: ConvolutionWorkspace, tuning: Tuning = Tuning()
    ) {
        let pass = Correlation(inputGradientOf: s)
        BLAS.withSingleThreadedBLAS {
            let u = workspace.reserveShared(floats: pass.kernelFloats + pass.chunkFloats(tuning))
            transformKernel(u, kernel, sizes: s, flipped: true, threads: threads)
            pass.run(output: inputGradient, input: outputGradient, u: u, chunk: u + pass.kernelFloats, bias: nil,
                     accumulate: true, tuning: tuning, threads: threads, workspace: workspace)
        }
    }

    /// `kernelGradient += dLoss/dKernel` for `outputGradient` = dLoss/dOutput.
    /// - Parameters:
    ///   - kernelGradient: `[kt, 3, 3, Cin, Cout]`, accumulated.
    ///   - outputGradient: `[B, To, Ho, Wo, Cout]`.
    ///   - input: `[B, T, H, W, Cin]`, as given to `forward`.
    public static func kernelGradient(
        _ kernelGradient: UnsafeMutablePointer<Float>, outputGradient: UnsafePointer<Float>,
        input: UnsafePointer<Float>,
        sizes s: WinogradConv3DSizes, threads: Int, workspace: ConvolutionWorkspace, tuning: Tuning = Tuning()
    ) {
        let pass = Correlation(forward: s)
        BLAS.withSingleThreadedBLAS {
            let du = workspace.reserveShared(floats: pass.kernelFloats + pass.chunkFloats(tuning))
            du.update(repeating: 0, count: pass.kernelFloats)
            pass.runKernelGradient(du, outputGradient: outputGradient, input: input, chunk: du + pass.kernelFloats,
                                   tuning: tuning, threads: threads, workspace: workspace)
            accumulateKernelGradient(kernelGradient, du, sizes: s, threads: threads)
        }
    }

    /// Multiply-accumulates of the direct convolution, `B·To·Ho·Wo·kt·9·Cin·Cout` (the work
    /// counted when reporting "direct-equivalent" GFLOP/s as 2·MACs).
    public static func directMultiplyAccumulates(_ s: WinogradConv3DSizes) -> Int {
        s.batch * s.outputTime * s.outputHeight * s.outputWidth * s.kernelTime * 9 * s.inputChannels * s.outputChannels
    }
}

// MARK: - Kernel transforms

/// G (6×3) by rows in Float; U = G g Gᵀ (WinogradF4x4.swift's `winogradG`).
private let winogradGFloat: [(Float, Float, Float)] = winogradG.map { (Float($0.0), Float($0.1), Float($0.2)) }

extension WinogradConv3D {
    /// U [kt, 36, C1, C2] from `kernel` [kt, 3, 3, Cin, Cout]: for the forward pass C1 = Cin,
    /// C2 = Cout and tap t uses kernel[t]; `flipped` (the input gradient) C1 = Cout, C2 = Cin and
    /// tap t uses kernel[kt−1−t] turned by 180° in space. Eight output channels at a time, in
    /// Float (its rounding, ~1e-7 relative, is far below the GEMMs').
    static func transformKernel(_ u: UnsafeMutablePointer<Float>, _ kernel: UnsafePointer<Float>,
                                sizes s: WinogradConv3DSizes, flipped: Bool, threads: Int) {
        let (kt, cin, cout) = (s.kernelTime, s.inputChannels, s.outputChannels)
        let plane = cin * cout
        let out = UncheckedSendable(u)
        // Rows (tap, i); lanes: output channels o, contiguous in the kernel.
        parallelFor(chunkCount: kt * cin, threads: threads) { row, _ in
            let tap = row / cin, i = row % cin
            let source = kernel + ((flipped ? kt - 1 - tap : tap) * 9 * plane + i * cout)
            withUnsafeTemporaryAllocation(of: WinogradVector.self, capacity: 27) { scratch in
                let w = scratch.baseAddress!, gw = w + 9  // g [3, 3] and G g [6, 3]
                var o = 0
                while o < cout {
                    let lanes = min(winogradLanes, cout &- o)
                    for k in 0..<9 { w[flipped ? 8 &- k : k] = loadLanes(source + (k &* plane &+ o), lanes) }
                    // G g: [6, 3].
                    for r in 0..<6 {
                        let g = winogradGFloat[r]
                        for c in 0..<3 { gw[r &* 3 &+ c] = g.0 * w[c] + g.1 * w[3 &+ c] + g.2 * w[6 &+ c] }
                    }
                    // (G g) Gᵀ: [6, 6], to U[tap, p, i, o] or, flipped, U[tap, p, o, i].
                    let target = out.value + tap &* 36 &* plane
                    for r in 0..<6 {
                        for c in 0..<6 {
                            let g = winogradGFloat[c]
                            let value = gw[r &* 3] * g.0 + gw[r &* 3 &+ 1] * g.1 + gw[r &* 3 &+ 2] * g.2
                            let position = target + (r &* 6 &+ c) &* plane
                            if flipped {
                                storeLanes(value, position + (o &* cin &+ i), lanes, stride: cin)
                            } else {
                                storeLanes(value, position + (i &* cout &+ o), lanes)
                            }
                        }
                    }
                    o &+= winogradLanes
                }
            }
        }
    }

    /// `kernelGradient[t, kh, kw, i, o] += Σ_{r, c} G[r, kh] · dU[t, 6r + c, i, o] · G[c, kw]`
    /// (dg = Gᵀ dU G, the adjoint of U = G g Gᵀ), eight output channels at a time.
    static func accumulateKernelGradient(_ kernelGradient: UnsafeMutablePointer<Float>, _ du: UnsafePointer<Float>,
                                         sizes s: WinogradConv3DSizes, threads: Int) {
        let (kt, cin, cout) = (s.kernelTime, s.inputChannels, s.outputChannels)
        let plane = cin * cout
        let out = UncheckedSendable(kernelGradient)
        parallelFor(chunkCount: kt * cin, threads: threads) { row, _ in
            let tap = row / cin, i = row % cin
            let source = du + (tap &* 36 &* plane &+ i &* cout)
            let target = out.value + (tap &* 9 &* plane &+ i &* cout)
            withUnsafeTemporaryAllocation(of: WinogradVector.self, capacity: 18) { scratch in
                let rows = scratch.baseAddress!  // dU G [6, 3]
                var o = 0
                while o < cout {
                    let lanes = min(winogradLanes, cout &- o)
                    for r in 0..<6 {
                        var sums = (WinogradVector(), WinogradVector(), WinogradVector())
                        for c in 0..<6 {
                            let value = loadLanes(source + ((r &* 6 &+ c) &* plane &+ o), lanes)
                            let g = winogradGFloat[c]
                            sums.0 += value * g.0; sums.1 += value * g.1; sums.2 += value * g.2
                        }
                        rows[r &* 3] = sums.0; rows[r &* 3 &+ 1] = sums.1; rows[r &* 3 &+ 2] = sums.2
                    }
                    // Gᵀ (dU G): [3, 3], added to the kernel gradient.
                    for kw in 0..<3 {
                        var sums = (WinogradVector(), WinogradVector(), WinogradVector())
                        for r in 0..<6 {
                            let g = winogradGFloat[r], value = rows[r &* 3 &+ kw]
                            sums.0 += g.0 * value; sums.1 += g.1 * value; sums.2 += g.2 * value
                        }
                        let column = target + (kw &* plane &+ o)  // (kh, kw) at column + 3·kh·plane
                        storeLanes(loadLanes(column, lanes) + sums.0, column, lanes)
                        storeLanes(loadLanes(column + 3 &* plane, lanes) + sums.1, column + 3 &* plane, lanes)
                        storeLanes(loadLanes(column + 6 &* plane, lanes) + sums.2, column + 6 &* plane, lanes)
                    }
                    o &+= winogradLanes
                }
            }
        }
    }
}

// MARK: - The correlation

/// One correlation `out[b, t, y, x, c2] (+)= Σ in[b, t+tap−padTime, y+ky−padHeight,
/// x+kx−padWidth, c1] · k[tap, ky, kx, c1, c2]` (zeros outside `in`), tiled 4×4 over `out`.
private struct Correlation {
    var batch: Int
    var inTime, inHeight, inWidth, inChannels: Int
    var outTime, outHeight, outWidth, outChannels: Int
    var kernelTime: Int
    var padTime, padHeight, padWidth: Int

    /// The forward pass (and the kernel gradient, which is its adjoint).
    init(forward s: WinogradConv3DSizes) {
        batch = s.batch
        (inTime, inHeight, inWidth, inChannels) = (s.time, s.height, s.width, s.inputChannels)
        (outTime, outHeight, outWidth, outChannels) = (s.outputTime, s.outputHeight, s.outputWidth, s.outputChannels)
        kernelTime = s.kernelTime
        (padTime, padHeight, padWidth) = (s.padTime, s.padHeight, s.padWidth)
    }

    /// The input gradient: dy correlated with the flipped kernel; an input pixel i is reached
    /// from output pixel i − k + pad, so the zeros in front become k − 1 − pad.
    init(inputGradientOf s: WinogradConv3DSizes) {
        batch = s.batch
        (inTime, inHeight, inWidth, inChannels) = (s.outputTime, s.outputHeight, s.outputWidth, s.outputChannels)
        (outTime, outHeight, outWidth, outChannels) = (s.time, s.height, s.width, s.inputChannels)
        kernelTime = s.kernelTime
        (padTime, padHeight, padWidth) = (s.kernelTime - 1 - s.padTime, 2 - s.padHeight, 2 - s.padWidth)
    }

    var tilesX: Int { (outWidth + 3) / 4 }
    var tilesPerFrame: Int { (outHeight + 3) / 4 * tilesX }
    var kernelFloats: Int { kernelTime * 36 * inChannels * outChannels }

    /// Output frames per chunk: V + M within `tuning.chunkFloats`, at least one frame.
    func framesPerChunk(_ tuning: WinogradConv3D.Tuning) -> Int {
        let perFrame = 36 * tilesPerFrame * (inChannels + outChannels)
        let halo = 36 * tilesPerFrame * (kernelTime - 1) * inChannels
        return max(1, min(outTime, (tuning.chunkFloats - halo) / perFrame))
    }

    /// Input frames a chunk of `frames` output frames reads, at most.
    func inputFrames(_ frames: Int) -> Int { min(inTime, frames + kernelTime - 1) }

    func chunkFloats(_ tuning: WinogradConv3D.Tuning) -> Int {
        let frames = framesPerChunk(tuning)
        return 36 * planeStride(inputFrames(frames) * tilesPerFrame * inChannels)
            + 36 * planeStride(frames * tilesPerFrame * outChannels)
    }

    /// The chunks: per clip, output frames [f, f + F).
    func chunks(_ tuning: WinogradConv3D.Tuning) -> [(clip: Int, frames: Range<Int>)] {
        let frames = framesPerChunk(tuning)
        return (0..<batch).flatMap { b in
            stride(from: 0, to: outTime, by: frames).map { (b, $0..<min(outTime, $0 + frames)) }
        }
    }

    /// Input frames [lo, hi) that output frames `frames` read (empty when none exists).
    func inputRange(_ frames: Range<Int>) -> Range<Int> {
        let lo = max(0, frames.lowerBound - padTime)
        let hi = min(inTime, frames.upperBound + kernelTime - 1 - padTime)
        return lo..<max(lo, hi)
    }

    /// Output frames of `frames` that tap `tap` reaches inside the input.
    func tapRange(_ tap: Int, _ frames: Range<Int>) -> Range<Int> {
        let lo = max(frames.lowerBound, padTime - tap)
        let hi = min(frames.upperBound, inTime + padTime - tap)
        return lo..<max(lo, hi)
    }

    /// Per-worker scratch: a zero-padded 6×6×C1 border patch and 48 transform vectors.
    func workerScratch(_ threads: Int, _ workspace: ConvolutionWorkspace) -> (UncheckedSendable<[UnsafeMutablePointer<Float>]>, Int) {
        let stageSpace = (36 * inChannels + 15) & ~15
        return (UncheckedSendable(workspace.reserve(workers: max(1, threads), floats: stageSpace + 48 * winogradLanes)),
                stageSpace)
    }

    /// V rows of input frames `range` of clip `clip`: V[p, (t − range.lo)·tiles + tile, :].
    func transformInput(_ v: UnsafeMutablePointer<Float>, vStride: Int, _ input: UnsafePointer<Float>,
                        clip: Int, range: Range<Int>, task: Int, stage: UnsafeMutablePointer<Float>,
                        temp: UnsafeMutablePointer<WinogradVector>) {
        let tiles = tilesPerFrame, count = range.count * tiles
        for row in (task &* 8)..<min(count, (task &+ 1) &* 8) {
            let frame = input + ((clip &* inTime &+ range.lowerBound &+ row / tiles) &* inHeight &* inWidth) &* inChannels
            let tile = row % tiles
            let y0 = (tile / tilesX) &* 4 &- padHeight, x0 = (tile % tilesX) &* 4 &- padWidth
            let (source, rowStride) = patch(frame, y0: y0, x0: x0, stage: stage)
            winogradInputTile(v + row &* inChannels, planeStride: vStride, source, rowStride: rowStride,
                              channels: inChannels, temp: temp)
        }
    }

    /// The 6×6 patch at (y0, x0) of `frame` [inHeight, inWidth, C1]: in place when inside,
    /// else copied into `stage` with zeros outside.
    @inline(__always)
    func patch(_ frame: UnsafePointer<Float>, y0: Int, x0: Int, stage: UnsafeMutablePointer<Float>)
        -> (UnsafePointer<Float>, Int) {
        let c = inChannels
        if y0 >= 0, y0 &+ 6 <= inHeight, x0 >= 0, x0 &+ 6 <= inWidth {
            return (frame + (y0 &* inWidth &+ x0) &* c, inWidth &* c)
        }
        stage.update(repeating: 0, count: 36 &* c)
        for i in 0..<6 where y0 &+ i >= 0 && y0 &+ i < inHeight {
            for j in 0..<6 where x0 &+ j >= 0 && x0 &+ j < inWidth {
                (stage + (i &* 6 &+ j) &* c).update(from: frame + ((y0 &+ i) &* inWidth &+ x0 &+ j) &* c, count: c)
            }
        }
        return (UnsafePointer(stage), 6 &* c)
    }

    /// Forward or input-gradient pass: `output` = (bias +) the correlation, or += it.
    func run(output: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, u: UnsafePointer<Float>,
             chunk: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>?, accumulate: Bool,
             tuning: WinogradConv3D.Tuning, threads: Int, workspace: ConvolutionWorkspace) {
        let tiles = tilesPerFrame, (c1, c2) = (inChannels, outChannels)
        let maxFrames = framesPerChunk(tuning)
        let vCount = 36 * planeStride(inputFrames(maxFrames) * tiles * c1)
        let v = chunk, m = chunk + vCount
        let (scratch, stageSpace) = workerScratch(threads, workspace)
        let out = UncheckedSendable(output)
        for (clip, frames) in chunks(tuning) {
            let range = inputRange(frames)
            let vStride = planeStride(range.count * tiles * c1), mStride = planeStride(frames.count * tiles * c2)
            // (1) Input transforms.
            parallelFor(chunkCount: (range.count * tiles + 7) / 8, threads: threads) { task, worker in
                let stage = scratch.value[worker]
                let temp = UnsafeMutableRawPointer(stage + stageSpace).assumingMemoryBound(to: WinogradVector.self)
                transformInput(v, vStride: vStride, input, clip: clip, range: range, task: task, stage: stage, temp: temp)
            }
            // (2) Per position, the taps' GEMMs summed into M_p.
            parallelFor(chunkCount: 36, threads: threads) { p, _ in
                let mp = m + p &* mStride
                var written = false
                for tap in 0..<kernelTime {
                    let reach = tapRange(tap, frames)
                    guard !reach.isEmpty else { continue }
                    if !written && reach != frames { mp.update(repeating: 0, count: frames.count &* tiles &* c2) }
                    let firstInput: Int = reach.lowerBound &+ tap &- padTime &- range.lowerBound
                    let target: UnsafeMutablePointer<Float> = mp + (reach.lowerBound &- frames.lowerBound) &* tiles &* c2
                    let rows: UnsafePointer<Float> = UnsafePointer(v + (p &* vStride &+ firstInput &* tiles &* c1))
                    let kernel: UnsafePointer<Float> = u + (tap &* 36 &+ p) &* c1 &* c2
                    let beta: Float = written || reach != frames ? 1 : 0
                    BLAS.sgemm(target, ldc: c2, rows, lda: c1, kernel, ldb: c2,
                               m: reach.count &* tiles, n: c2, k: c1, beta: beta)
                    written = true
                }
                if !written { mp.update(repeating: 0, count: frames.count &* tiles &* c2) }
            }
            // (3) Output transforms.
            parallelFor(chunkCount: (frames.count * tiles + 7) / 8, threads: threads) { task, worker in
                let temp = UnsafeMutableRawPointer(scratch.value[worker] + stageSpace)
                    .assumingMemoryBound(to: WinogradVector.self)
                for row in (task &* 8)..<min(frames.count &* tiles, (task &+ 1) &* 8) {
                    let t = frames.lowerBound &+ row / tiles, tile = row % tiles
                    let frame = out.value + ((clip &* outTime &+ t) &* outHeight &* outWidth) &* c2
                    let y0 = (tile / tilesX) &* 4, x0 = (tile % tilesX) &* 4
                    if accumulate {
                        winogradOutputTileAdding(frame, height: outHeight, width: outWidth, y0: y0, x0: x0,
                                                 m + row &* c2, planeStride: mStride, channels: c2, temp: temp)
                    } else if let bias {
                        winogradOutputTile(side: 4, frame, height: outHeight, width: outWidth, y0: y0, x0: x0,
                                           m + row &* c2, planeStride: mStride, bias: bias, channels: c2,
                                           relu: false, temp: temp)
                    }
                }
            }
        }
    }

    /// Kernel gradient in the transform domain: `du[tap, p] += V_pᵀ · dM_p` over every chunk.
    func runKernelGradient(_ du: UnsafeMutablePointer<Float>, outputGradient: UnsafePointer<Float>,
                           input: UnsafePointer<Float>, chunk: UnsafeMutablePointer<Float>,
                           tuning: WinogradConv3D.Tuning, threads: Int, workspace: ConvolutionWorkspace) {
        let tiles = tilesPerFrame, (c1, c2) = (inChannels, outChannels)
        let maxFrames = framesPerChunk(tuning)
        let vCount = 36 * planeStride(inputFrames(maxFrames) * tiles * c1)
        let v = chunk, dm = chunk + vCount
        let (scratch, stageSpace) = workerScratch(threads, workspace)
        let dOut = UncheckedSendable(outputGradient)
        for (clip, frames) in chunks(tuning) {
            let range = inputRange(frames)
            let vStride = planeStride(range.count * tiles * c1), mStride = planeStride(frames.count * tiles * c2)
            let inputTasks = (range.count * tiles + 7) / 8
            // (1) Input transforms, then output-gradient transforms.
            parallelFor(chunkCount: inputTasks + (frames.count * tiles + 7) / 8, threads: threads) { task, worker in
                let stage = scratch.value[worker]
                let temp = UnsafeMutableRawPointer(stage + stageSpace).assumingMemoryBound(to: WinogradVector.self)
                if task < inputTasks {
                    transformInput(v, vStride: vStride, input, clip: clip, range: range, task: task, stage: stage, temp: temp)
                    return
                }
                let first = (task &- inputTasks) &* 8
                for row in first..<min(frames.count &* tiles, first &+ 8) {
                    let t = frames.lowerBound &+ row / tiles, tile = row % tiles
                    let frame = dOut.value + ((clip &* outTime &+ t) &* outHeight &* outWidth) &* c2
                    winogradOutputGradientTile(dm + row &* c2, planeStride: mStride, frame, height: outHeight,
                                               width: outWidth, y0: (tile / tilesX) &* 4, x0: (tile % tilesX) &* 4,
                                               channels: c2, temp: temp)
                }
            }
            // (2) Per position and tap: dU += V_pᵀ · dM_p over the rows the tap reaches.
            parallelFor(chunkCount: 36, threads: threads) { p, _ in
                for tap in 0..<kernelTime {
                    let reach = tapRange(tap, frames)
                    guard !reach.isEmpty else { continue }
                    let firstInput: Int = reach.lowerBound &+ tap &- padTime &- range.lowerBound
                    let target: UnsafeMutablePointer<Float> = du + (tap &* 36 &+ p) &* c1 &* c2
                    let inputRows: UnsafePointer<Float> = UnsafePointer(v + (p &* vStride &+ firstInput &* tiles &* c1))
                    let gradientOffset: Int = p &* mStride &+ (reach.lowerBound &- frames.lowerBound) &* tiles &* c2
                    let gradientRows: UnsafePointer<Float> = UnsafePointer(dm + gradientOffset)
                    BLAS.sgemm(target, ldc: c2, inputRows, lda: c1, transposeA: true, gradientRows, ldb: c2,
                               m: c1, n: c2, k: reach.count &* tiles, beta: 1)
                }
            }
        }
    }
}

/// Distance between the 36 transform planes: at least `n` floats and an odd multiple of 64
/// bytes, so that a tile's 36 values do not all fall into the same cache sets.
@inline(__always) private func planeStride(_ n: Int) -> Int { (((n + 15) >> 4) | 1) << 4 }
