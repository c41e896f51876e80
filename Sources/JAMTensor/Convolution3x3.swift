// shapes: input [N, H, W, Cin], output [N, H, W, Cout] (or [N, H/2, W/2, Cout] with the fused
// 2×2 max-pool), kernel HWIO [3, 3, Cin, Cout], bias [Cout]; float32, channels last, row-major.
//
// Longer than our usual 400 lines on purpose: the im2col and the Winograd schemes of one layer,
// with the choice between them, stay together so that their shared tiling reads in one place.

import Foundation

/// A 3×3, stride-1, zero-padded ("same") convolution with bias and optional fused ReLU, prepared
/// once (weights reordered or transformed) and then applied to many batches.
///
/// It computes Keras's `Conv2D(padding: "same")`, a cross-correlation:
/// `out[n, y, x, o] = bias[o] + Σ_{ky, kx, i} in[n, y+ky-1, x+kx-1, i] · kernel[ky, kx, i, o]`,
/// with zeros outside the image; then `max(0, ·)` when `relu`.
///
/// Two algorithms, both built on single-precision GEMM over bounded tiles of the image (never a
/// whole-frame buffer):
/// - `.im2col`: gathers the 3×3×Cin patches of a block of output pixels into a `[P, 9·Cin]`
///   matrix and multiplies it by the kernel viewed as `[9·Cin, Cout]`. Accurate to float
///   rounding of a 9·Cin-term sum; the choice for few input channels (VGG's first layer).
/// - `.winogradF4x4`: Winograd's minimal filtering F(4×4, 3×3) (Lavin & Gray 2016). Each 6×6
///   input tile becomes 36 transformed values per channel; 36 GEMMs `[tiles, Cin] × [Cin, Cout]`
///   (one per transform position) replace the 3×3 sums; an inverse transform gives a 4×4 output
///   tile. That is 36 instead of 144 multiplies per output tile and channel pair (4× fewer), at
///   the price of a little float accuracy: errors of a few 1e-6 of the output's largest
///   magnitude instead of a few 1e-7 (see the tests).
/// - `.winogradF6x6`: F(6×6, 3×3) (WinogradF6x6.swift): 8×8 input tiles, 64 GEMMs, 6×6 output
///   tiles; 64 instead of 324 multiplies per output tile and channel pair (5.06× fewer) and less
///   transformed data per output pixel, at 2-3× the rounding error of F(4×4, 3×3) (about 1e-5 of
///   the output's largest magnitude) and 64/36 of its transformed-kernel memory.
///
/// Work is split over `threads` workers of our own, each calling single-threaded OpenBLAS
/// (measured faster on 2 cores than OpenBLAS threading each of the many mid-sized GEMMs: e.g.
/// 36 GEMMs [288, 256]×[256, 256] at 146 vs 132 GFLOP/s, [227, 64]×[64, 64] at ~100 vs ~60).
/// Chunk and block sizes do not depend on the thread count and every GEMM has the same shape
/// whatever the count, so results are identical from run to run and across thread counts.
public final class Convolution3x3: @unchecked Sendable {
    /// How the convolution is computed; see the type's documentation.
    public enum Algorithm: String, Sendable, CaseIterable {
        case im2col
        case winogradF4x4
        case winogradF6x6

        /// Side of a Winograd output tile (4 or 6); 1 for im2col.
        var outputTile: Int {
            switch self {
            case .im2col: return 1
            case .winogradF4x4: return 4
            case .winogradF6x6: return 6
            }
        }
    }

    public let inputChannels: Int
    public let outputChannels: Int
    public let algorithm: Algorithm
    /// Whether `max(0, ·)` is applied to the output.
    public let relu: Bool

    /// `.im2col`: the kernel as `[9·Cin, Cout]` (HWIO is already that layout).
    /// `.winogradF4x4`: the transformed kernel `[36, Cin, Cout]`; `.winogradF6x6`: `[64, Cin, Cout]`.
    private let weights: UnsafeMutablePointer<Float>
    private let bias: UnsafeMutablePointer<Float>

