// shapes: clips x [B, T, H, W, Cin] (a VGG tap per frame, channels last);
// conv1 out a1 [B, T1, H1, W1, W1c]; pooled p1 [B, T1, H1/2, W1/2, W1c];
// cube a2 [B, T2, Kh, Kw, W2c]; S = B·T2 supervised steps, L = Kh·Kw locations;
// head: mean m [S, W2c] → fc1 h [S, hidden] → fc2 z [S, classes] → softmax p [S, classes];
// labels [B] (one class per clip, repeated at every step); attention targets [B, T2, L].
import JAMConfig
import JAMCore
import JAMNN
import JAMTensor

/// Every intermediate size of a branch for one input size: the one place that derives the
/// cube's geometry from the `c3d` settings (24 → 22 → 11 → 11 at the paper's settings).
public struct ConvNet3DBranchGeometry: Sendable, Hashable {
    public var batch: Int
    public var conv1: Conv3DGeometry
    /// Whether the 2×2 pool runs; when not, the pooled sizes equal conv1's output.
    public var pooled: Bool
    public var pooledHeight: Int
    public var pooledWidth: Int
    public var conv2: Conv3DGeometry

    public init(settings s: C3DSettings, inputChannels: Int, batch: Int, time: Int, height: Int, width: Int) {
        self.batch = batch
        let k = (time: s.kernelTime, space: s.spatialKernel)
        conv1 = Conv3DGeometry(
            batch: batch, time: time, height: height, width: width,
            inputChannels: inputChannels, outputChannels: s.conv1Width,
            kernelTime: k.time, kernelHeight: k.space, kernelWidth: k.space,
            temporalPadding: s.conv1TemporalPadding, spatialPadding: s.conv1SpatialPadding)
        pooled = s.pool
        pooledHeight = pooled ? MaxPool2x2.outputLength(conv1.outputHeight) : conv1.outputHeight
        pooledWidth = pooled ? MaxPool2x2.outputLength(conv1.outputWidth) : conv1.outputWidth
        precondition(pooledHeight > 0 && pooledWidth > 0,
                     "ConvNet3DBranch: input \(height)×\(width) pools to nothing")
        conv2 = Conv3DGeometry(
            batch: batch, time: conv1.outputTime, height: pooledHeight, width: pooledWidth,
            inputChannels: s.conv1Width, outputChannels: s.conv2Width,
            kernelTime: k.time, kernelHeight: k.space, kernelWidth: k.space,
            temporalPadding: s.conv2TemporalPadding, spatialPadding: s.conv2SpatialPadding)
    }

    /// T2 for `frames` input frames (0 or less: too short for the temporal kernels), without
    /// building a geometry (which requires a valid size).
    public static func cubeTime(_ s: C3DSettings, frames: Int) -> Int {
        let conv1 = Conv3DGeometry.outputLength(frames, kernel: s.kernelTime, padding: s.conv1TemporalPadding)
        return Conv3DGeometry.outputLength(conv1, kernel: s.kernelTime, padding: s.conv2TemporalPadding)
    }

    /// Frames a clip or video loses at its front to temporally valid convolutions: cube step j
    /// is centred on input frame j + temporalOffset.
    public static func temporalOffset(_ s: C3DSettings) -> Int {
        [s.conv1TemporalPadding, s.conv2TemporalPadding].reduce(0) {
            $0 + (s.kernelTime - 1) / 2 - Conv3DGeometry.padBefore(kernel: s.kernelTime, padding: $1)
        }
    }

    /// Kh × Kw of the cube for maps of `height` × `width`, or nil when the maps are too small
    /// for the spatial kernels and pool.
    public static func cubeGrid(_ s: C3DSettings, height: Int, width: Int) -> (height: Int, width: Int)? {
        func side(_ n: Int) -> (conv1: Int, cube: Int) {
            let conv1 = Conv3DGeometry.outputLength(n, kernel: s.spatialKernel, padding: s.conv1SpatialPadding)
            let pooled = s.pool ? MaxPool2x2.outputLength(conv1) : conv1
            return (conv1, Conv3DGeometry.outputLength(pooled, kernel: s.spatialKernel, padding: s.conv2SpatialPadding))
        }
        let (h, w) = (side(height), side(width))
        // conv1 must leave something to pool.
        guard h.cube > 0, w.cube > 0, h.conv1 > 0, w.conv1 > 0 else { return nil }
        return (h.cube, w.cube)
    }

