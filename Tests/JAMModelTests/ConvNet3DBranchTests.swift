import Foundation
import JAMConfig
import JAMCore
import JAMModel
import JAMNN
import JAMReferenceSupport
import JAMTestSupport
import Testing

/// The whole branch in Double, written from docs/DESIGN.md §4 with the reference layers.
private struct ReferenceBranch {
    var cube: [Double]
    var logits: [Double]
    var crossEntropy: Double
    var attention: Double
    var decay: Double
    var total: Double { crossEntropy + attention + decay }

    init(values: [Double], branch: ConvNet3DBranch, clips: [Double], labels: [Int], targets: [Double]?,
         geometry g: ConvNet3DBranchGeometry) {
        let s = branch.settings
        func slice(_ v: ParameterView) -> [Double] { Array(values[v.offset..<(v.offset + v.count)]) }
        let a1 = referenceReLU(referenceConv3D(clips, slice(branch.conv1Kernel), slice(branch.conv1Bias), g.conv1))
        let p1 = g.pooled
            ? referenceMaxPool(a1, frames: g.batch * g.conv1.outputTime, height: g.conv1.outputHeight,
                               width: g.conv1.outputWidth, channels: s.conv1Width)
            : a1
        let cube = referenceReLU(referenceConv3D(p1, slice(branch.conv2Kernel), slice(branch.conv2Bias), g.conv2))
        self.cube = cube
        let m = referenceSpatialMean(cube, frames: g.steps, positions: g.locations, channels: s.conv2Width)
        let h = referenceReLU(referenceFullyConnected(m, slice(branch.fc1Weight), slice(branch.fc1Bias),
                                                      rows: g.steps, inputs: s.conv2Width, outputs: s.hiddenWidth))
        let logits = referenceFullyConnected(h, slice(branch.fc2Weight), slice(branch.fc2Bias),
                                         rows: g.steps, inputs: s.hiddenWidth, outputs: branch.classCount)
        self.logits = logits
        let stepLabels = labels.flatMap { Array(repeating: $0, count: g.cubeTime) }
        let perClip = 1 / Double(g.batch)
        crossEntropy = perClip * referenceCrossEntropy(logits, labels: stepLabels, classes: branch.classCount)
        attention = targets.map {
            perClip * referenceAttentionTerm(cube, $0, weight: Double(branch.attentionWeight), steps: g.steps,
                                             locations: g.locations, channels: s.conv2Width)
        } ?? 0
        decay = Double(s.weightDecay) * branch.parameterViews.reduce(0.0) { sum, v in
            sum + slice(v).reduce(0) { $0 + $1 * $1 }
        }
    }
}

/// A branch's settings: the `c3d` section and what the model adds to it.
struct BranchSpec {
    var settings = C3DSettings()
    var inputChannels: Int
    var classCount: Int
    var attentionWeight: Float = 0

    init(inputChannels: Int, classCount: Int, widths: (Int, Int, Int)) {
        (self.inputChannels, self.classCount) = (inputChannels, classCount)
        (settings.conv1Width, settings.conv2Width, settings.hiddenWidth) = widths
    }

    func branch(store: ParameterStore, name: String = "branch0") -> ConvNet3DBranch {
        ConvNet3DBranch(settings: settings, inputChannels: inputChannels, classCount: classCount,
                        attentionWeight: attentionWeight, store: store, name: name)
    }
}

@Suite("ConvNet3DBranch")
struct ConvNet3DBranchTests {
    @Test("paper geometry: 24×24 → 22 → 11 → cube 11×11, T kept; parameter names and shapes")
    func paperGeometry() {
        let store = ParameterStore()
        var paper = BranchSpec(inputChannels: 512, classCount: 101, widths: (256, 256, 512))
        paper.settings.conv1SpatialPadding = .valid
        let branch = paper.branch(store: store, name: "branch1")
        let g = branch.geometry(batch: 2, time: 30, height: 24, width: 24)
        let sizes: [Int] = [g.conv1.outputHeight, g.pooledHeight, g.cubeHeight, g.cubeWidth, g.cubeTime, g.cubeChannels]
        #expect(sizes == [22, 11, 11, 11, 30, 256])
        #expect(g.steps == 60 && g.locations == 121)
        #expect(store.view(named: "branch1.conv1.kernel")?.shape == [3, 3, 3, 512, 256])
        #expect(store.view(named: "branch1.conv2.kernel")?.shape == [3, 3, 3, 256, 256])
        #expect(store.view(named: "branch1.fc1.weight")?.shape == [256, 512])
        #expect(store.view(named: "branch1.fc2.weight")?.shape == [512, 101])
        #expect(store.views.map(\.name) == branch.parameterViews.map(\.name))
    }