    /// Prepares a convolution.
    /// - Parameters:
    ///   - kernel: HWIO `[3, 3, inputChannels, outputChannels]`.
    ///   - bias: `[outputChannels]`.
    public init(kernel: [Float], bias: [Float], inputChannels: Int, outputChannels: Int,
                algorithm: Algorithm, relu: Bool = true) {
        precondition(inputChannels > 0 && outputChannels > 0, "Convolution3x3: channel counts must be positive")
        precondition(kernel.count == 9 * inputChannels * outputChannels,
                     "Convolution3x3: kernel has \(kernel.count) values, expected [3, 3, \(inputChannels), \(outputChannels)]")
        precondition(bias.count == outputChannels, "Convolution3x3: bias has \(bias.count) values, expected \(outputChannels)")
        self.inputChannels = inputChannels
        self.outputChannels = outputChannels
        self.algorithm = algorithm
        self.relu = relu
        self.bias = .allocate(capacity: outputChannels)
        self.bias.initialize(from: bias, count: outputChannels)
        switch algorithm {
        case .im2col:
            weights = .allocate(capacity: kernel.count)
            weights.initialize(from: kernel, count: kernel.count)
        case .winogradF4x4, .winogradF6x6:
            let table = algorithm == .winogradF4x4 ? winogradG : winogradF6G
            weights = .allocate(capacity: table.count * table.count * inputChannels * outputChannels)
            kernel.withUnsafeBufferPointer { k in
                winogradTransformKernel(weights, k.baseAddress!, inputChannels: inputChannels,
                                        outputChannels: outputChannels, g: table)
            }
        }
    }

    deinit {
        weights.deallocate()
        bias.deallocate()
    }

    /// Multiply-accumulates of the direct convolution, `N·H·W·9·Cin·Cout` (the work counted when
    /// reporting GFLOP/s as 2·MACs, whatever the algorithm).
    public static func multiplyAccumulates(batch: Int, height: Int, width: Int,
                                           inputChannels: Int, outputChannels: Int) -> Int {
        batch * height * width * 9 * inputChannels * outputChannels
    }

    /// Multiply-accumulates the GEMMs actually do for a batch: `9·Cin·Cout` per pixel for im2col,
    /// `P·Cin·Cout` per tile for Winograd (P = 36 or 64 positions; whole tiles, edges included).
    public func gemmMultiplyAccumulates(batch: Int, height: Int, width: Int) -> Int {
        let side = algorithm.outputTile
        guard algorithm != .im2col else { return batch * height * width * 9 * inputChannels * outputChannels }
        let tiles = batch * ((height + side - 1) / side) * ((width + side - 1) / side)
        return tiles * (side + 2) * (side + 2) * inputChannels * outputChannels
    }

    /// An estimate of the bytes a batch moves between the cores and the caches beyond L1: the
    /// input read once, the intermediate matrices (im2col's patches; Winograd's V and M) written
    /// once and read once by the GEMMs or the output transform, the prepared weights read once per
    /// chunk or block of tiles, and the output written (im2col: also re-read by the bias pass).
    /// Where those bytes live (L2, L3, DRAM) depends on the chunk size; `jam-bench vgg --profile`
    /// prints it beside the measured phase times.
    public func memoryTrafficEstimate(batch: Int, height: Int, width: Int, fusedMaxPool: Bool) -> Int {
        let cin = inputChannels, cout = outputChannels, float = MemoryLayout<Float>.stride
        let inputBytes = batch * height * width * cin * float
        let outputBytes = batch * height * width * cout * float / (fusedMaxPool ? 4 : 1)
        switch algorithm {
        case .im2col:
            let pixels = batch * height * width, patch = 9 * cin
            let pixelsPerChunk = min(4096, max(64, (192 * 1024) / patch))
            let chunks = (pixels + pixelsPerChunk - 1) / pixelsPerChunk
            return inputBytes + 2 * pixels * patch * float + chunks * patch * cout * float + 2 * outputBytes
        case .winogradF4x4, .winogradF6x6:
            let side = algorithm.outputTile, positions = (side + 2) * (side + 2)
            let tiles = batch * ((height + side - 1) / side) * ((width + side - 1) / side)
            let groups = cin * cout <= tuning.privateSchemeLimit
                ? (tiles + winogradTilesPerChunk(tiles: tiles) - 1) / winogradTilesPerChunk(tiles: tiles)
                : (tiles + winogradTilesPerBlock(tiles: tiles) - 1) / winogradTilesPerBlock(tiles: tiles)
            return inputBytes + 2 * positions * tiles * (cin + cout) * float
                + groups * positions * cin * cout * float + outputBytes
        }
    }

