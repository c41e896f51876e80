// shapes: input [B, T, H, W, Cin], output [B, To, Ho, Wo, Cout], kernel [kt, kh, kw, Cin, Cout],
// bias [Cout]; channels last, row-major. im2col columns: [rows, kt·kh·kw·Cin], one row per
// output position, taps in kernel order so that the kernel is already the [patch, Cout] matrix.
import Dispatch

/// How one convolution axis is padded (stride is always 1).
public enum ConvPadding: String, Sendable, Hashable, Codable {
    /// Zero padding that keeps the size: `(k−1)/2` before, the rest after.
    case same
    /// No padding: the output is `n − k + 1` long.
    case valid
}

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
}

/// 3D convolution (cross-correlation, stride 1) over clips, channels last `[B, T, H, W, C]`,
/// as im2col over bounded chunks of output positions followed by one sgemm per chunk.
public enum Conv3D {
    /// Default bound on one im2col chunk: 4 Mi floats (16 MiB), enough rows for sgemm to run
    /// at full speed while the chunk stays in a bounded, reusable buffer.
    public static let defaultColumnFloats = 1 << 22

    /// `output = conv(input, kernel) + bias`.
    ///
    /// - Parameters:
    ///   - output: `[B, To, Ho, Wo, Cout]`, overwritten.
    ///   - input: `[B, T, H, W, Cin]`; backward needs it again (the layer saves nothing else).
    ///   - kernel: `[kt, kh, kw, Cin, Cout]`.
    ///   - bias: `[Cout]`.
    public static func forward(
        output: UnsafeMutablePointer<Float>,
        input: UnsafePointer<Float>, kernel: UnsafePointer<Float>, bias: UnsafePointer<Float>,
        geometry g: Conv3DGeometry, maxColumnFloats: Int = defaultColumnFloats
    ) {
        let cout = g.outputChannels
        let patch = g.patchLength
        let positions = g.outputPositions
        let rowsPerChunk = max(1, min(positions, maxColumnFloats / patch))
        let columns = UnsafeMutablePointer<Float>.allocate(capacity: rowsPerChunk * patch)
        defer { columns.deallocate() }
        var first = 0
        while first < positions {
            let rows = min(rowsPerChunk, positions - first)
            im2col(columns, input, firstRow: first, rows: rows, g)
            let out = output + first * cout
            for r in 0..<rows { (out + r &* cout).update(from: bias, count: cout) }
            rowMajorSgemm(out, columns, kernel, m: rows, n: cout, k: patch, beta: 1)
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
    public static func backward(
        inputGradient: UnsafeMutablePointer<Float>?,
        kernelGradient: UnsafeMutablePointer<Float>, biasGradient: UnsafeMutablePointer<Float>,
        outputGradient: UnsafePointer<Float>,
        input: UnsafePointer<Float>, kernel: UnsafePointer<Float>,
        geometry g: Conv3DGeometry, maxColumnFloats: Int = defaultColumnFloats
    ) {
        let cout = g.outputChannels
        let patch = g.patchLength
        let positions = g.outputPositions
        let rowsPerChunk = max(1, min(positions, maxColumnFloats / patch))
        let columns = UnsafeMutablePointer<Float>.allocate(capacity: rowsPerChunk * patch)
        defer { columns.deallocate() }
        // Bias gradient: sum dOut over all positions, in Double per channel for long sums.
        var biasSum = [Double](repeating: 0, count: cout)
        for p in 0..<positions {
            let row = outputGradient + p &* cout
            for c in 0..<cout { biasSum[c] += Double(row[c]) }
        }
        for c in 0..<cout { biasGradient[c] += Float(biasSum[c]) }

        var first = 0
        while first < positions {
            let rows = min(rowsPerChunk, positions - first)
            let dOut = outputGradient + first * cout
            im2col(columns, input, firstRow: first, rows: rows, g)
            // dW[patch, Cout] += colᵀ[patch, rows] · dOut[rows, Cout]
            rowMajorSgemm(kernelGradient, columns, dOut, m: patch, n: cout, k: rows,
                          transposeA: true, beta: 1)
            if let inputGradient {
                // dCol[rows, patch] = dOut[rows, Cout] · Wᵀ[Cout, patch], then scatter-add.
                rowMajorSgemm(columns, dOut, kernel, m: rows, n: patch, k: cout, transposeB: true)
                col2imAdd(inputGradient, columns, firstRow: first, rows: rows, g)
            }
            first += rows
        }
    }

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
        let pt = Conv3DGeometry.padBefore(kernel: kt, padding: g.temporalPadding)
        let ph = Conv3DGeometry.padBefore(kernel: kh, padding: g.spatialPadding)
        let pw = Conv3DGeometry.padBefore(kernel: kw, padding: g.spatialPadding)
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
        let pt = Conv3DGeometry.padBefore(kernel: kt, padding: g.temporalPadding)
        let ph = Conv3DGeometry.padBefore(kernel: kh, padding: g.spatialPadding)
        let pw = Conv3DGeometry.padBefore(kernel: kw, padding: g.spatialPadding)
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
