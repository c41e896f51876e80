import Foundation
import JAMConfig

/// Where each stage writes for a config, in pipeline order (for `jam-config paths` and scripts).
public enum StageFolders {
    public static func all(config: PipelineConfig) throws -> [(stage: String, folder: URL)] {
        return [
            ("frames", config.stageDirectory(DecodeStage.folderName, digest: config.decodeDigest)),
            ("features", config.stageDirectory(
                FeaturesStage.folderName, digest: try FeaturesStage.digest(config: config).digest)),
            // Round 1; later rounds' folders also depend on the attention they train against.
            ("cubes", try C3DStage.plan(config: config, round: 1, attentionFolder: nil).folder),
        ]
    }
}