    /// Applies the convolution to a batch.
    ///
    /// - Parameters:
    ///   - output: `[batch, height, width, Cout]`, or with `fusedMaxPool`
    ///     `[batch, height/2, width/2, Cout]` (floor): the 2×2 stride-2 max-pool of the activated
    ///     convolution, computed without storing the full-size output. Must not overlap `input`.
    ///   - input: `[batch, height, width, Cin]`.
    ///   - fusedMaxPool: only with the Winograd algorithms (`.im2col` callers pool separately with
    ///     `maxPool2x2`).
    ///   - threads: workers; results are identical for every value.
    ///   - workspace: scratch reused across calls (at most a few MB per worker).
    public func forward(
        output: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>,
        batch: Int, height: Int, width: Int, fusedMaxPool: Bool = false,
        threads: Int, workspace: ConvolutionWorkspace
    ) {
        precondition(batch >= 0 && height > 0 && width > 0, "Convolution3x3: empty image")
        precondition(!fusedMaxPool || algorithm != .im2col,
                     "Convolution3x3: the fused max-pool needs the Winograd algorithm")
        guard batch > 0 else { return }
        BLAS.withSingleThreadedBLAS {
            switch algorithm {
            case .im2col:
                forwardIm2col(output: output, input: input, batch: batch, height: height, width: width,
                              threads: threads, workspace: workspace)
            case .winogradF4x4 where inputChannels * outputChannels <= tuning.privateSchemeLimit,
                 .winogradF6x6 where inputChannels * outputChannels <= tuning.privateSchemeLimit:
                forwardWinogradPrivate(output: output, input: input, batch: batch, height: height, width: width,
                                       fusedMaxPool: fusedMaxPool, threads: threads, workspace: workspace)
            case .winogradF4x4, .winogradF6x6:
                forwardWinogradShared(output: output, input: input, batch: batch, height: height, width: width,
                                      fusedMaxPool: fusedMaxPool, threads: threads, workspace: workspace)
            }
        }
    }

    /// `forward` on arrays, with a fresh workspace: returns `[batch, height, width, Cout]`, or
    /// `[batch, height/2, width/2, Cout]` with `fusedMaxPool`.
    public func forward(_ input: [Float], batch: Int, height: Int, width: Int,
                        fusedMaxPool: Bool = false, threads: Int = 1) -> [Float] {
        precondition(input.count == batch * height * width * inputChannels,
                     "Convolution3x3: input has \(input.count) values, expected [\(batch), \(height), \(width), \(inputChannels)]")
        let (oh, ow) = fusedMaxPool ? (height / 2, width / 2) : (height, width)
        var output = [Float](repeating: 0, count: batch * oh * ow * outputChannels)
        let workspace = ConvolutionWorkspace()
        output.withUnsafeMutableBufferPointer { o in
            input.withUnsafeBufferPointer { i in
                guard let o = o.baseAddress, let i = i.baseAddress else { return }
                forward(output: o, input: i, batch: batch, height: height, width: width,
                        fusedMaxPool: fusedMaxPool, threads: threads, workspace: workspace)
            }
        }
        return output
    }

    // MARK: - im2col

