// shapes: input [B, T, H, W, Cin], output [B, To, Ho, Wo, Cout], kernel [kt, kh, kw, Cin, Cout],
// bias [Cout]; channels last, row-major. im2col columns: [rows, kt·kh·kw·Cin], one row per
// output position, taps in kernel order so that the kernel is already the [patch, Cout] matrix.
//
// Longer than our usual 400 lines on purpose: forward, both backward passes and the two lowerings
// they share (im2col and output taps) index the same buffers, and are read side by side.
import Dispatch
import JAMCore
import JAMTensor

/// Sizes of one 3D convolution: stride 1, kernel `kt×kh×kw`, temporal and spatial padding
/// chosen separately. `kernelTime = 1` is a per-frame 2D convolution.
public struct Conv3DGeometry: Sendable, Hashable, Codable {
    public var batch: Int
    public var time: Int
    public var height: Int
    public var width: Int
    public var inputChannels: Int
    public var outputChannels: Int
    public var kernelTime: Int
    public var kernelHeight: Int
    public var kernelWidth: Int
    public var temporalPadding: ConvPadding
    public var spatialPadding: ConvPadding

    public init(
        batch: Int, time: Int, height: Int, width: Int,
        inputChannels: Int, outputChannels: Int,
        kernelTime: Int = 3, kernelHeight: Int = 3, kernelWidth: Int = 3,
        temporalPadding: ConvPadding = .same, spatialPadding: ConvPadding = .same
    ) {
        precondition(batch > 0 && time > 0 && height > 0 && width > 0,
                     "Conv3D: empty input \(batch)×\(time)×\(height)×\(width)")
        precondition(inputChannels > 0 && outputChannels > 0 && kernelTime > 0 && kernelHeight > 0 && kernelWidth > 0,
                     "Conv3D: channels and kernel sizes must be positive")
        self.batch = batch
        self.time = time
        self.height = height
        self.width = width
        self.inputChannels = inputChannels
        self.outputChannels = outputChannels
        self.kernelTime = kernelTime
        self.kernelHeight = kernelHeight
        self.kernelWidth = kernelWidth
        self.temporalPadding = temporalPadding
        self.spatialPadding = spatialPadding
        precondition(outputTime > 0 && outputHeight > 0 && outputWidth > 0,
                     "Conv3D: input \(time)×\(height)×\(width) is smaller than the valid kernel \(kernelTime)×\(kernelHeight)×\(kernelWidth)")
    }

    /// Output length of an axis of length `n` under kernel `k` and `padding`.
    public static func outputLength(_ n: Int, kernel k: Int, padding: ConvPadding) -> Int {
        padding == .same ? n : n - k + 1
    }

    /// Zeros in front of an axis: `(k−1)/2` for "same", 0 for "valid".
    public static func padBefore(kernel k: Int, padding: ConvPadding) -> Int {
        padding == .same ? (k - 1) / 2 : 0
    }

    /// Zeros in front of each axis (`padBefore` of time, height and width).
    public var padsBefore: (time: Int, height: Int, width: Int) {
        (Self.padBefore(kernel: kernelTime, padding: temporalPadding),
         Self.padBefore(kernel: kernelHeight, padding: spatialPadding),
         Self.padBefore(kernel: kernelWidth, padding: spatialPadding))
    }

    public var outputTime: Int { Self.outputLength(time, kernel: kernelTime, padding: temporalPadding) }
    public var outputHeight: Int { Self.outputLength(height, kernel: kernelHeight, padding: spatialPadding) }
    public var outputWidth: Int { Self.outputLength(width, kernel: kernelWidth, padding: spatialPadding) }
    /// `B·T·H·W·Cin`.
    public var inputCount: Int { batch * time * height * width * inputChannels }
    /// `B·To·Ho·Wo·Cout`.
    public var outputCount: Int { outputPositions * outputChannels }
    /// `B·To·Ho·Wo`: the rows of the im2col matrix.
    public var outputPositions: Int { batch * outputTime * outputHeight * outputWidth }
    /// `kt·kh·kw·Cin`: the columns of the im2col matrix.
    public var patchLength: Int { kernelTime * kernelHeight * kernelWidth * inputChannels }
    /// `kt·kh·kw·Cin·Cout`.
    public var kernelCount: Int { patchLength * outputChannels }
    /// The kernel's shape `[kt, kh, kw, Cin, Cout]`.
    public var kernelShape: [Int] { [kernelTime, kernelHeight, kernelWidth, inputChannels, outputChannels] }

