// Tests: Tests/JAMStagesTests/PipelineTests.swift (jam-config paths names the folders every stage wrote), Tests/JAMConfigTests/ArtifactLayoutTests.swift (allFolders order)
import Foundation
import JAMConfig
import JAMEval

/// Where each stage writes for a config, in pipeline order (for `jam-config paths` and scripts).
public enum StageFolders {
    public static func all(config: PipelineConfig) throws -> [(stage: String, folder: URL)] {
        try ArtifactLayout(config).allFolders(evalRule: PredictionRule.vote.rawValue)
    }
}