    private func forwardIm2col(
        output: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>,
        batch: Int, height: Int, width: Int, threads: Int, workspace: ConvolutionWorkspace
    ) {
        let cin = inputChannels, cout = outputChannels
        let patch = 9 * cin
        // A [P, 9·Cin] patch block of ~768 KB stays in L2 while the GEMM streams it.
        let pixelsPerChunk = min(4096, max(64, (192 * 1024) / patch))
        let pixels = batch * height * width
        let chunkCount = (pixels + pixelsPerChunk - 1) / pixelsPerChunk
        let workers = max(1, min(threads, chunkCount))
        let scratch = workspace.reserve(workers: workers, floats: pixelsPerChunk * patch)
        let weights = self.weights, bias = self.bias, relu = self.relu
        let profile = workspace.profile
        profile?.prepare(workers: workers)
        parallelFor(chunkCount: chunkCount, threads: workers) { chunk, worker in
            var clock = profile == nil ? 0 : ConvolutionProfile.now()
            let first = chunk * pixelsPerChunk
            let count = min(pixelsPerChunk, pixels - first)
            let columns = scratch[worker]
            for p in 0..<count {
                let pixel = first &+ p
                let x = pixel % width
                let y = (pixel / width) % height
                let n = pixel / (width * height)
                let row = columns + p &* patch
                for ky in 0..<3 {
                    let yy = y &+ ky &- 1
                    if yy >= 0, yy < height, x >= 1, x &+ 1 < width {
                        // Channels last: the kernel row's three pixels are one run of 3·Cin floats.
                        let source = input + ((n &* height &+ yy) &* width &+ x &- 1) &* cin
                        let destination = row + ky &* 3 &* cin
                        if cin < 16 {  // a loop beats a memcpy call for VGG's 3 channels
                            for i in 0..<(3 &* cin) { destination[i] = source[i] }
                        } else {
                            destination.update(from: source, count: 3 &* cin)
                        }
                        continue
                    }
                    for kx in 0..<3 {
                        let xx = x &+ kx &- 1
                        let destination = row + (ky &* 3 &+ kx) &* cin
                        if yy >= 0, yy < height, xx >= 0, xx < width {
                            let source = input + ((n &* height &+ yy) &* width &+ xx) &* cin
                            if cin < 16 {  // a loop beats a memcpy call for VGG's 3 channels
                                for i in 0..<cin { destination[i] = source[i] }
                            } else {
                                destination.update(from: source, count: cin)
                            }
                        } else {
                            for i in 0..<cin { destination[i] = 0 }
                        }
                    }
                }
            }
            clock = profile?.record(.inputTransform, worker: worker, since: clock) ?? 0
            let out = output + first * cout
            BLAS.sgemm(out, ldc: cout, columns, lda: patch, weights, ldb: cout, m: count, n: cout, k: patch)
            clock = profile?.record(.gemm, worker: worker, since: clock) ?? 0
            addBias(out, bias, rows: count, channels: cout, relu: relu)
            _ = profile?.record(.outputTransform, worker: worker, since: clock)
        }
    }

    // MARK: - Winograd F(4×4, 3×3) and F(6×6, 3×3)

    /// How the Winograd work is cut into pieces. The defaults were measured on a 2-core Zen
    /// machine (1 MB L2 per core, 32 MB L3). Other values change results at most by float
    /// rounding (GEMMs of other sizes); tests set tiny values to run every path on small images.
    public struct Tuning: Sendable, Hashable {
        /// Layers with Cin·Cout up to this use the private scheme (each worker takes chunks of
        /// tiles through all steps); larger ones the shared scheme (workers split each step).
        public var privateSchemeLimit = 128 * 128
        /// Private scheme: floats of V + M per chunk (tiles per chunk at least 32). 1 MB, one
        /// core's L2: the output transform reads M back from L2 (4 MB chunks made VGG16's
        /// 64- and 128-channel layers 10-25% slower, `jam-bench vgg --profile`, docs/BENCHMARKS.md).
        public var chunkFloats = 256 * 1024
        /// Shared scheme: floats of V + M per block (tiles per block at least `minimumBlockTiles`).
        public var blockFloats = 4 * 1024 * 1024
        public var minimumBlockTiles = 64
        /// Shared scheme: blocks of at least Cin·Cout/(Cin + Cout) tiles, so that reading the
        /// transformed kernel (P·Cin·Cout floats, from DRAM when it exceeds L3) once per block
        /// moves no more bytes than the block's V and M. For 512×512 layers this overrides
        /// `blockFloats` (blocks of 256 tiles instead of 64 with F(6×6, 3×3): GEMMs 15% faster).
        public var boundKernelTraffic = true
        public init() {}
    }