    /// These sizes as `WinogradConv3D` takes them (`Conv3D.Method.winograd`); the spatial kernel
    /// must be 3×3.
    public var winogradSizes: WinogradConv3DSizes {
        precondition(kernelHeight == 3 && kernelWidth == 3,
                     "Conv3D: .winograd needs a 3×3 spatial kernel, not \(kernelHeight)×\(kernelWidth); use .automatic or .im2col")
        let pads = padsBefore
        return WinogradConv3DSizes(
            batch: batch, time: time, height: height, width: width,
            inputChannels: inputChannels, outputChannels: outputChannels, kernelTime: kernelTime,
            outputTime: outputTime, outputHeight: outputHeight, outputWidth: outputWidth,
            padTime: pads.time, padHeight: pads.height, padWidth: pads.width)
    }
}

/// 3D convolution (cross-correlation, stride 1) over clips, channels last `[B, T, H, W, C]`,
/// lowered to sgemm: im2col over bounded chunks of output positions, output taps, or Winograd
/// F(4×4, 3×3) per temporal tap (`Method`; the Winograd kernels are in JAMTensor's
/// WinogradConv3D.swift).
public enum Conv3D {
    /// Default bound on one im2col chunk: 4 Mi floats (16 MiB), enough rows for sgemm to run
    /// at full speed while the chunk stays in a bounded, reusable buffer.
    public static let defaultColumnFloats = 1 << 22

    /// How a convolution is lowered to sgemm.
    public enum Method: String, Sendable, CaseIterable {
        /// `.winograd` where it was measured faster, else as `.direct`; see `resolvedMethod`.
        case automatic
        /// The direct convolution: `.outputTaps` where it does the same GEMM work on less memory,
        /// else `.im2col` (what `.automatic` chose before `.winograd` existed).
        case direct
        /// Copy each output position's receptive field into a row (`[rows, kt·kh·kw·Cin]`, in
        /// bounded chunks) and multiply by the kernel.
        case im2col
        /// Multiply every input position by every tap's kernel slice at once
        /// (`Y[B·T·H·W, taps·Cout] = X · W`), then add the taps' products into each output
        /// position. Cheaper than im2col when `Cout < Cin` and padding is "same": the buffer
        /// holds `taps·Cout` floats per position instead of `taps·Cin`, and the GEMM is wide.
        case outputTaps
        /// Winograd F(4×4, 3×3) in space for each temporal tap, the taps summed in the transform
        /// domain (`WinogradConv3D`); needs 3×3 spatial kernels. About 3.4× fewer multiplies than
        /// the direct convolution on 22×22 or 11×11 outputs (4×, less the tiles' overhang);
        /// errors a few 1e-6 of the largest magnitude (1e-5 at 256 channels) instead of a few 1e-7.
        case winograd
    }

    /// The method `.automatic` and `.direct` stand for (others stand for themselves).
    ///
    /// `.direct`: `.outputTaps` when the tap products are smaller than the im2col matrix, cost at
    /// most 5% more GEMM work (valid padding computes products that no output uses), and fit in
    /// 128 MiB; else `.im2col`. `.automatic`: `.winograd` where `prefersWinograd`, else `.direct`'s.
    public static func resolvedMethod(_ method: Method, _ g: Conv3DGeometry) -> Method {
        switch method {
        case .automatic: return prefersWinograd(g) ? .winograd : resolvedMethod(.direct, g)
        case .direct: break
        case .im2col, .outputTaps, .winograd: return method
        }
        let inputPositions = g.batch * g.time * g.height * g.width
        let taps = g.kernelTime * g.kernelHeight * g.kernelWidth
        let fits = inputPositions * taps * g.outputChannels <= 1 << 25
        let work = 20 * inputPositions <= 21 * g.outputPositions
        return g.outputChannels < g.inputChannels && fits && work ? .outputTaps : .im2col
    }

