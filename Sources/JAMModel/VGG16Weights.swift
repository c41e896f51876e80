// shapes: per layer, kernel HWIO [3, 3, Cin, Cout] and bias [Cout] (Keras layout).

import JAMCore
import JAMTensor

/// The 13 convolutional layers of VGG16 (Simonyan & Zisserman 2015), as Keras names them.
public struct VGG16Layer: Sendable, Hashable {
    /// Keras name, `block1_conv1` ... `block5_conv3`.
    public var name: String
    public var inputChannels: Int
    public var outputChannels: Int
    /// Whether a 2×2 max-pool follows (the last layer of blocks 1-4; pool5 is not used).
    public var poolAfter: Bool

    /// The 13 layers in network order.
    public static let all: [VGG16Layer] = {
        let blocks: [(convs: Int, width: Int)] = [(2, 64), (2, 128), (3, 256), (3, 512), (3, 512)]
        var layers: [VGG16Layer] = []
        var channels = 3
        for (b, block) in blocks.enumerated() {
            for c in 0..<block.convs {
                layers.append(VGG16Layer(
                    name: "block\(b + 1)_conv\(c + 1)", inputChannels: channels,
                    outputChannels: block.width, poolAfter: c == block.convs - 1 && b < 4))
                channels = block.width
            }
        }
        return layers
    }()

    /// `[3, 3, Cin, Cout]`.
    public var kernelShape: [Int] { [3, 3, inputChannels, outputChannels] }
}

/// Why a set of VGG16 weights was refused.
public enum VGG16WeightsError: Error, CustomStringConvertible, Equatable {
    case missingLayer(String)
    case kernelShape(layer: String, expected: [Int], found: [Int])
    case kernelCount(layer: String, shape: [Int], count: Int)
    case biasCount(layer: String, expected: Int, found: Int)

    public var description: String {
        switch self {
        case .missingLayer(let layer):
            return "VGG16 weights: layer \(layer) is missing (all 13 of block1_conv1 ... block5_conv3 are needed)"
        case .kernelShape(let layer, let expected, let found):
            return "VGG16 weights: layer \(layer) has kernel shape \(found), expected \(expected) (HWIO)"
        case .kernelCount(let layer, let shape, let count):
            return "VGG16 weights: layer \(layer) has \(count) kernel values, but its shape \(shape) needs \(shape.reduce(1, *))"
        case .biasCount(let layer, let expected, let found):
            return "VGG16 weights: layer \(layer) has \(found) bias values, expected \(expected)"
        }
    }
}

/// The weights of VGG16's 13 convolutional layers, validated against the architecture.
public struct VGG16Weights: Sendable {
    /// One layer's parameters.
    public struct LayerWeights: Sendable {
        public var layer: VGG16Layer
        /// HWIO `[3, 3, Cin, Cout]`, cross-correlation (as Keras stores it, not flipped).
        public var kernel: [Float]
        /// `[Cout]`.
        public var bias: [Float]
    }

    /// In network order, `VGG16Layer.all`.
    public private(set) var layers: [LayerWeights]
    /// How the weights were made, for the provenance that outputs record (for example
    /// `"he-normal seed 7"` or the weights file's name).
    public var origin: String

    /// Validates and adopts weights given by Keras layer name.
    ///
    /// - Parameter layers: for every name `block1_conv1` ... `block5_conv3`, the kernel's values,
    ///   its shape (must be `[3, 3, Cin, Cout]`) and the bias `[Cout]`. Extra names (pooling
    ///   layers, a classifier) are ignored.
    /// - Throws: `VGG16WeightsError` naming the first missing or misshapen layer.
    public init(layers: [String: (kernel: [Float], kernelShape: [Int], bias: [Float])],
                origin: String = "weights file") throws {
        var result: [LayerWeights] = []
        for layer in VGG16Layer.all {
            guard let given = layers[layer.name] else { throw VGG16WeightsError.missingLayer(layer.name) }
            guard given.kernelShape == layer.kernelShape else {
                throw VGG16WeightsError.kernelShape(layer: layer.name, expected: layer.kernelShape,
                                                    found: given.kernelShape)
            }
            guard given.kernel.count == layer.kernelShape.reduce(1, *) else {
                throw VGG16WeightsError.kernelCount(layer: layer.name, shape: given.kernelShape,
                                                    count: given.kernel.count)
            }
            guard given.bias.count == layer.outputChannels else {
                throw VGG16WeightsError.biasCount(layer: layer.name, expected: layer.outputChannels,
                                                  found: given.bias.count)
            }
            result.append(LayerWeights(layer: layer, kernel: given.kernel, bias: given.bias))
        }
        self.layers = result
        self.origin = origin
    }

    /// Deterministic He-normal initialisation (He et al. 2015): kernel values
    /// `N(0, 2 / (9·Cin))`, zero biases, drawn layer by layer in network order from
    /// `SplitMix64(seed:)`, each kernel in HWIO order. Used when no ImageNet weights are
    /// given; the same seed gives the same weights everywhere.
    public static func heInitialized(seed: UInt64) -> VGG16Weights {
        var generator = SplitMix64(seed: seed)
        let layers = VGG16Layer.all.map { layer in
            let std = (2.0 / Double(9 * layer.inputChannels)).squareRoot()
            let kernel = (0..<layer.kernelShape.reduce(1, *)).map { _ in
                Float(generator.nextNormal(standardDeviation: std))
            }
            return LayerWeights(layer: layer, kernel: kernel,
                                bias: [Float](repeating: 0, count: layer.outputChannels))
        }
        return VGG16Weights(layers: layers, origin: "he-normal seed \(seed)")
    }

    private init(layers: [LayerWeights], origin: String) {
        self.layers = layers
        self.origin = origin
    }

    /// The weights of the layer called `name`, if it is one of the 13.
    public subscript(name: String) -> LayerWeights? {
        layers.first { $0.layer.name == name }
    }
}