    /// Work partition of the Winograd algorithm; see `Tuning`.
    public var tuning = Tuning()

    /// Small kernels (U_p of at most 128×128): each worker takes whole chunks of tiles through
    /// all three steps (input transforms, the P GEMMs, output transforms) on its own scratch, so
    /// a chunk's V and M stay in that core's caches and no worker waits for another. P, the
    /// transform positions, is 36 for F(4×4, 3×3) and 64 for F(6×6, 3×3).
    private func forwardWinogradPrivate(
        output: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>,
        batch: Int, height: Int, width: Int, fusedMaxPool: Bool, threads: Int, workspace: ConvolutionWorkspace
    ) {
        let cin = inputChannels, cout = outputChannels
        let tileSide = algorithm.outputTile, positions = (tileSide + 2) * (tileSide + 2)
        let tilesY = (height + tileSide - 1) / tileSide, tilesX = (width + tileSide - 1) / tileSide
        let tilesPerFrame = tilesY * tilesX
        let tiles = batch * tilesPerFrame
        let tilesPerChunk = winogradTilesPerChunk(tiles: tiles)
        let chunkCount = (tiles + tilesPerChunk - 1) / tilesPerChunk
        let workers = max(1, min(threads, chunkCount))
        // Per worker: V [P, T, Cin], M [P, T, Cout], a zero-padded border tile, and the transform
        // temporaries; each part 64-byte aligned.
        let vCount = positions * planeStride(tilesPerChunk * cin)
        let mCount = positions * planeStride(tilesPerChunk * cout)
        let stageSpace = roundUp16(positions * cin)
        let scratch = workspace.reserve(workers: workers,
                                        floats: vCount + mCount + stageSpace + winogradTempVectors * winogradLanes)
        let weights = self.weights, bias = self.bias, relu = self.relu, f6 = algorithm == .winogradF6x6
        let profile = workspace.profile
        profile?.prepare(workers: workers)
        parallelFor(chunkCount: chunkCount, threads: workers) { chunk, worker in
            var clock = profile == nil ? 0 : ConvolutionProfile.now()
            let first = chunk * tilesPerChunk
            let count = min(tilesPerChunk, tiles - first)
            let vStride = planeStride(count &* cin), mStride = planeStride(count &* cout)
            let v = scratch[worker], m = v + vCount, stage = m + mCount
            let temp = UnsafeMutableRawPointer(stage + stageSpace).assumingMemoryBound(to: WinogradVector.self)
            for t in 0..<count {
                winogradInput(f6: f6, v + t &* cin, planeStride: vStride, tile: first &+ t, input: input,
                              height: height, width: width, channels: cin, tilesX: tilesX,
                              tilesPerFrame: tilesPerFrame, stage: stage, temp: temp)
            }
            clock = profile?.record(.inputTransform, worker: worker, since: clock) ?? 0
            for position in 0..<positions {
                BLAS.sgemm(m + position &* mStride, ldc: cout,
                           v + position &* vStride, lda: cin,
                           weights + position &* cin &* cout, ldb: cout,
                           m: count, n: cout, k: cin)
            }
            clock = profile?.record(.gemm, worker: worker, since: clock) ?? 0
            for t in 0..<count {
                winogradOutput(f6: f6, output, tile: first &+ t, m + t &* cout, planeStride: mStride,
                               height: height, width: width, tilesX: tilesX, tilesPerFrame: tilesPerFrame,
                               fusedMaxPool: fusedMaxPool, bias: bias, channels: cout, relu: relu, temp: temp)
            }
            _ = profile?.record(.outputTransform, worker: worker, since: clock)
        }
    }