    /// Whether `.automatic` takes `.winograd`: 3×3 spatial kernels with at least 256 input and
    /// output channels on outputs of at least 11×11, the paper's sizes, where it was measured
    /// clearly faster.
    ///
    /// Measured (`jam-bench c3d --per-conv`, 2 threads, forward + backward as in a training step,
    /// 2026-12-06 on the shared 2-core AMD EPYC, OpenBLAS Cooperlake kernels, three runs): the
    /// paper's conv1 (1×30×24×24×512 → 256, spatially valid) 0.17–0.30× im2col's time (388 vs
    /// 1275 ms when idle), its conv2 (11×11, 256 → 256, with dX) 0.20–0.37× (86 vs 233 ms). On the
    /// embedded default's narrow shapes (6×6 and 3×3, 32 channels out) the two were within noise
    /// of each other (0.59–1.22× for conv1, 0.71–0.92× for conv2): too little to give up the
    /// default's bit-identical results, so those keep the direct path.
    public static func prefersWinograd(_ g: Conv3DGeometry) -> Bool {
        g.kernelHeight == 3 && g.kernelWidth == 3 && min(g.inputChannels, g.outputChannels) >= 256
            && min(g.outputHeight, g.outputWidth) >= 11
    }

    /// `output = conv(input, kernel) + bias`.
    ///
    /// - Parameters:
    ///   - output: `[B, To, Ho, Wo, Cout]`, overwritten.
    ///   - input: `[B, T, H, W, Cin]`; backward needs it again (the layer saves nothing else).
    ///   - kernel: `[kt, kh, kw, Cin, Cout]`.
    ///   - bias: `[Cout]`.
    ///   - workspace: buffers kept between calls (nil: allocated for this call).
    public static func forward(
        output: UnsafeMutablePointer<Float>,
        input: UnsafePointer<Float>, kernel: UnsafePointer<Float>, bias: UnsafePointer<Float>,
        geometry g: Conv3DGeometry, maxColumnFloats: Int = defaultColumnFloats,
        method: Method = .automatic, workspace: Conv3DWorkspace? = nil
    ) {
        let ws = workspace ?? Conv3DWorkspace()
        let resolved = resolvedMethod(method, g)
        if resolved == .winograd {
            WinogradConv3D.forward(output: output, input: input, kernel: kernel, bias: bias, sizes: g.winogradSizes,
                                   threads: BLAS.threads, workspace: ws.winograd)
            return
        }
        if resolved == .outputTaps {
            outputTapsForward(output: output, input: input, kernel: kernel, bias: bias, g, ws)
            return
        }
        let cout = g.outputChannels
        let patch = g.patchLength
        let positions = g.outputPositions
        let rowsPerChunk = max(1, min(positions, maxColumnFloats / patch))
        let columns = ws.buffer(.columns, floats: rowsPerChunk * patch)
        var first = 0
        while first < positions {
            let rows = min(rowsPerChunk, positions - first)
            im2col(columns, input, firstRow: first, rows: rows, g)
            let out = output + first * cout
            for r in 0..<rows { (out + r &* cout).update(from: bias, count: cout) }
            BLAS.sgemm(out, ldc: cout, columns, lda: patch, kernel, ldb: cout,
                       m: rows, n: cout, k: patch, beta: 1)
            first += rows
        }
    }

