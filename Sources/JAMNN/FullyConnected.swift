// shapes: input [M, In], weight [In, Out], bias [Out], output [M, Out] (row-major).

import JAMTensor

/// Fully connected layer `output = input · weight + bias`, BLAS-backed.
public enum FullyConnected {
    /// - Parameters:
    ///   - output: `[M, Out]`, overwritten.
    ///   - input: `[M, In]`; backward needs it again.
    ///   - weight: `[In, Out]`.
    ///   - bias: `[Out]`.
    public static func forward(
        output: UnsafeMutablePointer<Float>,
        input: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
        rows m: Int, inputs: Int, outputs: Int
    ) {
        for r in 0..<m { (output + r &* outputs).update(from: bias, count: outputs) }
        BLAS.sgemm(output, ldc: outputs, input, lda: inputs, weight, ldb: outputs,
                   m: m, n: outputs, k: inputs, beta: 1)
    }

    /// Accumulates `dInput += dOut · Wᵀ` (when `inputGradient` is non-nil), `dW += Xᵀ · dOut`,
    /// `db += Σ_rows dOut`.
    ///
    /// - Parameters:
    ///   - inputGradient: `[M, In]` or nil.
    ///   - weightGradient: `[In, Out]`.
    ///   - biasGradient: `[Out]`.
    ///   - outputGradient: `[M, Out]`.
    ///   - input: `[M, In]`, as given to `forward`.
    ///   - weight: `[In, Out]`.
    public static func backward(
        inputGradient: UnsafeMutablePointer<Float>?,
        weightGradient: UnsafeMutablePointer<Float>, biasGradient: UnsafeMutablePointer<Float>,
        outputGradient: UnsafePointer<Float>,
        input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
        rows m: Int, inputs: Int, outputs: Int
    ) {
        if let inputGradient {
            BLAS.sgemm(inputGradient, ldc: inputs, outputGradient, lda: outputs, weight, ldb: outputs, transposeB: true,
                       m: m, n: inputs, k: outputs, beta: 1)
        }
        BLAS.sgemm(weightGradient, ldc: outputs, input, lda: inputs, transposeA: true, outputGradient, ldb: outputs,
                   m: inputs, n: outputs, k: m, beta: 1)
        for r in 0..<m {
            let g = outputGradient + r &* outputs
            for j in 0..<outputs { biasGradient[j] += g[j] }
        }
    }
}
