import Foundation
import JAMConfig
import JAMEval

/// Where each stage writes for a config, in pipeline order (for `jam-config paths` and scripts).
public enum StageFolders {
    public static func all(config: PipelineConfig) throws -> [(stage: String, folder: URL)] {
        let featuresDigest = try FeaturesStage.digest(config: config).digest
        var folders: [(String, URL)] = [
            ("frames", config.stageDirectory(DecodeStage.folderName, digest: config.decodeDigest)),
            ("features", config.stageDirectory(FeaturesStage.folderName, digest: featuresDigest)),
        ]
        for round in 1...max(1, config.c3d.rounds) {
            folders.append(("cubes r\(round)", config.stageDirectory(
                C3DStage.folderName, digest: try config.cubesDigest(featuresDigest: featuresDigest, round: round))))
            folders.append(("lstm r\(round)", config.stageDirectory(
                PipelineConfig.lstmFolderName, digest: try config.lstmDigest(featuresDigest: featuresDigest, round: round))))
            folders.append(("attention r\(round)", try config.attentionDirectory(featuresDigest: featuresDigest, round: round)))
        }
        folders.append(("eval", try EvalStage.folder(config: config, rule: .vote)))
        return folders
    }
}