    /// Accumulates the gradients of a convolution given dLoss/dOutput.
    ///
    /// - Parameters:
    ///   - inputGradient: `[B, T, H, W, Cin]`, accumulated; pass nil when the input needs no
    ///     gradient (the first layer), which skips the dX sgemm and col2im.
    ///   - kernelGradient: `[kt, kh, kw, Cin, Cout]`, accumulated.
    ///   - biasGradient: `[Cout]`, accumulated.
    ///   - outputGradient: `[B, To, Ho, Wo, Cout]`.
    ///   - input: `[B, T, H, W, Cin]`, as given to `forward`.
    ///   - kernel: `[kt, kh, kw, Cin, Cout]`.
    ///   - workspace: buffers kept between calls (nil: allocated for this call).
    public static func backward(
        inputGradient: UnsafeMutablePointer<Float>?,
        kernelGradient: UnsafeMutablePointer<Float>, biasGradient: UnsafeMutablePointer<Float>,
        outputGradient: UnsafePointer<Float>,
        input: UnsafePointer<Float>, kernel: UnsafePointer<Float>,
        geometry g: Conv3DGeometry, maxColumnFloats: Int = defaultColumnFloats,
        method: Method = .automatic, workspace: Conv3DWorkspace? = nil
    ) {
        let ws = workspace ?? Conv3DWorkspace()
        let cout = g.outputChannels
        let patch = g.patchLength
        let positions = g.outputPositions
        // Bias gradient: sum dOut over all positions, in Double per channel for long sums.
        var biasSum = [Double](repeating: 0, count: cout)
        for p in 0..<positions {
            let row = outputGradient + p &* cout
            for c in 0..<cout { biasSum[c] += Double(row[c]) }
        }
        for c in 0..<cout { biasGradient[c] += Float(biasSum[c]) }
        let resolved = resolvedMethod(method, g)
        if resolved == .winograd {
            let sizes = g.winogradSizes
            if let inputGradient {
                WinogradConv3D.inputGradient(inputGradient, outputGradient: outputGradient, kernel: kernel, sizes: sizes,
                                             threads: BLAS.threads, workspace: ws.winograd)
            }
            WinogradConv3D.kernelGradient(kernelGradient, outputGradient: outputGradient, input: input, sizes: sizes,
                                          threads: BLAS.threads, workspace: ws.winograd)
            return
        }
        if resolved == .outputTaps {
            outputTapsBackward(inputGradient: inputGradient, kernelGradient: kernelGradient,
                               outputGradient: outputGradient, input: input, kernel: kernel, g, ws)
            return
        }

        let rowsPerChunk = max(1, min(positions, maxColumnFloats / patch))
        let columns = ws.buffer(.columns, floats: rowsPerChunk * patch)
        var first = 0
        while first < positions {
            let rows = min(rowsPerChunk, positions - first)
            let dOut = outputGradient + first * cout
            im2col(columns, input, firstRow: first, rows: rows, g)
            // dW[patch, Cout] += colᵀ[patch, rows] · dOut[rows, Cout]
            BLAS.sgemm(kernelGradient, ldc: cout, columns, lda: patch, transposeA: true, dOut, ldb: cout,
                       m: patch, n: cout, k: rows, beta: 1)
            if let inputGradient {
                // dCol[rows, patch] = dOut[rows, Cout] · Wᵀ[Cout, patch], then scatter-add.
                BLAS.sgemm(columns, ldc: patch, dOut, lda: cout, kernel, ldb: cout, transposeB: true,
                           m: rows, n: patch, k: cout)
                col2imAdd(inputGradient, columns, firstRow: first, rows: rows, g)
            }
            first += rows
        }
    }

    // MARK: Output taps

    /// `panel[Cin, taps·Cout]` from `kernel[taps, Cin, Cout]`: the taps side by side.
    private static func tapPanel(_ panel: UnsafeMutablePointer<Float>, _ kernel: UnsafePointer<Float>, _ g: Conv3DGeometry) {
        let (cin, cout) = (g.inputChannels, g.outputChannels)
        let taps = g.kernelTime * g.kernelHeight * g.kernelWidth
        let width = taps &* cout
        for tap in 0..<taps {
            for c in 0..<cin {
                let source: Int = (tap &* cin &+ c) &* cout
                let target: Int = c &* width &+ tap &* cout
                (panel + target).update(from: kernel + source, count: cout)
            }
        }
    }

