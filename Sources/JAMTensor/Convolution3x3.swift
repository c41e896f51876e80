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
    }

    public let inputChannels: Int
    public let outputChannels: Int
    public let algorithm: Algorithm
    /// Whether `max(0, ·)` is applied to the output.
    public let relu: Bool

    /// `.im2col`: the kernel as `[9·Cin, Cout]` (HWIO is already that layout).
    /// `.winogradF4x4`: the transformed kernel `[36, Cin, Cout]`.
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
        case .winogradF4x4:
            weights = .allocate(capacity: 36 * inputChannels * outputChannels)
            kernel.withUnsafeBufferPointer { k in
                winogradTransformKernel(weights, k.baseAddress!, inputChannels: inputChannels,
                                        outputChannels: outputChannels)
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

    /// Applies the convolution to a batch.
    ///
    /// - Parameters:
    ///   - output: `[batch, height, width, Cout]`, or with `fusedMaxPool`
    ///     `[batch, height/2, width/2, Cout]` (floor): the 2×2 stride-2 max-pool of the activated
    ///     convolution, computed without storing the full-size output. Must not overlap `input`.
    ///   - input: `[batch, height, width, Cin]`.
    ///   - fusedMaxPool: only with `.winogradF4x4` (`.im2col` callers pool separately with `maxPool2x2`).
    ///   - threads: workers; results are identical for every value.
    ///   - workspace: scratch reused across calls (at most a few MB per worker).
    public func forward(
        output: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>,
        batch: Int, height: Int, width: Int, fusedMaxPool: Bool = false,
        threads: Int, workspace: ConvolutionWorkspace
    ) {
        precondition(batch >= 0 && height > 0 && width > 0, "Convolution3x3: empty image")
        precondition(!fusedMaxPool || algorithm == .winogradF4x4,
                     "Convolution3x3: the fused max-pool needs the Winograd algorithm")
        guard batch > 0 else { return }
        BLAS.withSingleThreadedBLAS {
            switch algorithm {
            case .im2col:
                forwardIm2col(output: output, input: input, batch: batch, height: height, width: width,
                              threads: threads, workspace: workspace)
            case .winogradF4x4 where inputChannels * outputChannels <= tuning.privateSchemeLimit:
                forwardWinogradPrivate(output: output, input: input, batch: batch, height: height, width: width,
                                       fusedMaxPool: fusedMaxPool, threads: threads, workspace: workspace)
            case .winogradF4x4:
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
        parallelFor(chunkCount: chunkCount, threads: workers) { chunk, worker in
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
            let out = output + first * cout
            BLAS.sgemm(out, ldc: cout, columns, lda: patch, weights, ldb: cout, m: count, n: cout, k: patch)
            addBias(out, bias, rows: count, channels: cout, relu: relu)
        }
    }

    // MARK: - Winograd F(4×4, 3×3)

    /// How the Winograd work is cut into pieces. The defaults were measured on a 2-core Zen
    /// machine (1 MB L2 per core, 32 MB L3). Other values change results at most by float
    /// rounding (GEMMs of other sizes); tests set tiny values to run every path on small images.
    public struct Tuning: Sendable, Hashable {
        /// Layers with Cin·Cout up to this use the private scheme (each worker takes chunks of
        /// tiles through all steps); larger ones the shared scheme (workers split each step).
        public var privateSchemeLimit = 128 * 128
        /// Private scheme: floats of V + M per chunk (tiles per chunk at least 32).
        public var chunkFloats = 1024 * 1024
        /// Shared scheme: floats of V + M per block (tiles per block at least `minimumBlockTiles`).
        public var blockFloats = 4 * 1024 * 1024
        public var minimumBlockTiles = 64
        public init() {}
    }

    /// Work partition of the Winograd algorithm; see `Tuning`.
    public var tuning = Tuning()

    /// Small kernels (U_p of at most 128×128): each worker takes whole chunks of tiles through
    /// all three steps (input transforms, the 36 GEMMs, output transforms) on its own scratch, so
    /// a chunk's V and M stay in that core's caches and no worker waits for another.
    private func forwardWinogradPrivate(
        output: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>,
        batch: Int, height: Int, width: Int, fusedMaxPool: Bool, threads: Int, workspace: ConvolutionWorkspace
    ) {
        let cin = inputChannels, cout = outputChannels
        let tilesY = (height + 3) / 4, tilesX = (width + 3) / 4
        let tilesPerFrame = tilesY * tilesX
        let tiles = batch * tilesPerFrame
        let tilesPerChunk = winogradTilesPerChunk(tiles: tiles)
        let chunkCount = (tiles + tilesPerChunk - 1) / tilesPerChunk
        let workers = max(1, min(threads, chunkCount))
        // Per worker: V [36, T, Cin], M [36, T, Cout], a zero-padded 6×6×Cin border tile, and
        // 48 vectors of transform temporaries; each part 64-byte aligned.
        let vCount = 36 * planeStride(tilesPerChunk * cin), mCount = 36 * planeStride(tilesPerChunk * cout)
        let stageCount = 36 * cin, stageSpace = roundUp16(stageCount)
        let scratch = workspace.reserve(workers: workers,
                                        floats: vCount + mCount + stageSpace + 48 * winogradLanes)
        let weights = self.weights, bias = self.bias, relu = self.relu
        parallelFor(chunkCount: chunkCount, threads: workers) { chunk, worker in
            let first = chunk * tilesPerChunk
            let count = min(tilesPerChunk, tiles - first)
            let vStride = planeStride(count &* cin), mStride = planeStride(count &* cout)
            let v = scratch[worker], m = v + vCount, stage = m + mCount
            let temp = UnsafeMutableRawPointer(stage + stageSpace).assumingMemoryBound(to: WinogradVector.self)
            for t in 0..<count {
                let (source, rowStride) = winogradInputPatch(
                    tile: first &+ t, input: input, height: height, width: width, channels: cin,
                    tilesX: tilesX, tilesPerFrame: tilesPerFrame, stage: stage)
                winogradInputTile(v + t &* cin, planeStride: vStride, source, rowStride: rowStride,
                                  channels: cin, temp: temp)
            }
            for position in 0..<36 {
                BLAS.sgemm(m + position &* mStride, ldc: cout,
                           v + position &* vStride, lda: cin,
                           weights + position &* cin &* cout, ldb: cout,
                           m: count, n: cout, k: cin)
            }
            for t in 0..<count {
                let tile = first &+ t
                let n = tile / tilesPerFrame, r = tile % tilesPerFrame
                let ty = r / tilesX, tx = r % tilesX
                if fusedMaxPool {
                    let ph = height / 2, pw = width / 2
                    winogradOutputTilePooled(
                        output + n &* ph &* pw &* cout, height: ph, width: pw, y0: ty &* 2, x0: tx &* 2,
                        m + t &* cout, planeStride: mStride, bias: bias, channels: cout, relu: relu,
                        temp: temp)
                } else {
                    winogradOutputTile(
                        output + n &* height &* width &* cout, height: height, width: width,
                        y0: ty &* 4, x0: tx &* 4, m + t &* cout, planeStride: mStride, bias: bias,
                        channels: cout, relu: relu, temp: temp)
                }
            }
        }
    }

    /// Tiles are processed in groups of G ("blocks"), each in three phases with the workers
    /// splitting every phase: (1) input transforms of the block's tiles into V [36, G, Cin];
    /// (2) 36 GEMMs `M_p [G, Cout] = V_p [G, Cin] · U_p [Cin, Cout]`, whole positions per worker,
    /// so each transformed kernel U_p is packed once per block and no GEMM is split; (3) output
    /// transforms (+ bias, ReLU, pool) of the block's tiles. Large G keeps OpenBLAS's per-call
    /// packing of U_p small next to the multiply; G is capped so that V and M stay in L3.
    private func forwardWinogradShared(
        output: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>,
        batch: Int, height: Int, width: Int, fusedMaxPool: Bool, threads: Int, workspace: ConvolutionWorkspace
    ) {
        let cin = inputChannels, cout = outputChannels
        let tilesY = (height + 3) / 4, tilesX = (width + 3) / 4
        let tilesPerFrame = tilesY * tilesX
        let tiles = batch * tilesPerFrame
        let blockTiles = winogradTilesPerBlock(tiles: tiles)
        let workers = max(1, threads)
        // Shared: V [36, G, Cin] and M [36, G, Cout]. Per worker: a zero-padded 6×6×Cin border
        // tile and 48 vectors of transform temporaries. Each part 64-byte aligned.
        let vCount = 36 * planeStride(blockTiles * cin), mCount = 36 * planeStride(blockTiles * cout)
        let shared = workspace.reserveShared(floats: vCount + mCount)
        let stageCount = 36 * cin, stageSpace = roundUp16(stageCount)
        let scratch = workspace.reserve(workers: workers, floats: stageSpace + 48 * winogradLanes)
        let v = shared, m = shared + vCount
        let weights = self.weights, bias = self.bias, relu = self.relu
        let tilesPerTask = 8

        var first = 0
        while first < tiles {
            let count = min(blockTiles, tiles - first)
            let vStride = planeStride(count * cin), mStride = planeStride(count * cout)
            let tasks = (count + tilesPerTask - 1) / tilesPerTask
            // (1) Input transforms.
            parallelFor(chunkCount: tasks, threads: workers) { task, worker in
                let stage = scratch[worker]
                let temp = UnsafeMutableRawPointer(stage + stageSpace).assumingMemoryBound(to: WinogradVector.self)
                for t in (task &* tilesPerTask)..<min(count, (task &+ 1) &* tilesPerTask) {
                    let (source, rowStride) = winogradInputPatch(
                        tile: first &+ t, input: input, height: height, width: width, channels: cin,
                        tilesX: tilesX, tilesPerFrame: tilesPerFrame, stage: stage)
                    winogradInputTile(v + t &* cin, planeStride: vStride, source, rowStride: rowStride,
                                      channels: cin, temp: temp)
                }
            }
            // (2) One GEMM per transform position.
            parallelFor(chunkCount: 36, threads: workers) { position, _ in
                BLAS.sgemm(m + position &* mStride, ldc: cout,
                           v + position &* vStride, lda: cin,
                           weights + position &* cin &* cout, ldb: cout,
                           m: count, n: cout, k: cin)
            }
            // (3) Output transforms.
            parallelFor(chunkCount: tasks, threads: workers) { task, worker in
                let temp = UnsafeMutableRawPointer(scratch[worker] + stageSpace)
                    .assumingMemoryBound(to: WinogradVector.self)
                for t in (task &* tilesPerTask)..<min(count, (task &+ 1) &* tilesPerTask) {
                    let tile = first &+ t
                    let n = tile / tilesPerFrame, r = tile % tilesPerFrame
                    let ty = r / tilesX, tx = r % tilesX
                    if fusedMaxPool {
                        let ph = height / 2, pw = width / 2
                        winogradOutputTilePooled(
                            output + n &* ph &* pw &* cout, height: ph, width: pw, y0: ty &* 2, x0: tx &* 2,
                            m + t &* cout, planeStride: mStride, bias: bias, channels: cout, relu: relu,
                            temp: temp)
                    } else {
                        winogradOutputTile(
                            output + n &* height &* width &* cout, height: height, width: width,
                            y0: ty &* 4, x0: tx &* 4, m + t &* cout, planeStride: mStride, bias: bias,
                            channels: cout, relu: relu, temp: temp)
                    }
                }
            }
            first += count
        }
    }

    /// Tiles per chunk of the private scheme: V + M of a chunk about 4 MB, at least 32 tiles;
    /// smaller when a layer has few tiles, so that every worker gets chunks. Independent of the
    /// thread count, so results are too.
    private func winogradTilesPerChunk(tiles: Int) -> Int {
        let floatsPerTile = 36 * (inputChannels + outputChannels)
        let wanted = max(32, tuning.chunkFloats / floatsPerTile)
        let spread = max(8, (tiles + 7) / 8)
        return max(1, min(wanted, spread, tiles))
    }

    /// Tiles per block: as many as fit a ~16 MB V + M (L3), at least 64 (for efficient GEMMs),
    /// never more than there are; independent of the thread count, so results are too.
    private func winogradTilesPerBlock(tiles: Int) -> Int {
        let floatsPerTile = 36 * (inputChannels + outputChannels)
        let fitting = max(tuning.minimumBlockTiles, tuning.blockFloats / floatsPerTile)
        // Equal blocks rather than a full ones and a small remainder.
        let blocks = (tiles + fitting - 1) / fitting
        return max(1, (tiles + blocks - 1) / blocks)
    }
}

/// The 6×6 input patch (rows y0..<y0+6, columns x0..<x0+6, y0 = 4·tileRow − 1) of Winograd
/// tile `tile` of `input` `[N, H, W, C]`: a pointer into the frame with its row stride when the
/// patch lies inside it, else `stage` (`[6, 6, C]`), zero-padded and filled here.
@inline(__always) private func winogradInputPatch(
    tile: Int, input: UnsafePointer<Float>, height: Int, width: Int, channels cin: Int,
    tilesX: Int, tilesPerFrame: Int, stage: UnsafeMutablePointer<Float>
) -> (source: UnsafePointer<Float>, rowStride: Int) {
    let n = tile / tilesPerFrame, r = tile % tilesPerFrame
    let y0 = (r / tilesX) &* 4 &- 1, x0 = (r % tilesX) &* 4 &- 1
    let frame = input + n &* height &* width &* cin
    if y0 >= 0, y0 &+ 6 <= height, x0 >= 0, x0 &+ 6 <= width {
        return (frame + (y0 &* width &+ x0) &* cin, width &* cin)
    }
    stage.update(repeating: 0, count: 36 &* cin)
    for i in 0..<6 where y0 &+ i >= 0 && y0 &+ i < height {
        for j in 0..<6 where x0 &+ j >= 0 && x0 &+ j < width {
            (stage + (i &* 6 &+ j) &* cin).update(from: frame + ((y0 &+ i) &* width &+ x0 &+ j) &* cin, count: cin)
        }
    }
    return (UnsafePointer(stage), 6 &* cin)
}

@inline(__always) private func roundUp16(_ n: Int) -> Int { (n + 15) & ~15 }

/// Distance between the 36 transform planes: at least `n` floats and an odd multiple of 64
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