    /// T2: time steps of the cube (= T with temporal "same" padding).
    public var cubeTime: Int { conv2.outputTime }
    public var cubeHeight: Int { conv2.outputHeight }
    public var cubeWidth: Int { conv2.outputWidth }
    public var cubeChannels: Int { conv2.outputChannels }
    /// L = Kh·Kw, the attention locations.
    public var locations: Int { cubeHeight * cubeWidth }
    /// S = B·T2, the supervised steps.
    public var steps: Int { batch * cubeTime }
    /// Elements of the cube, `B·T2·Kh·Kw·N`.
    public var cubeCount: Int { conv2.outputCount }
    /// Elements of the pooled map `[B, T1, H1/2, W1/2, W1c]`.
    public var pooledCount: Int { batch * conv1.outputTime * pooledHeight * pooledWidth * conv1.outputChannels }
}

/// The parts of a branch's loss for one batch. CE and attention are means over the clips of
/// the batch (each clip's term summed over its time steps, as in the paper's per-video loss).
public struct ConvNet3DBranchLoss: Sendable, Hashable {
    /// `(1/B) Σ_b Σ_t −log p_{b,t}[label_b]`.
    public var crossEntropy: Float
    /// `(1/B) Σ_b λ Σ_t Σ_i (p_{b,t,i} − att_{b,t,i})²` (0 when λ = 0).
    public var attention: Float
    /// `ζ Σ θ²` over this branch's parameters.
    public var weightDecay: Float
    public var total: Float { crossEntropy + attention + weightDecay }
}

/// Loss parts and per-step predictions of one batch.
public struct ConvNet3DBranchBatchResult: Sendable, Hashable {
    public var loss: ConvNet3DBranchLoss
    /// Argmax class of the head at each step, `[B, T2]` flattened.
    public var predictions: [Int]
    /// T2.
    public var stepsPerClip: Int
}

/// One branch's 3D convnet with its deep-supervision head (docs/DESIGN.md §4, paper §3.2):
///
///     conv3d Cin→W1 (kt×3×3, temporally same, spatially valid) + ReLU → 2×2 max-pool
///     → conv3d W1→W2 (kt×3×3, same) + ReLU → cube [T, K, K, W2]
///     head per step: spatial mean → FC W2→hidden → ReLU → FC hidden→C → softmax CE, summed over t
///     loss = CE + λ·attention(cube, att) + ζ‖θ‖²
///
/// Parameters live in a `ParameterStore` under `<name>.conv1.kernel` `[kt, 3, 3, Cin, W1]`,
/// `<name>.conv1.bias` `[W1]`, `<name>.conv2.kernel` `[kt, 3, 3, W1, W2]`, `<name>.conv2.bias`
/// `[W2]`, `<name>.fc1.weight` `[W2, hidden]`, `<name>.fc1.bias` `[hidden]`, `<name>.fc2.weight`
/// `[hidden, C]`, `<name>.fc2.bias` `[C]`. Activations are kept in the object between forward
/// and backward, so one object serves one thread at a time.
public final class ConvNet3DBranch {
    /// The `c3d` section: widths, kernels, padding, pool, weight decay.
    public let settings: C3DSettings
    /// Cin: channels of the VGG tap fed in (512 for pool4 and conv5_3).
    public let inputChannels: Int
    /// C: classes of the deep-supervision head.
    public let classCount: Int
    /// λ of the attention-regularisation term in this round (`C3DSettings.attentionWeight(round:)`).
    public let attentionWeight: Float
    public let store: ParameterStore
    public let name: String
    public let conv1Kernel: ParameterView
    public let conv1Bias: ParameterView
    public let conv2Kernel: ParameterView
    public let conv2Bias: ParameterView
    public let fc1Weight: ParameterView
    public let fc1Bias: ParameterView
    public let fc2Weight: ParameterView
    public let fc2Bias: ParameterView
    /// How both convolutions are computed (`.automatic`: `Conv3D.resolvedMethod` picks per
    /// shape); benchmarks set it to compare the methods.
    public var convolutionMethod: Conv3D.Method = .automatic