    /// The embedded default (6×6 maps of 512 channels, widths 32/32): training batches and whole
    /// videos at export keep the methods `.automatic` chose before `.winograd` existed, so the
    /// default's results keep their bits; the paper's widths take `.winograd`.
    @Test("the default's convolutions resolve to output taps and im2col as before; the paper's to winograd")
    func convolutionMethods() {
        let settings = C3DSettings()
        #expect(settings.conv1Width == 32 && settings.conv2Width == 32 && settings.spatialKernel == 3)
        for (batch, time) in [(settings.batch, settings.clipLength), (1, settings.clipLength), (1, 36), (1, 200)] {
            let g = ConvNet3DBranchGeometry(settings: settings, inputChannels: 512, batch: batch, time: time, height: 6, width: 6)
            #expect(Conv3D.resolvedMethod(.automatic, g.conv1) == .outputTaps)
            #expect(Conv3D.resolvedMethod(.automatic, g.conv2) == .im2col)
        }
        var paper = settings
        (paper.conv1Width, paper.conv2Width, paper.conv1SpatialPadding) = (256, 256, .valid)
        let g = ConvNet3DBranchGeometry(settings: paper, inputChannels: 512, batch: 1, time: 30, height: 24, width: 24)
        #expect(Conv3D.resolvedMethod(.automatic, g.conv1) == .winograd)
        #expect(Conv3D.resolvedMethod(.automatic, g.conv2) == .winograd)
    }

    @Test("He initialisation: seeded, zero biases, standard deviation √(2/fan-in)")
    func heInitialisation() {
        let spec = BranchSpec(inputChannels: 64, classCount: 5, widths: (32, 16, 8))
        let (a, b) = (ParameterStore(), ParameterStore())
        let branchA = spec.branch(store: a)
        spec.branch(store: b).initialize(seed: 9)
        branchA.initialize(seed: 9)
        #expect(a.values == b.values)
        branchA.initialize(seed: 10)
        #expect(a.values != b.values)
        let k = branchA.conv1Kernel
        let w = a.values[k.offset..<(k.offset + k.count)].map(Double.init)
        let std = (w.reduce(0) { $0 + $1 * $1 } / Double(w.count)).squareRoot()
        #expect(abs(std / (2.0 / Double(27 * 64)).squareRoot() - 1) < 0.03)  // 55 296 draws
        #expect(a.values[branchA.conv1Bias.offset..<(branchA.conv1Bias.offset + 32)].allSatisfy { $0 == 0 })
    }

    static let configurations: [(name: String, spec: BranchSpec, time: Int, side: Int)] = {
        var c3d = BranchSpec(inputChannels: 3, classCount: 3, widths: (4, 3, 5))
        c3d.attentionWeight = 3
        (c3d.settings.weightDecay, c3d.settings.conv1SpatialPadding) = (0.01, .valid)
        // The Table-3 "2D convnet": middle = 2d (kt = 1), no pool, all "same".
        var c2d = c3d
        (c2d.settings.middle, c2d.settings.pool, c2d.settings.conv1SpatialPadding) = (.twoD, false, .same)
        (c2d.classCount, c2d.settings.conv2Width) = (4, 5)
        return [("3D, valid + pool", c3d, 3, 6), ("2D, same, no pool", c2d, 2, 3)]
    }()

