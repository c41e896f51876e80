import Foundation
import JAMArtifacts
import JAMModel
import JAMTestSupport
import Testing

/// Writes a small file in Keras's weights layout, with either naming generation.
func writeKerasFile(
    at url: URL, layers: [(name: String, cin: Int, cout: Int)], modernNames: Bool,
    splitLayerNames: Bool = false, extraLayers: [String] = []
) throws {
    let file = try HDF5File.create(at: url)
    let names = layers.map(\.name) + extraLayers
    if splitLayerNames {
        try file.setAttribute("layer_names0", strings: Array(names.prefix(1)))
        try file.setAttribute("layer_names1", strings: Array(names.dropFirst()))
    } else {
        try file.setAttribute("layer_names", strings: names)
    }
    for (index, layer) in layers.enumerated() {
        let group = try file.createGroup(layer.name)
        let kernelName = modernNames ? "\(layer.name)/kernel:0" : "\(layer.name)_W_1:0"
        let biasName = modernNames ? "\(layer.name)/bias:0" : "\(layer.name)_b_1:0"
        // Bias first, to check that order in weight_names does not matter.
        try group.setAttribute("weight_names", strings: [biasName, kernelName])
        let shape = [3, 3, layer.cin, layer.cout]
        try group.write(kernelName, kerasKernelValues(layer: index, shape: shape), shape: shape)
        try group.write(biasName, (0..<layer.cout).map { Float(index * 1000 + $0) }, shape: [layer.cout])
    }
    for name in extraLayers { try file.createGroup(name) }  // pooling layers: no weights
}

/// Kernel value at HWIO index (h, w, i, o): encodes every coordinate, so a transposed or
/// shifted load cannot pass.
func kerasKernelValue(layer: Int, h: Int, w: Int, i: Int, o: Int) -> Float {
    Float(layer * 10_000 + h * 1000 + w * 100 + i * 10 + o)
}

func kerasKernelValues(layer: Int, shape: [Int]) -> [Float] {
    var values: [Float] = []
    for h in 0..<shape[0] { for w in 0..<shape[1] { for i in 0..<shape[2] { for o in 0..<shape[3] {
        values.append(kerasKernelValue(layer: layer, h: h, w: w, i: i, o: o))
    } } } }
    return values
}

@Suite struct KerasWeightsFileTests {
    let layers = [(name: "block1_conv1", cin: 3, cout: 4), (name: "block1_conv2", cin: 4, cout: 5)]

    @Test(arguments: [false, true])
    func bothNamingGenerationsLoadIntoTheRightLayerAndOrientation(modernNames: Bool) throws {
        try withTemporaryDirectory { dir in
            let url = dir.appendingPathComponent("w.h5")
            try writeKerasFile(at: url, layers: layers, modernNames: modernNames, extraLayers: ["block1_pool"])
            let loaded = try KerasWeightsFile.load(from: url, layers: layers.map(\.name))
            for (index, layer) in layers.enumerated() {
                let w = try #require(loaded[layer.name])
                #expect(w.kernelShape == [3, 3, layer.cin, layer.cout])
                #expect(w.bias == (0..<layer.cout).map { Float(index * 1000 + $0) })
                // Spot-check by coordinates computed independently of the writer's loop.
                let (h, x, i, o) = (2, 1, layer.cin - 1, layer.cout - 2)
                let flat = ((h * 3 + x) * layer.cin + i) * layer.cout + o
                #expect(w.kernel[flat] == kerasKernelValue(layer: index, h: h, w: x, i: i, o: o))
            }
        }
    }

    @Test func splitLayerNamesAreJoined() throws {
        try withTemporaryDirectory { dir in
            let url = dir.appendingPathComponent("w.h5")
            try writeKerasFile(at: url, layers: layers, modernNames: false, splitLayerNames: true)
            let loaded = try KerasWeightsFile.load(from: url, layers: ["block1_conv2"])
            #expect(loaded["block1_conv2"]?.kernelShape == [3, 3, 4, 5])
        }
    }

    @Test func brokenFilesNameTheFileAndTheLayer() throws {
        try withTemporaryDirectory { dir in
            let url = dir.appendingPathComponent("w.h5")
            try writeKerasFile(at: url, layers: layers, modernNames: true)
            let missingLayer = #expect(throws: KerasWeightsError.self) {
                try KerasWeightsFile.load(from: url, layers: ["block1_conv1", "block5_conv3"])
            }
            #expect(missingLayer?.description.contains("layer block5_conv3 is missing") == true)
            #expect(missingLayer?.description.contains(url.path) == true)

            let notKeras = dir.appendingPathComponent("plain.h5")
            _ = try HDF5File.create(at: notKeras)
            let plain = #expect(throws: KerasWeightsError.self) {
                try KerasWeightsFile.load(from: notKeras, layers: ["block1_conv1"])
            }
            #expect(plain?.description.contains("no layer_names") == true)

            let dangling = dir.appendingPathComponent("dangling.h5")
            do {
                let file = try HDF5File.create(at: dangling)
                try file.setAttribute("layer_names", strings: ["block1_conv1"])
                let group = try file.createGroup("block1_conv1")
                try group.setAttribute("weight_names", strings: ["block1_conv1_W_1:0", "block1_conv1_b_1:0"])
                try group.write("block1_conv1_W_1:0", [Float](repeating: 0, count: 27), shape: [3, 3, 3, 1])
            }
            let missingBias = #expect(throws: KerasWeightsError.self) {
                try KerasWeightsFile.load(from: dangling, layers: ["block1_conv1"])
            }
            #expect(missingBias?.description.contains("block1_conv1_b_1:0, which is not in the file") == true)

            let absent = #expect(throws: KerasWeightsError.self) {
                try KerasWeightsFile.load(from: dir.appendingPathComponent("nope.h5"), layers: ["block1_conv1"])
            }
            #expect(absent?.description.contains("no such file") == true)
        }
    }
}
