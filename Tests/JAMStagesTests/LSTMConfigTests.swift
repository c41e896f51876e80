import Foundation
import JAMConfig
import JAMCore
import JAMStages
import JAMTestSupport
import Testing

@Suite struct LSTMConfigTests {
    func config(_ lstm: String, c3d: String = "{}") throws -> PipelineConfig {
        let text = """
            { "dataset": { "name": "tiny", "synthetic": false }, "features": { "weights": null },
              "c3d": \(c3d), "lstm": \(lstm) }
            """
        return try PipelineConfig(document: try JSONValue.parse(text, file: "test.json"), file: "test.json", baseDirectory: URL(fileURLWithPath: "/tmp"))
    }

    @Test func settingsReadStrictlyWithDefaults() throws {
        let c = try config(#"{ "hidden": 32, "attention": "per_branch", "fusion": "early", "first_layer": "standard" }"#)
        #expect(c.lstm.hidden == 32 && c.lstm.attention == .perBranch && c.lstm.fusion == .early && c.lstm.firstLayer == .standard)
        #expect(c.lstm.layers == 1 && c.lstm.clipLength == 16 && c.lstm.weightDecay == 1e-5)
        #expect(c.effectiveSettings["lstm"]?["attention"]?.stringValue == "per_branch")

        #expect(throws: JAMError.self) { try config(#"{ "clip_length": 8, "vote_steps": 9 }"#) }
        #expect(throws: JAMError.self) { try config(#"{ "attention": "soft" }"#) }
        #expect(throws: JAMError.self) { try config(#"{ "hiden": 3 }"#) }
        do {
            _ = try config(#"{ "clip_length": 8, "vote_steps": 9 }"#)
        } catch let error as JAMError {
            #expect(error.description.contains("$.lstm.vote_steps"), "\(error)")
        }
    }

    @Test func thePaperProfileCarriesThePapersLSTM() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let paper = try PipelineConfig.load(from: root.appendingPathComponent("pipeline.json"), profile: "paper")
        #expect(paper.lstm.hidden == 1024 && paper.lstm.layers == 3 && paper.lstm.clipLength == 30 && paper.lstm.voteSteps == 16)
        #expect(paper.lstm.firstLayer == .joint && paper.lstm.attention == .joint && paper.lstm.fusion == .late && paper.lstm.pyramid)
        #expect(paper.lstm.weightDecay == 1e-5 && paper.lstm.batch == 16)
        // Standardisation stays on in `paper` (docs/BENCHMARKS.md, "Standardisation at the paper's widths").
        #expect(paper.c3d.standardize && paper.lstm.standardize)
        let embedded = try PipelineConfig.load(from: root.appendingPathComponent("pipeline.json"))
        #expect(embedded.lstm.clipLength == embedded.c3d.clipLength)
    }
}