    /// Tiles are processed in groups of G ("blocks"), each in three phases with the workers
    /// splitting every phase: (1) input transforms of the block's tiles into V [P, G, Cin];
    /// (2) P GEMMs `M_p [G, Cout] = V_p [G, Cin] · U_p [Cin, Cout]`, whole positions per worker,
    /// so each transformed kernel U_p is packed once per block and no GEMM is split; (3) output
    /// transforms (+ bias, ReLU, pool) of the block's tiles. Large G keeps OpenBLAS's per-call
    /// packing of U_p small next to the multiply; G is capped so that V and M stay in L3.
    private func forwardWinogradShared(
        output: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>,
        batch: Int, height: Int, width: Int, fusedMaxPool: Bool, threads: Int, workspace: ConvolutionWorkspace
    ) {
        let cin = inputChannels, cout = outputChannels
        let tileSide = algorithm.outputTile, positions = (tileSide + 2) * (tileSide + 2)
        let tilesY = (height + tileSide - 1) / tileSide, tilesX = (width + tileSide - 1) / tileSide
        let tilesPerFrame = tilesY * tilesX
        let tiles = batch * tilesPerFrame
        let blockTiles = winogradTilesPerBlock(tiles: tiles)
        let workers = max(1, threads)
        // Shared: V [P, G, Cin] and M [P, G, Cout]. Per worker: a zero-padded border tile and the
        // transform temporaries. Each part 64-byte aligned.
        let vCount = positions * planeStride(blockTiles * cin), mCount = positions * planeStride(blockTiles * cout)
        let shared = workspace.reserveShared(floats: vCount + mCount)
        let stageSpace = roundUp16(positions * cin)
        let scratch = workspace.reserve(workers: workers, floats: stageSpace + winogradTempVectors * winogradLanes)
        let v = shared, m = shared + vCount
        let weights = self.weights, bias = self.bias, relu = self.relu, f6 = algorithm == .winogradF6x6
        let tilesPerTask = 8
        let profile = workspace.profile
        profile?.prepare(workers: workers)

        var first = 0
        while first < tiles {
            let count = min(blockTiles, tiles - first)
            let vStride = planeStride(count * cin), mStride = planeStride(count * cout)
            let tasks = (count + tilesPerTask - 1) / tilesPerTask
            // (1) Input transforms.
            parallelFor(chunkCount: tasks, threads: workers) { task, worker in
                let clock = profile == nil ? 0 : ConvolutionProfile.now()
                let stage = scratch[worker]
                let temp = UnsafeMutableRawPointer(stage + stageSpace).assumingMemoryBound(to: WinogradVector.self)
                for t in (task &* tilesPerTask)..<min(count, (task &+ 1) &* tilesPerTask) {
                    winogradInput(f6: f6, v + t &* cin, planeStride: vStride, tile: first &+ t, input: input,
                                  height: height, width: width, channels: cin, tilesX: tilesX,
                                  tilesPerFrame: tilesPerFrame, stage: stage, temp: temp)
                }
                _ = profile?.record(.inputTransform, worker: worker, since: clock)
            }
            // (2) One GEMM per transform position.
            parallelFor(chunkCount: positions, threads: workers) { position, worker in
                let clock = profile == nil ? 0 : ConvolutionProfile.now()
                BLAS.sgemm(m + position &* mStride, ldc: cout,
                           v + position &* vStride, lda: cin,
                           weights + position &* cin &* cout, ldb: cout,
                           m: count, n: cout, k: cin)
                _ = profile?.record(.gemm, worker: worker, since: clock)
            }
            // (3) Output transforms.
            parallelFor(chunkCount: tasks, threads: workers) { task, worker in
                let clock = profile == nil ? 0 : ConvolutionProfile.now()
                let temp = UnsafeMutableRawPointer(scratch[worker] + stageSpace)
                    .assumingMemoryBound(to: WinogradVector.self)
                for t in (task &* tilesPerTask)..<min(count, (task &+ 1) &* tilesPerTask) {
                    winogradOutput(f6: f6, output, tile: first &+ t, m + t &* cout, planeStride: mStride,
                                   height: height, width: width, tilesX: tilesX, tilesPerFrame: tilesPerFrame,
                                   fusedMaxPool: fusedMaxPool, bias: bias, channels: cout, relu: relu, temp: temp)
                }
                _ = profile?.record(.outputTransform, worker: worker, since: clock)
            }
            first += count
        }
    }

