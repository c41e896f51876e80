import Foundation
import JAMArtifacts
import JAMConfig
import JAMCore
import JAMModel

// How the stages store what they write beyond the per-video arrays: the compression the
// settings ask for, and the split's input standardization (docs/ARTIFACTS.md).

extension CompressionSetting {
    /// The filters of `self` at deflate level `level`.
    func compression(level: Int) -> Compression {
        switch self {
        case .none: return .none
        case .deflate: return Compression(deflate: level)
        case .shuffleDeflate: return Compression(deflate: level, shuffle: true)
        }
    }
}

extension FeaturesSettings {
    /// How the feature maps are compressed (`compression`, `compression_level`).
    var arrayCompression: Compression { compression.compression(level: compressionLevel) }
}

extension C3DSettings {
    /// How the cubes are compressed (`cube_compression`, `cube_compression_level`).
    var cubeArrayCompression: Compression { cubeCompression.compression(level: cubeCompressionLevel) }
}

extension TrainedStage {
    /// Records the split's input standardization (one per branch, in `config.c3d.branches`
    /// order) as `<folder>/normalization.h5`, once per split rather than in every exported
    /// artifact. Replaced atomically; a rerun writes the same values.
    func writeNormalization(
        _ normalization: [InputNormalization], branches: [String], inputs: String, split: Int, trainingVideos: Int,
        folder: URL
    ) throws {
        guard DataParallelStage.writes else { return }  // every rank computed the same; rank 0 writes it
        let content = NormalizationArtifact.Content(
            branches: branches, mean: normalization.map(\.mean), scale: normalization.map(\.scale), inputs: inputs,
            split: split, trainingVideos: trainingVideos)
        try NormalizationArtifact.write(
            content, to: NormalizationArtifact.url(inSplitFolder: folder),
            header: ArtifactHeader(kind: .normalization, producer: "\(stage) \(jamVersion)", configDigest: settings.digest,
                                   config: settings.canonicalJSON, source: inputFolder(split: split).path))
    }
}
