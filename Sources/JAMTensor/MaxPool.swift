// shapes: input [N, H, W, C] → output [N, H/2, W/2, C] (floor: an odd last row or column is
// dropped, as Keras's MaxPooling2D with "valid" padding); float32, channels last.

/// 2×2, stride-2 max-pooling: `out[n, y, x, c] = max over in[n, 2y..2y+1, 2x..2x+1, c]`.
///
/// - Parameters:
///   - output: `[batch, height/2, width/2, channels]`; must not overlap `input`.
///   - input: `[batch, height, width, channels]`.
///   - threads: workers (output rows are split among them; results do not depend on it).
public func maxPool2x2(
    output: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>,
    batch: Int, height: Int, width: Int, channels: Int, threads: Int = 1
) {
    let oh = height / 2, ow = width / 2
    let rows = batch * oh
    guard rows > 0, ow > 0, channels > 0 else { return }
    let rowsPerChunk = max(1, (64 * 1024) / max(1, ow * channels))
    let chunkCount = (rows + rowsPerChunk - 1) / rowsPerChunk
    parallelFor(chunkCount: chunkCount, threads: threads) { chunk, _ in
        for row in (chunk * rowsPerChunk)..<min(rows, (chunk + 1) * rowsPerChunk) {
            let n = row / oh, y = row % oh
            let top = input + ((n &* height &+ 2 &* y) &* width) &* channels
            let bottom = top + width &* channels
            let out = output + row &* ow &* channels
            for x in 0..<ow {
                let a = top + 2 &* x &* channels, b = bottom + 2 &* x &* channels
                let o = out + x &* channels
                for c in 0..<channels {
                    o[c] = max(max(a[c], a[c &+ channels]), max(b[c], b[c &+ channels]))
                }
            }
        }
    }
}

/// `maxPool2x2` on arrays: returns `[batch, height/2, width/2, channels]`.
public func maxPool2x2(_ input: [Float], batch: Int, height: Int, width: Int, channels: Int,
                       threads: Int = 1) -> [Float] {
    precondition(input.count == batch * height * width * channels,
                 "maxPool2x2: input has \(input.count) values, expected [\(batch), \(height), \(width), \(channels)]")
    var output = [Float](repeating: 0, count: batch * (height / 2) * (width / 2) * channels)
    output.withUnsafeMutableBufferPointer { o in
        input.withUnsafeBufferPointer { i in
            guard let o = o.baseAddress, let i = i.baseAddress else { return }
            maxPool2x2(output: o, input: i, batch: batch, height: height, width: width,
                       channels: channels, threads: threads)
        }
    }
    return output
}