    /// Every parameter gradient of the full loss (CE + λ·attention + ζ‖θ‖²) against central
    /// differences (h = 1e-6) of the Double reference branch. Tolerance: atol 2e-4, rtol 1e-3
    /// (Float forward and backward; the loss is O(1)).
    @Test("loss parts and every parameter gradient match the Double reference", arguments: configurations.indices)
    func gradientsMatchFiniteDifferences(_ which: Int) throws {
        let (name, spec, time, side) = Self.configurations[which]
        let settings = spec.settings
        let store = ParameterStore()
        let branch = spec.branch(store: store)
        store.values = randomArray(store.totalCount, seed: 80 + UInt64(which), in: -0.5...0.5)
        let batch = 2
        let g = branch.geometry(batch: batch, time: time, height: side, width: side)
        let clips = randomArray(batch * time * side * side * spec.inputChannels, seed: 90, in: -1...1)
        let labels = [1, 2]
        let targets = randomAttentionTargets(steps: g.steps, locations: g.locations, seed: 91)

        store.gradients = [Float](repeating: 0, count: store.totalCount)
        let result = targets.withUnsafeBufferPointer { t in
            branch.lossAndGradients(clips: clips, labels: labels, attentionTargets: t.baseAddress!,
                                    batch: batch, time: time, height: side, width: side)
        }
        let values = doubles(store.values)
        let ref = ReferenceBranch(values: values, branch: branch, clips: doubles(clips), labels: labels,
                                  targets: doubles(targets), geometry: g)
        // A test that cannot see the attention term would pass vacuously: require live cubes.
        for t in 0..<g.steps {
            try #require(ref.cube[(t * g.locations * settings.conv2Width)..<((t + 1) * g.locations * settings.conv2Width)]
                .contains { $0 > 0 }, "\(name): step \(t) of the cube is dead")
        }
        #expect(ref.attention > 1e-3, "\(name): attention term too small to test")
        #expect(abs(Double(result.loss.crossEntropy) - ref.crossEntropy) < 1e-5 * ref.crossEntropy + 1e-6, "\(name) CE")
        #expect(abs(Double(result.loss.attention) - ref.attention) < 1e-5 * ref.attention + 1e-7, "\(name) attention")
        #expect(abs(Double(result.loss.weightDecay) - ref.decay) < 1e-5 * ref.decay + 1e-7, "\(name) decay")
        #expect(result.stepsPerClip == time && result.predictions.count == g.steps)
        let predicted = (0..<g.steps).map { r in
            (0..<spec.classCount).max { ref.logits[r * spec.classCount + $0] < ref.logits[r * spec.classCount + $1] }!
        }
        #expect(result.predictions == predicted, "\(name) predictions")

        let fd = centralDifferences(values, h: 1e-6) {
            ReferenceBranch(values: $0, branch: branch, clips: doubles(clips), labels: labels,
                            targets: doubles(targets), geometry: g).total
        }
        for view in store.views {
            let range = view.offset..<(view.offset + view.count)
            expectClose(store.gradients[range], fd[range], rtol: 1e-3, atol: 2e-4, "\(name): d\(view.name)")
        }

        // Forward-only route gives the same cube and the softmax of the same logits.
        var cube = [Float](repeating: .nan, count: g.cubeCount)
        var probabilities = [Float](repeating: .nan, count: g.steps * spec.classCount)
        branch.forward(cube: &cube, probabilities: &probabilities, clips: clips, batch: batch, time: time,
                       height: side, width: side)
        expectClose(cube, ref.cube, rtol: 1e-5, atol: 1e-6, "\(name) cube")
        let softmax = (0..<g.steps).flatMap { r -> [Double] in
            let row = ref.logits[(r * spec.classCount)..<((r + 1) * spec.classCount)]
            let sum = row.reduce(0) { $0 + exp($1) }
            return row.map { exp($0) / sum }
        }
        expectClose(probabilities, softmax, rtol: 1e-5, atol: 1e-6, "\(name) probabilities")
    }

    @Test("λ = 0 needs no targets and the loss has no attention part")
    func noAttention() {
        let store = ParameterStore()
        let branch = BranchSpec(inputChannels: 2, classCount: 2, widths: (3, 3, 4)).branch(store: store)
        branch.initialize(seed: 1)
        let clips = randomArray(1 * 2 * 6 * 6 * 2, seed: 5)
        let result = branch.lossAndGradients(clips: clips, labels: [1], attentionTargets: nil,
                                             batch: 1, time: 2, height: 6, width: 6)
        #expect(result.loss.attention == 0)
        #expect(result.loss.crossEntropy > 0 && result.loss.total.isFinite)
        #expect(store.firstNonFinite() == nil)
    }
}