    /// Forward by output taps: `Y[B·T·H·W, taps·Cout] = X · panel`, then
    /// `output[q] = bias + Σ_tap Y[input position of q under tap, tap]` in tap order.
    private static func outputTapsForward(
        output: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, kernel: UnsafePointer<Float>,
        bias: UnsafePointer<Float>, _ g: Conv3DGeometry, _ ws: Conv3DWorkspace
    ) {
        let (T, H, W, cin, cout) = (g.time, g.height, g.width, g.inputChannels, g.outputChannels)
        let (kt, kh, kw) = (g.kernelTime, g.kernelHeight, g.kernelWidth)
        let (To, Ho, Wo) = (g.outputTime, g.outputHeight, g.outputWidth)
        let (pt, ph, pw) = g.padsBefore
        let width = kt * kh * kw * cout
        let inputPositions = g.batch * T * H * W
        let panel = ws.buffer(.panel, floats: cin * width)
        tapPanel(panel, kernel, g)
        let products = ws.buffer(.taps, floats: inputPositions * width)
        BLAS.sgemm(products, ldc: width, input, lda: cin, panel, ldb: width,
                   m: inputPositions, n: width, k: cin)
        let y = UncheckedSendable(UnsafePointer(products))
        let out = UncheckedSendable(output)
        let positions = g.outputPositions
        let chunks = min(positions, 64)
        parallelFor(chunkCount: chunks, threads: BLAS.threads) { chunk, _ in
            for q in (positions * chunk / chunks)..<(positions * (chunk + 1) / chunks) {
                var p = q
                let wo = p % Wo; p /= Wo
                let ho = p % Ho; p /= Ho
                let to = p % To
                let b = p / To
                let dst = out.value + q &* cout
                dst.update(from: bias, count: cout)
                for dt in 0..<kt {
                    let ti = to &+ dt &- pt
                    if ti < 0 || ti >= T { continue }
                    for dh in 0..<kh {
                        let hi = ho &+ dh &- ph
                        if hi < 0 || hi >= H { continue }
                        for dw in 0..<kw {
                            let wi = wo &+ dw &- pw
                            if wi < 0 || wi >= W { continue }
                            let pixel: Int = ((b &* T &+ ti) &* H &+ hi) &* W &+ wi
                            let tap: Int = (dt &* kh &+ dh) &* kw &+ dw
                            let src = y.value + (pixel &* width &+ tap &* cout)
                            for o in 0..<cout { dst[o] += src[o] }
                        }
                    }
                }
            }
        }
    }

