import Foundation
import JAMArtifacts
import JAMCore

// shapes: kernels HWIO `[3, 3, Cin, Cout]` (Keras, cross-correlation, not flipped); biases `[Cout]`.

/// One layer's weights as a Keras HDF5 weights file stores them.
public struct KerasLayerWeights: Sendable {
    /// Row-major, `kernelShape` (HWIO for a 2D convolution).
    public var kernel: [Float]
    public var kernelShape: [Int]
    public var bias: [Float]
}

/// Reads layer weights from a Keras-format HDF5 file such as
/// `vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5`.
///
/// The layout, as Keras writes it: the root (or, in a whole-model file, the `model_weights`
/// group) has the attribute `layer_names` — an array of strings, which Keras splits into
/// `layer_names0`, `layer_names1`, … when it is large; each layer is a group with the
/// attribute `weight_names`, paths relative to that group. Names differ by Keras version
/// (`block1_conv1_W_1:0` / `block1_conv1_b_1:0` in the widely shared file,
/// `block1_conv1/kernel:0` / `block1_conv1/bias:0` later), so this follows `weight_names`
/// rather than guessing, and tells the kernel from the bias by rank.
public enum KerasWeightsFile {
    /// Reads `layers` from the file at `url`. A missing file, a missing layer, a layer without
    /// a kernel and a bias, or a dataset named in `weight_names` but absent is an error that
    /// names the file and the layer.
    public static func load(from url: URL, layers: [String]) throws -> [String: KerasLayerWeights] {
        let file: HDF5File
        do {
            file = try HDF5File.open(at: url)
        } catch let error as HDF5Error {
            throw KerasWeightsError(path: url.path, "cannot read the weights file: \(error.message)")
        }
        let root: HDF5Group = file.contains("model_weights") && !hasLayerNames(file)
            ? try file.openGroup("model_weights") : file
        let available = try layerNames(of: root)
        guard !available.isEmpty else {
            throw KerasWeightsError(path: url.path, "not a Keras weights file (no layer_names attribute)")
        }
        var result: [String: KerasLayerWeights] = [:]
        for layer in layers {
            guard available.contains(layer), root.contains(layer) else {
                throw KerasWeightsError(path: url.path,
                    "layer \(layer) is missing; the file has: \(available.joined(separator: ", "))")
            }
            result[layer] = try loadLayer(layer, from: try root.openGroup(layer), path: url.path)
        }
        return result
    }

    private static func hasLayerNames(_ group: HDF5Group) -> Bool {
        group.hasAttribute("layer_names") || group.hasAttribute("layer_names0")
    }

    /// `layer_names`, or its chunks `layer_names0`, `layer_names1`, … concatenated.
    static func layerNames(of group: HDF5Group) throws -> [String] {
        if let names = try group.stringArrayAttribute("layer_names") { return names }
        var names: [String] = []
        var chunk = 0
        while let part = try group.stringArrayAttribute("layer_names\(chunk)") {
            names += part
            chunk += 1
        }
        return names
    }

    private static func loadLayer(_ layer: String, from group: HDF5Group, path: String) throws -> KerasLayerWeights {
        var weightNames = try group.stringArrayAttribute("weight_names") ?? []
        if weightNames.isEmpty {
            var chunk = 0
            while let part = try group.stringArrayAttribute("weight_names\(chunk)") {
                weightNames += part
                chunk += 1
            }
        }
        var kernel: (data: [Float], shape: [Int])?
        var bias: (data: [Float], shape: [Int])?
        for name in weightNames {
            guard group.contains(name) else {
                throw KerasWeightsError(path: path, "layer \(layer): weight_names lists \(name), which is not in the file")
            }
            let value = try group.read(name, as: Float.self)
            switch value.shape.count {
            case 1: bias = value
            case 2...: kernel = value
            default: break
            }
        }
        guard let kernel, let bias else {
            throw KerasWeightsError(path: path,
                "layer \(layer): expected a kernel and a bias in weight_names, found \(weightNames)")
        }
        return KerasLayerWeights(kernel: kernel.data, kernelShape: kernel.shape, bias: bias.data)
    }
}

/// A weights file that cannot be used; the description names the file and the layer.
public typealias KerasWeightsError = JAMError