    /// This branch's parameters, in registration order.
    public var parameterViews: [ParameterView] {
        [conv1Kernel, conv1Bias, conv2Kernel, conv2Bias, fc1Weight, fc1Bias, fc2Weight, fc2Bias]
    }

    private let scratch = BranchScratch()

    /// Registers the branch's parameters (zeros) in `store` under `name`; call `initialize(seed:)`
    /// for He-initialised weights, or load a checkpoint into the store.
    public init(settings: C3DSettings, inputChannels: Int, classCount: Int, attentionWeight: Float,
                store: ParameterStore, name: String = "branch0") {
        let s = settings
        self.settings = settings
        self.inputChannels = inputChannels
        self.classCount = classCount
        self.attentionWeight = attentionWeight
        self.store = store
        self.name = name
        let k = [s.kernelTime, s.spatialKernel, s.spatialKernel]
        conv1Kernel = store.add("\(name).conv1.kernel", shape: k + [inputChannels, s.conv1Width])
        conv1Bias = store.add("\(name).conv1.bias", shape: [s.conv1Width])
        conv2Kernel = store.add("\(name).conv2.kernel", shape: k + [s.conv1Width, s.conv2Width])
        conv2Bias = store.add("\(name).conv2.bias", shape: [s.conv2Width])
        fc1Weight = store.add("\(name).fc1.weight", shape: [s.conv2Width, s.hiddenWidth])
        fc1Bias = store.add("\(name).fc1.bias", shape: [s.hiddenWidth])
        fc2Weight = store.add("\(name).fc2.weight", shape: [s.hiddenWidth, classCount])
        fc2Bias = store.add("\(name).fc2.bias", shape: [classCount])
    }

    /// He-normal weights (fan-in = kt·kh·kw·Cin for kernels, In for matrices), zero biases,
    /// drawn from SplitMix64 seeded with `seed` in registration order.
    public func initialize(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        for (weight, bias) in [(conv1Kernel, conv1Bias), (conv2Kernel, conv2Bias), (fc1Weight, fc1Bias), (fc2Weight, fc2Bias)] {
            store.fillHeNormal(weight, fanIn: weight.shape.dropLast().reduce(1, *), using: &random)
            store.fill(bias, with: 0)
        }
    }

    public func geometry(batch: Int, time: Int, height: Int, width: Int) -> ConvNet3DBranchGeometry {
        ConvNet3DBranchGeometry(settings: settings, inputChannels: inputChannels, batch: batch, time: time, height: height, width: width)
    }

    /// Forward only: the cube (for export to the LSTM) and/or the head's per-step probabilities.
    ///
    /// - Parameters:
    ///   - cube: `[B, T2, Kh, Kw, W2]` (non-negative), or nil.
    ///   - probabilities: `[B, T2, classes]`, or nil.
    ///   - clips: `[B, T, H, W, Cin]`.
    public func forward(
        cube: UnsafeMutablePointer<Float>?, probabilities: UnsafeMutablePointer<Float>?,
        clips: UnsafePointer<Float>, batch: Int, time: Int, height: Int, width: Int
    ) {
        let g = geometry(batch: batch, time: time, height: height, width: width)
        scratch.reserve(g, hiddenWidth: settings.hiddenWidth, classes: classCount, training: false)
        store.values.withUnsafeBufferPointer { v in
            runTrunk(clips, g, v.baseAddress!)
            if let cube { cube.update(from: scratch.cube.pointer, count: g.cubeCount) }
            if let probabilities {
                runHead(g, v.baseAddress!)
                SoftmaxCrossEntropy.softmax(probabilities: probabilities, logits: scratch.logits.pointer,
                                            rows: g.steps, classes: classCount)
            }
        }
    }