    /// Backward by output taps: `dY[p, tap] = dOut[output position that reads p under tap]`
    /// (0 where none does), then `dPanel = Xᵀ · dY` (added into the kernel gradient tap by tap)
    /// and `dX += dY · panelᵀ`.
    private static func outputTapsBackward(
        inputGradient: UnsafeMutablePointer<Float>?, kernelGradient: UnsafeMutablePointer<Float>,
        outputGradient: UnsafePointer<Float>, input: UnsafePointer<Float>, kernel: UnsafePointer<Float>,
        _ g: Conv3DGeometry, _ ws: Conv3DWorkspace
    ) {
        let (T, H, W, cin, cout) = (g.time, g.height, g.width, g.inputChannels, g.outputChannels)
        let (kt, kh, kw) = (g.kernelTime, g.kernelHeight, g.kernelWidth)
        let (To, Ho, Wo) = (g.outputTime, g.outputHeight, g.outputWidth)
        let (pt, ph, pw) = g.padsBefore
        let taps = kt * kh * kw
        let width = taps * cout
        let inputPositions = g.batch * T * H * W
        let products = ws.buffer(.taps, floats: inputPositions * width)
        let dy = UncheckedSendable(products)
        let dOut = UncheckedSendable(outputGradient)
        let chunks = min(inputPositions, 64)
        parallelFor(chunkCount: chunks, threads: BLAS.threads) { chunk, _ in
            for p in (inputPositions * chunk / chunks)..<(inputPositions * (chunk + 1) / chunks) {
                var r = p
                let wi = r % W; r /= W
                let hi = r % H; r /= H
                let ti = r % T
                let b = r / T
                var dst = dy.value + p &* width
                for dt in 0..<kt {
                    let to = ti &- dt &+ pt
                    for dh in 0..<kh {
                        let ho = hi &- dh &+ ph
                        for dw in 0..<kw {
                            let wo = wi &- dw &+ pw
                            if to < 0 || to >= To || ho < 0 || ho >= Ho || wo < 0 || wo >= Wo {
                                dst.update(repeating: 0, count: cout)
                            } else {
                                let q: Int = ((b &* To &+ to) &* Ho &+ ho) &* Wo &+ wo
                                dst.update(from: dOut.value + q &* cout, count: cout)
                            }
                            dst += cout
                        }
                    }
                }
            }
        }
        let panelGradient = ws.buffer(.panel, floats: cin * width)
        BLAS.sgemm(panelGradient, ldc: width, input, lda: cin, transposeA: true, products, ldb: width,
                   m: cin, n: width, k: inputPositions)
        for tap in 0..<taps {
            for c in 0..<cin {
                let src = panelGradient + (c &* width &+ tap &* cout)
                let dst = kernelGradient + (tap &* cin &+ c) &* cout
                for o in 0..<cout { dst[o] += src[o] }
            }
        }
        if let inputGradient {
            tapPanel(panelGradient, kernel, g)
            BLAS.sgemm(inputGradient, ldc: cin, products, lda: width, panelGradient, ldb: width, transposeB: true,
                       m: inputPositions, n: cin, k: width, beta: 1)
        }
    }

    // MARK: im2col

    /// Fills `columns[rows, patch]` with the receptive fields of output positions
    /// `firstRow ..< firstRow + rows` (zeros where the field hangs over the padding).
    static func im2col(
        _ columns: UnsafeMutablePointer<Float>, _ input: UnsafePointer<Float>,
        firstRow: Int, rows: Int, _ g: Conv3DGeometry
    ) {
        let patch = g.patchLength
        // Split the copy over cores when the chunk is large; rows are independent.
        let work = rows * patch
        let parts = work >= 1 << 18 ? min(rows, 2) : 1
        if parts == 1 {
            im2colRows(columns, input, firstRow: firstRow, rowRange: 0..<rows, g)
            return
        }
        let box = UnsafeSendablePointer(columns)
        let inputBox = UnsafeSendablePointer(input)
        DispatchQueue.concurrentPerform(iterations: parts) { part in
            let lo = rows * part / parts
            let hi = rows * (part + 1) / parts
            im2colRows(box.pointer, inputBox.pointer, firstRow: firstRow, rowRange: lo..<hi, g)
        }
    }

    private static func im2colRows(
        _ columns: UnsafeMutablePointer<Float>, _ input: UnsafePointer<Float>,
        firstRow: Int, rowRange: Range<Int>, _ g: Conv3DGeometry
    ) {
        let (T, H, W, C) = (g.time, g.height, g.width, g.inputChannels)
        let (kt, kh, kw) = (g.kernelTime, g.kernelHeight, g.kernelWidth)
        let (To, Ho, Wo) = (g.outputTime, g.outputHeight, g.outputWidth)
        let (pt, ph, pw) = g.padsBefore
        let patch = g.patchLength
        let tapRow = kw &* C  // one (dt, dh) tap row: kw pixels × C channels, contiguous in the input
        for r in rowRange {
            var p = firstRow &+ r
            let wo = p % Wo; p /= Wo
            let ho = p % Ho; p /= Ho
            let to = p % To
            let b = p / To
            var dst = columns + r &* patch
            let wi0 = wo &- pw
            let dwLo = max(0, -wi0)
            let dwHi = min(kw, W &- wi0)
            for dt in 0..<kt {
                let ti = to &+ dt &- pt
                if ti < 0 || ti >= T {
                    dst.update(repeating: 0, count: kh &* tapRow)
                    dst += kh &* tapRow
                    continue
                }
                for dh in 0..<kh {
                    let hi = ho &+ dh &- ph
                    if hi < 0 || hi >= H || dwHi <= dwLo {
                        dst.update(repeating: 0, count: tapRow)
                    } else {
                        if dwLo > 0 { dst.update(repeating: 0, count: dwLo &* C) }
                        let pixel: Int = ((b &* T &+ ti) &* H &+ hi) &* W &+ wi0 &+ dwLo
                        let src = input + pixel &* C
                        (dst + dwLo &* C).update(from: src, count: (dwHi &- dwLo) &* C)
                        if dwHi < kw { (dst + dwHi &* C).update(repeating: 0, count: (kw &- dwHi) &* C) }
                    }
                    dst += tapRow
                }
            }
        }
    }