    /// Tiles per chunk of the private scheme: V + M of a chunk about 1 MB, at least 32 tiles;
    /// smaller when a layer has few tiles, so that every worker gets chunks. Independent of the
    /// thread count, so results are too.
    private func winogradTilesPerChunk(tiles: Int) -> Int {
        let side = algorithm.outputTile + 2
        let floatsPerTile = side * side * (inputChannels + outputChannels)
        let wanted = max(32, tuning.chunkFloats / floatsPerTile)
        let spread = max(8, (tiles + 7) / 8)
        return max(1, min(wanted, spread, tiles))
    }

    /// Tiles per block: as many as fit a ~16 MB V + M (L3), at least 64 (for efficient GEMMs)
    /// and at least Cin·Cout/(Cin + Cout) (`boundKernelTraffic`), never more than there are;
    /// independent of the thread count, so results are too.
    private func winogradTilesPerBlock(tiles: Int) -> Int {
        let side = algorithm.outputTile + 2
        let floatsPerTile = side * side * (inputChannels + outputChannels)
        let kernelBound = tuning.boundKernelTraffic
            ? inputChannels * outputChannels / (inputChannels + outputChannels) : 0
        let fitting = max(tuning.minimumBlockTiles, tuning.blockFloats / floatsPerTile, kernelBound)
        // Equal blocks rather than a full ones and a small remainder.
        let blocks = (tiles + fitting - 1) / fitting
        return max(1, (tiles + blocks - 1) / blocks)
    }
}

/// Transform temporaries per worker, in vectors: 48 for F(4×4, 3×3), 84 for F(6×6, 3×3).
private let winogradTempVectors = 96

/// The input transform of Winograd tile `tile` (F(6×6, 3×3) when `f6`, else F(4×4, 3×3)) of
/// `input` `[N, H, W, C]` into `v + p·planeStride`, p over the transform positions.
@inline(__always) private func winogradInput(
    f6: Bool, _ v: UnsafeMutablePointer<Float>, planeStride: Int, tile: Int, input: UnsafePointer<Float>,
    height: Int, width: Int, channels cin: Int, tilesX: Int, tilesPerFrame: Int,
    stage: UnsafeMutablePointer<Float>, temp: UnsafeMutablePointer<WinogradVector>
) {
    let (source, rowStride) = winogradInputPatch(
        tile: tile, side: f6 ? 6 : 4, input: input, height: height, width: width, channels: cin,
        tilesX: tilesX, tilesPerFrame: tilesPerFrame, stage: stage)
    if f6 {
        winogradF6InputTile(v, planeStride: planeStride, source, rowStride: rowStride, channels: cin, temp: temp)
    } else {
        winogradInputTile(v, planeStride: planeStride, source, rowStride: rowStride, channels: cin, temp: temp)
    }
}