    /// Forward and backward over one batch: returns the loss parts and per-step predictions, and
    /// ACCUMULATES all of this branch's gradients into `store.gradients` (zero them first).
    ///
    /// - Parameters:
    ///   - clips: `[B, T, H, W, Cin]`.
    ///   - labels: `[B]`, class of each clip, in `0..<classCount`.
    ///   - attentionTargets: `[B, T2, Kh·Kw]`, the previous LSTM round's attention; required
    ///     when λ ≠ 0, ignored when λ = 0.
    public func lossAndGradients(
        clips: UnsafePointer<Float>, labels: [Int], attentionTargets: UnsafePointer<Float>?,
        batch: Int, time: Int, height: Int, width: Int
    ) -> ConvNet3DBranchBatchResult {
        let s = settings
        let g = geometry(batch: batch, time: time, height: height, width: width)
        precondition(labels.count == batch, "ConvNet3DBranch: \(labels.count) labels for \(batch) clips")
        let useAttention = attentionWeight != 0
        precondition(!useAttention || attentionTargets != nil,
                     "ConvNet3DBranch: λ = \(attentionWeight) needs attention targets (run an LSTM round first)")
        scratch.reserve(g, hiddenWidth: s.hiddenWidth, classes: classCount, training: true)
        let sc = scratch
        let steps = g.steps
        let stepLabels = labels.flatMap { repeatElement(Int32($0), count: g.cubeTime) }
        let perClip = 1 / Float(batch)
        let locations = g.locations
        let n2 = g.cubeChannels
        var crossEntropy = 0.0
        var attention = 0.0

        store.values.withUnsafeBufferPointer { vBuffer in
            store.gradients.withUnsafeMutableBufferPointer { gBuffer in
                stepLabels.withUnsafeBufferPointer { labelBuffer in
                    let v = vBuffer.baseAddress!
                    let grad = gBuffer.baseAddress!
                    let labelPointer = labelBuffer.baseAddress!
                    runTrunk(clips, g, v)
                    runHead(g, v)
                    crossEntropy = SoftmaxCrossEntropy.forward(
                        probabilities: sc.probabilities.pointer, logits: sc.logits.pointer,
                        labels: labelPointer, rows: steps, classes: classCount)
                    if useAttention {
                        attention = CubeAttentionRegularizer.forward(
                            shares: sc.shares.pointer, totals: sc.totals.pointer,
                            cube: sc.cube.pointer, target: attentionTargets!, weight: attentionWeight * perClip,
                            steps: steps, locations: locations, channels: n2)
                    }

                    // Head, backward.
                    sc.logitsGradient.zero(steps * classCount)
                    SoftmaxCrossEntropy.backward(
                        logitsGradient: sc.logitsGradient.pointer, probabilities: sc.probabilities.pointer,
                        labels: labelPointer, scale: perClip, rows: steps, classes: classCount)
                    sc.hiddenGradient.zero(steps * s.hiddenWidth)
                    FullyConnected.backward(
                        inputGradient: sc.hiddenGradient.pointer,
                        weightGradient: grad + fc2Weight.offset, biasGradient: grad + fc2Bias.offset,
                        outputGradient: sc.logitsGradient.pointer, input: sc.hidden.pointer, weight: v + fc2Weight.offset,
                        rows: steps, inputs: s.hiddenWidth, outputs: classCount)
                    sc.hiddenPreGradient.zero(steps * s.hiddenWidth)
                    ReLU.backward(inputGradient: sc.hiddenPreGradient.pointer, outputGradient: sc.hiddenGradient.pointer,
                                  output: sc.hidden.pointer, count: steps * s.hiddenWidth)
                    sc.meanGradient.zero(steps * n2)
                    FullyConnected.backward(
                        inputGradient: sc.meanGradient.pointer,
                        weightGradient: grad + fc1Weight.offset, biasGradient: grad + fc1Bias.offset,
                        outputGradient: sc.hiddenPreGradient.pointer, input: sc.mean.pointer, weight: v + fc1Weight.offset,
                        rows: steps, inputs: n2, outputs: s.hiddenWidth)

                    // Cube gradient: from the head's mean and from the attention term.
                    sc.cubeGradient.zero(g.cubeCount)
                    SpatialMean.backward(inputGradient: sc.cubeGradient.pointer, outputGradient: sc.meanGradient.pointer,
                                         frames: steps, positions: locations, channels: n2)
                    if useAttention {
                        CubeAttentionRegularizer.backward(
                            cubeGradient: sc.cubeGradient.pointer, shares: sc.shares.pointer, totals: sc.totals.pointer,
                            target: attentionTargets!, weight: attentionWeight * perClip,
                            steps: steps, locations: locations, channels: n2)
                    }

                    // Trunk, backward.
                    sc.cubePreGradient.zero(g.cubeCount)
                    ReLU.backward(inputGradient: sc.cubePreGradient.pointer, outputGradient: sc.cubeGradient.pointer,
                                  output: sc.cube.pointer, count: g.cubeCount)
                    let conv1Out = g.conv1.outputCount
                    sc.conv1Gradient.zero(conv1Out)
                    // Without pooling, conv2 reads conv1's output directly and its dX lands there.
                    let pooledGradient = g.pooled ? sc.pooledGradient.pointer : sc.conv1Gradient.pointer
                    if g.pooled { sc.pooledGradient.zero(g.pooledCount) }
                    Conv3D.backward(
                        inputGradient: pooledGradient,
                        kernelGradient: grad + conv2Kernel.offset, biasGradient: grad + conv2Bias.offset,
                        outputGradient: sc.cubePreGradient.pointer,
                        input: g.pooled ? sc.pooled.pointer : sc.conv1.pointer, kernel: v + conv2Kernel.offset,
                        geometry: g.conv2, method: convolutionMethod, workspace: sc.convolution)
                    if g.pooled {
                        MaxPool2x2.backward(inputGradient: sc.conv1Gradient.pointer, outputGradient: sc.pooledGradient.pointer,
                                            argmax: sc.argmax.pointer, outputCount: g.pooledCount)
                    }
                    sc.conv1PreGradient.zero(conv1Out)
                    ReLU.backward(inputGradient: sc.conv1PreGradient.pointer, outputGradient: sc.conv1Gradient.pointer,
                                  output: sc.conv1.pointer, count: conv1Out)
                    Conv3D.backward(
                        inputGradient: nil,
                        kernelGradient: grad + conv1Kernel.offset, biasGradient: grad + conv1Bias.offset,
                        outputGradient: sc.conv1PreGradient.pointer, input: clips, kernel: v + conv1Kernel.offset,
                        geometry: g.conv1, method: convolutionMethod, workspace: sc.convolution)
                }
            }
        }
        let decay = store.applyWeightDecay(coefficient: Float(s.weightDecay), to: parameterViews)
        let predictions = SoftmaxCrossEntropy.argmaxRows(sc.probabilities.pointer, rows: steps, classes: classCount)
        return ConvNet3DBranchBatchResult(
            loss: ConvNet3DBranchLoss(crossEntropy: Float(crossEntropy) * perClip, attention: Float(attention),
                                      weightDecay: decay),
            predictions: predictions, stepsPerClip: g.cubeTime)
    }

