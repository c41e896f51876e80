// shapes: logits [M, C], probabilities [M, C], labels [M] (class indices 0..<C); M = B·T rows,
// one per clip and time step, so the loss is the per-step cross-entropy summed over t (and clips).
import Foundation
import JAMCore

/// Softmax followed by cross-entropy against integer labels, one row per time step.
public enum SoftmaxCrossEntropy {
    /// Writes the softmax probabilities and returns `Σ_rows −log p[row, label]`.
    ///
    /// The max logit of each row is subtracted before `exp` so that large logits cannot
    /// overflow; the loss uses `logΣexp(z − max) − (z_label − max)`, which stays finite even
    /// when `p[label]` underflows to 0.
    ///
    /// - Parameters:
    ///   - probabilities: `[M, C]`, overwritten; backward needs them.
    ///   - logits: `[M, C]`.
    ///   - labels: `[M]`, each in `0..<C`.
    public static func forward(
        probabilities: UnsafeMutablePointer<Float>,
        logits: UnsafePointer<Float>, labels: UnsafePointer<Int32>,
        rows: Int, classes: Int
    ) -> Double {
        softmax(probabilities: probabilities, logits: logits, rows: rows, classes: classes)
        var total = 0.0
        for r in 0..<rows {
            let z = logits + r &* classes
            let label = Int(labels[r])
            precondition(label >= 0 && label < classes, "SoftmaxCrossEntropy: label \(label) outside 0..<\(classes)")
            var zMax = z[0]
            var sum: Float = 0
            for j in 1..<max(classes, 1) { zMax = max(zMax, z[j]) }
            for j in 0..<classes { sum += exp(z[j] - zMax) }
            total += Double(log(sum)) - Double(z[label] - zMax)
        }
        return total
    }

    /// Row-wise softmax `p = exp(z − max z) / Σ exp(z − max z)` (`softmaxRow` per row).
    ///
    /// - Parameters:
    ///   - probabilities: `[M, C]`, overwritten.
    ///   - logits: `[M, C]`.
    public static func softmax(
        probabilities: UnsafeMutablePointer<Float>, logits: UnsafePointer<Float>, rows: Int, classes: Int
    ) {
        for r in 0..<rows { softmaxRow(probabilities + r &* classes, logits + r &* classes, count: classes) }
    }

    /// `output = softmax(input)` over `count` entries; the maximum is subtracted before exp so that
    /// large scores cannot overflow.
    @inline(__always)
    public static func softmaxRow(_ output: UnsafeMutablePointer<Float>, _ input: UnsafePointer<Float>, count: Int) {
        var maxValue = input[0]
        for j in 1..<count { maxValue = max(maxValue, input[j]) }
        var sum: Float = 0
        for j in 0..<count {
            let e = expf(input[j] - maxValue)
            output[j] = e
            sum += e
        }
        let inverse = 1 / sum
        for j in 0..<count { output[j] *= inverse }
    }

    /// `logitsGradient += scale · (p − onehot(label))`, the gradient of `scale · loss`.
    ///
    /// - Parameters:
    ///   - logitsGradient: `[M, C]`, accumulated.
    ///   - probabilities: `[M, C]` from `forward`.
    ///   - labels: `[M]`.
    public static func backward(
        logitsGradient: UnsafeMutablePointer<Float>,
        probabilities: UnsafePointer<Float>, labels: UnsafePointer<Int32>,
        scale: Float, rows: Int, classes: Int
    ) {
        for r in 0..<rows {
            let g = logitsGradient + r &* classes
            let p = probabilities + r &* classes
            for j in 0..<classes { g[j] += scale * p[j] }
            g[Int(labels[r])] -= scale
        }
    }

    /// The index of the largest value of each row of `[M, C]` (first on ties), e.g. predictions.
    public static func argmaxRows(_ values: UnsafePointer<Float>, rows: Int, classes: Int) -> [Int] {
        (0..<rows).map { r in argmax(UnsafeBufferPointer(start: values + r &* classes, count: classes)) }
    }
}