    /// The adjoint of `im2col`: adds each column entry back onto the input element it was copied from.
    static func col2imAdd(
        _ inputGradient: UnsafeMutablePointer<Float>, _ columns: UnsafePointer<Float>,
        firstRow: Int, rows: Int, _ g: Conv3DGeometry
    ) {
        let (T, H, W, C) = (g.time, g.height, g.width, g.inputChannels)
        let (kt, kh, kw) = (g.kernelTime, g.kernelHeight, g.kernelWidth)
        let (To, Ho, Wo) = (g.outputTime, g.outputHeight, g.outputWidth)
        let (pt, ph, pw) = g.padsBefore
        let patch = g.patchLength
        let tapRow = kw &* C
        for r in 0..<rows {
            var p = firstRow &+ r
            let wo = p % Wo; p /= Wo
            let ho = p % Ho; p /= Ho
            let to = p % To
            let b = p / To
            let src = columns + r &* patch
            let wi0 = wo &- pw
            let dwLo = max(0, -wi0)
            let dwHi = min(kw, W &- wi0)
            if dwHi <= dwLo { continue }
            let span = (dwHi &- dwLo) &* C
            for dt in 0..<kt {
                let ti = to &+ dt &- pt
                if ti < 0 || ti >= T { continue }
                for dh in 0..<kh {
                    let hi = ho &+ dh &- ph
                    if hi < 0 || hi >= H { continue }
                    let pixel: Int = ((b &* T &+ ti) &* H &+ hi) &* W &+ wi0 &+ dwLo
                    let dst = inputGradient + pixel &* C
                    let tap: Int = (dt &* kh &+ dh) &* tapRow &+ dwLo &* C
                    let s = src + tap
                    for i in 0..<span { dst[i] += s[i] }
                }
            }
        }
    }
}

/// Buffers `Conv3D` reuses between calls (im2col chunks, tap products, kernel panels), grown on
/// demand; a layer that keeps one allocates nothing after its first step.
///
/// Not safe for two calls at once: give each concurrently running caller its own workspace.
public final class Conv3DWorkspace {
    enum Slot: Int, CaseIterable { case columns, taps, panel }
    private var pointers: [UnsafeMutablePointer<Float>?] = Array(repeating: nil, count: Slot.allCases.count)
    private var capacities = Array(repeating: 0, count: Slot.allCases.count)
    /// The Winograd method's transformed kernel, chunk and per-worker buffers.
    let winograd = ConvolutionWorkspace()

    public init() {}
    deinit { for pointer in pointers { pointer?.deallocate() } }

    /// At least `floats` floats for `slot`; earlier contents are not kept when it grows.
    func buffer(_ slot: Slot, floats: Int) -> UnsafeMutablePointer<Float> {
        let i = slot.rawValue
        if capacities[i] < floats || pointers[i] == nil {
            pointers[i]?.deallocate()
            pointers[i] = .allocate(capacity: max(1, floats))
            capacities[i] = max(1, floats)
        }
        return pointers[i]!
    }
}