    /// clips → conv1 + ReLU → pool → conv2 + ReLU → cube, into the scratch buffers.
    private func runTrunk(_ clips: UnsafePointer<Float>, _ g: ConvNet3DBranchGeometry, _ v: UnsafePointer<Float>) {
        let sc = scratch
        Conv3D.forward(output: sc.conv1.pointer, input: clips, kernel: v + conv1Kernel.offset,
                       bias: v + conv1Bias.offset, geometry: g.conv1, method: convolutionMethod, workspace: sc.convolution)
        ReLU.forward(output: sc.conv1.pointer, input: sc.conv1.pointer, count: g.conv1.outputCount)
        if g.pooled {
            MaxPool2x2.forward(output: sc.pooled.pointer, argmax: sc.argmax.pointer, input: sc.conv1.pointer,
                               frames: g.batch * g.conv1.outputTime, height: g.conv1.outputHeight,
                               width: g.conv1.outputWidth, channels: g.conv1.outputChannels)
        }
        Conv3D.forward(output: sc.cube.pointer, input: g.pooled ? sc.pooled.pointer : sc.conv1.pointer,
                       kernel: v + conv2Kernel.offset, bias: v + conv2Bias.offset, geometry: g.conv2,
                       method: convolutionMethod, workspace: sc.convolution)
        ReLU.forward(output: sc.cube.pointer, input: sc.cube.pointer, count: g.cubeCount)
    }

