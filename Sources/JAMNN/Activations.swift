// shapes: elementwise over any buffer of `count` floats.

/// Rectified linear unit, `max(0, x)`, elementwise.
public enum ReLU {
    /// `output = max(0, input)`; `output` may be `input` (in place). Backward needs only `output`.
    public static func forward(output: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, count: Int) {
        for i in 0..<count { output[i] = max(0, input[i]) }
    }

    /// `inputGradient += outputGradient` where the output was positive.
    ///
    /// The mask comes from the saved output: `output > 0` exactly where `input > 0`, so the
    /// pre-activation need not be kept. At `input = 0` the subgradient 0 is used.
    public static func backward(
        inputGradient: UnsafeMutablePointer<Float>,
        outputGradient: UnsafePointer<Float>, output: UnsafePointer<Float>, count: Int
    ) {
        for i in 0..<count where output[i] > 0 { inputGradient[i] += outputGradient[i] }
    }
}
