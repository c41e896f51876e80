// shapes: kernels HWIO [3, 3, Cin, Cout], biases [Cout].

import JAMCore
import JAMModel
import JAMTensor
import Testing

@Suite struct VGG16WeightsTests {
    @Test func architectureHasThirteenLayersWithKerasNames() {
        let layers = VGG16Layer.all
        #expect(layers.count == 13)
        #expect(layers.first?.name == "block1_conv1")
        #expect(layers.last?.name == "block5_conv3")
        #expect(layers.map(\.outputChannels) == [64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512])
        #expect(layers.filter(\.poolAfter).map(\.name) == ["block1_conv2", "block2_conv2", "block3_conv3", "block4_conv3"])
        #expect(layers[7].kernelShape == [3, 3, 256, 512])
    }

    @Test func heInitialisationIsDeterministicPerSeed() {
        let a = VGG16Weights.heInitialized(seed: 7)
        let b = VGG16Weights.heInitialized(seed: 7)
        let c = VGG16Weights.heInitialized(seed: 8)
        #expect(a.layers.map(\.kernel) == b.layers.map(\.kernel))
        #expect(a.layers[0].kernel != c.layers[0].kernel)
        #expect(a.layers[12].kernel != c.layers[12].kernel)
        #expect(a.origin.contains("7"))
        // Same stream as drawing the kernels by hand, layer by layer in HWIO order.
        var generator = SplitMix64(seed: 7)
        let std1 = (2.0 / 27).squareRoot()
        let first = (0..<(27 * 64)).map { _ in Float(generator.nextNormal(standardDeviation: std1)) }
        #expect(a.layers[0].kernel == first)
        let std2 = (2.0 / (9 * 64)).squareRoot()
        let second = (0..<(9 * 64 * 64)).map { _ in Float(generator.nextNormal(standardDeviation: std2)) }
        #expect(a.layers[1].kernel == second)
    }

    @Test func heInitialisationHasTheHeStandardDeviationAndZeroBias() {
        let weights = VGG16Weights.heInitialized(seed: 1)
        for layer in weights.layers {
            #expect(layer.bias.allSatisfy { $0 == 0 })
            let n = Double(layer.kernel.count)
            let mean = layer.kernel.reduce(0.0) { $0 + Double($1) } / n
            let variance = layer.kernel.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / n
            let expected = 2.0 / Double(9 * layer.layer.inputChannels)
            // 1728 samples in the smallest layer: the sample variance is within ~3.4% (1σ).
            #expect(abs(variance / expected - 1) < 0.15, "\(layer.layer.name): variance \(variance), expected \(expected)")
            #expect(abs(mean) < 4 * (expected / n).squareRoot(), "\(layer.layer.name): mean \(mean)")
        }
    }

    private func dictionary(from weights: VGG16Weights)
        -> [String: (kernel: [Float], kernelShape: [Int], bias: [Float])]
    {
        var result: [String: (kernel: [Float], kernelShape: [Int], bias: [Float])] = [:]
        for layer in weights.layers {
            result[layer.layer.name] = (layer.kernel, layer.layer.kernelShape, layer.bias)
        }
        return result
    }

    @Test func initFromDictionaryAcceptsCompleteWeightsAndIgnoresExtras() throws {
        let he = VGG16Weights.heInitialized(seed: 3)
        var layers = dictionary(from: he)
        layers["fc1"] = ([1, 2], [2], [0])
        let weights = try VGG16Weights(layers: layers, origin: "test")
        #expect(weights.layers.map(\.kernel) == he.layers.map(\.kernel))
        #expect(weights["block3_conv2"]?.layer.inputChannels == 256)
        #expect(weights.origin == "test")
    }

    @Test func initFromDictionaryNamesAMissingLayer() {
        var layers = dictionary(from: VGG16Weights.heInitialized(seed: 3))
        layers["block4_conv2"] = nil
        #expect(throws: VGG16WeightsError.missingLayer("block4_conv2")) { try VGG16Weights(layers: layers) }
        do {
            _ = try VGG16Weights(layers: layers)
        } catch {
            #expect("\(error)".contains("block4_conv2"))
        }
    }

    @Test func initFromDictionaryNamesAMisshapenLayer() {
        let he = VGG16Weights.heInitialized(seed: 3)
        var layers = dictionary(from: he)
        // Transposed to OIHW: same count, wrong shape.
        layers["block2_conv1"] = (he["block2_conv1"]!.kernel, [128, 64, 3, 3], he["block2_conv1"]!.bias)
        #expect(throws: VGG16WeightsError.kernelShape(layer: "block2_conv1", expected: [3, 3, 64, 128],
                                                      found: [128, 64, 3, 3])) {
            try VGG16Weights(layers: layers)
        }
        layers = dictionary(from: he)
        layers["block5_conv3"] = (Array(he["block5_conv3"]!.kernel.dropLast()), [3, 3, 512, 512], he["block5_conv3"]!.bias)
        #expect(throws: VGG16WeightsError.self) { try VGG16Weights(layers: layers) }
        layers = dictionary(from: he)
        layers["block1_conv1"] = (he["block1_conv1"]!.kernel, [3, 3, 3, 64], [0, 0])
        do {
            _ = try VGG16Weights(layers: layers)
            Issue.record("a 2-value bias for 64 channels was accepted")
        } catch {
            #expect("\(error)".contains("block1_conv1"))
            #expect("\(error)".contains("bias"))
        }
    }
}