    /// cube → spatial mean → fc1 + ReLU → fc2 → logits, into the scratch buffers.
    private func runHead(_ g: ConvNet3DBranchGeometry, _ v: UnsafePointer<Float>) {
        let s = settings
        let sc = scratch
        SpatialMean.forward(output: sc.mean.pointer, input: sc.cube.pointer,
                            frames: g.steps, positions: g.locations, channels: g.cubeChannels)
        FullyConnected.forward(output: sc.hidden.pointer, input: sc.mean.pointer, weight: v + fc1Weight.offset,
                               bias: v + fc1Bias.offset, rows: g.steps, inputs: g.cubeChannels, outputs: s.hiddenWidth)
        ReLU.forward(output: sc.hidden.pointer, input: sc.hidden.pointer, count: g.steps * s.hiddenWidth)
        FullyConnected.forward(output: sc.logits.pointer, input: sc.hidden.pointer, weight: v + fc2Weight.offset,
                               bias: v + fc2Bias.offset, rows: g.steps, inputs: s.hiddenWidth, outputs: classCount)
    }
}

/// The activations forward keeps for backward, and backward's own buffers.
final class BranchScratch {
    let conv1 = ScratchBuffer<Float>()
    let pooled = ScratchBuffer<Float>()
    let argmax = ScratchBuffer<Int32>()
    let cube = ScratchBuffer<Float>()
    let mean = ScratchBuffer<Float>()
    let hidden = ScratchBuffer<Float>()
    let logits = ScratchBuffer<Float>()
    let probabilities = ScratchBuffer<Float>()
    let shares = ScratchBuffer<Float>()
    let totals = ScratchBuffer<Float>()
    let logitsGradient = ScratchBuffer<Float>()
    let hiddenGradient = ScratchBuffer<Float>()
    let hiddenPreGradient = ScratchBuffer<Float>()
    let meanGradient = ScratchBuffer<Float>()
    let cubeGradient = ScratchBuffer<Float>()
    let cubePreGradient = ScratchBuffer<Float>()
    let pooledGradient = ScratchBuffer<Float>()
    let conv1Gradient = ScratchBuffer<Float>()
    let conv1PreGradient = ScratchBuffer<Float>()
    /// Both convolutions' im2col chunks and tap products (they run one after the other).
    let convolution = Conv3DWorkspace()

    func reserve(_ g: ConvNet3DBranchGeometry, hiddenWidth: Int, classes: Int, training: Bool) {
        conv1.reserve(g.conv1.outputCount)
        if g.pooled {
            pooled.reserve(g.pooledCount)
            argmax.reserve(g.pooledCount)
        }
        cube.reserve(g.cubeCount)
        mean.reserve(g.steps * g.cubeChannels)
        hidden.reserve(g.steps * hiddenWidth)
        logits.reserve(g.steps * classes)
        probabilities.reserve(g.steps * classes)
        guard training else { return }
        shares.reserve(g.steps * g.locations)
        totals.reserve(g.steps)
        logitsGradient.reserve(g.steps * classes)
        hiddenGradient.reserve(g.steps * hiddenWidth)
        hiddenPreGradient.reserve(g.steps * hiddenWidth)
        meanGradient.reserve(g.steps * g.cubeChannels)
        cubeGradient.reserve(g.cubeCount)
        cubePreGradient.reserve(g.cubeCount)
        if g.pooled { pooledGradient.reserve(g.pooledCount) }
        conv1Gradient.reserve(g.conv1.outputCount)
        conv1PreGradient.reserve(g.conv1.outputCount)
    }
}