/// The output transform (+ bias, ReLU, and the 2×2 max-pool when `fusedMaxPool`) of Winograd
/// tile `tile`, whose transformed values are at `m + p·planeStride`, into `output`
/// `[N, H, W, Cout]` (`[N, H/2, W/2, Cout]` pooled).
@inline(__always) private func winogradOutput(
    f6: Bool, _ output: UnsafeMutablePointer<Float>, tile: Int, _ m: UnsafePointer<Float>, planeStride: Int,
    height: Int, width: Int, tilesX: Int, tilesPerFrame: Int, fusedMaxPool: Bool,
    bias: UnsafePointer<Float>, channels cout: Int, relu: Bool, temp: UnsafeMutablePointer<WinogradVector>
) {
    let n = tile / tilesPerFrame, r = tile % tilesPerFrame
    let ty = r / tilesX, tx = r % tilesX
    // Each branch passes its side as a literal, so that the inlined writers are specialised per
    // tile size (with the side as a runtime value they measured up to 5% slower).
    if fusedMaxPool {
        let ph = height / 2, pw = width / 2
        let frame = output + n &* ph &* pw &* cout
        if f6 {
            winogradOutputTilePooled(side: 6, frame, height: ph, width: pw, y0: ty &* 3, x0: tx &* 3, m,
                                     planeStride: planeStride, bias: bias, channels: cout, relu: relu, temp: temp)
        } else {
            winogradOutputTilePooled(side: 4, frame, height: ph, width: pw, y0: ty &* 2, x0: tx &* 2, m,
                                     planeStride: planeStride, bias: bias, channels: cout, relu: relu, temp: temp)
        }
    } else {
        let frame = output + n &* height &* width &* cout
        if f6 {
            winogradOutputTile(side: 6, frame, height: height, width: width, y0: ty &* 6, x0: tx &* 6, m,
                               planeStride: planeStride, bias: bias, channels: cout, relu: relu, temp: temp)
        } else {
            winogradOutputTile(side: 4, frame, height: height, width: width, y0: ty &* 4, x0: tx &* 4, m,
                               planeStride: planeStride, bias: bias, channels: cout, relu: relu, temp: temp)
        }
    }
}

/// The (side+2)×(side+2) input patch (rows y0..<y0+side+2, y0 = side·tileRow − 1, likewise
/// columns) of Winograd tile `tile` of `input` `[N, H, W, C]`: a pointer into the frame with its
/// row stride when the patch lies inside it, else `stage` (`[side+2, side+2, C]`), zero-padded
/// and filled here.
@inline(__always) private func winogradInputPatch(
    tile: Int, side: Int, input: UnsafePointer<Float>, height: Int, width: Int, channels cin: Int,
    tilesX: Int, tilesPerFrame: Int, stage: UnsafeMutablePointer<Float>
) -> (source: UnsafePointer<Float>, rowStride: Int) {
    let patch = side &+ 2
    let n = tile / tilesPerFrame, r = tile % tilesPerFrame
    let y0 = (r / tilesX) &* side &- 1, x0 = (r % tilesX) &* side &- 1
    let frame = input + n &* height &* width &* cin
    if y0 >= 0, y0 &+ patch <= height, x0 >= 0, x0 &+ patch <= width {
        return (frame + (y0 &* width &+ x0) &* cin, width &* cin)
    }
    stage.update(repeating: 0, count: patch &* patch &* cin)
    for i in 0..<patch where y0 &+ i >= 0 && y0 &+ i < height {
        for j in 0..<patch where x0 &+ j >= 0 && x0 &+ j < width {
            (stage + (i &* patch &+ j) &* cin).update(from: frame + ((y0 &+ i) &* width &+ x0 &+ j) &* cin, count: cin)
        }
    }
    return (UnsafePointer(stage), patch &* cin)
}

@inline(__always) private func roundUp16(_ n: Int) -> Int { (n + 15) & ~15 }

/// Distance between the transform planes: at least `n` floats and an odd multiple of 64
/// bytes, so that a tile's 36 values do not all fall into the same cache sets (a power-of-two
/// stride made the transforms 1.5× slower).
@inline(__always) private func planeStride(_ n: Int) -> Int { (((n + 15) >> 4) | 1) << 4 }

/// `rows[r, c] = max(0, rows[r, c] + bias[c])` (or without the max), for `[rows, channels]`.
@inline(__always)
func addBias(_ rows: UnsafeMutablePointer<Float>, _ bias: UnsafePointer<Float>, rows count: Int,
             channels: Int, relu: Bool) {
    for r in 0..<count {
        let row = rows + r &* channels
        if relu {
            for c in 0..<channels { row[c] = max(0, row[c] + bias[c]) }
        } else {
            for c in 0..<channels { row[c] += bias[c] }
        }
    }
}
