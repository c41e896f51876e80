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

    @Test func digestsChainRoundsThroughTheAttention() throws {
        let base = try config("{}")
        let layout = try ArtifactLayout(base)
        let f = layout.features.digest
        func lstm(_ c: PipelineConfig, _ round: Int) throws -> String { try ArtifactLayout(c).lstm(round: round).digest }
        func cubes(_ c: PipelineConfig, _ round: Int) throws -> String { try ArtifactLayout(c).c3d(round: round).digest }
        // Settings that change no weight and no exported number are not in the digest.
        let same = try config(#"{ "threads": 7, "checkpoint_every": 3, "vote_steps": 2 }"#)
        #expect(try lstm(same, 1) == lstm(base, 1))
        let wider = try config(#"{ "hidden": 64 }"#)
        #expect(try lstm(wider, 1) != lstm(base, 1))

        // Round 1 trains on c3d round 1; round 2's cubes are trained against round 1's attention,
        // whose folder is named by the LSTM digest of round 1 (what jam-c3d --attention receives).
        #expect(try cubes(base, 1) == base.c3dDigest(featuresDigest: f, round: 1))
        #expect(try layout.cubesFolder(round: 1).lastPathComponent == cubes(base, 1))
        let attention = try layout.attentionFolder(round: 1)
        #expect(attention.lastPathComponent == (try lstm(base, 1)))
        #expect(attention.deletingLastPathComponent().lastPathComponent == "attention")
        #expect(try layout.lstmFolder(round: 1).lastPathComponent == lstm(base, 1))
        #expect(try cubes(base, 2) == base.c3dDigest(featuresDigest: f, round: 2, attentionDigest: attention.lastPathComponent))
        #expect(try cubes(base, 2) != cubes(base, 1))
        // A different round-1 LSTM gives different round-2 cubes, and so a different round-2 LSTM.
        #expect(try cubes(wider, 2) != cubes(base, 2))
        // With λ = 0 round 2 redoes nothing: the same cubes and the same LSTM as round 1.
        let noRegularisation = try config("{}", c3d: #"{ "attention_weight": 0 }"#)
        #expect(try lstm(noRegularisation, 2) == lstm(noRegularisation, 1))
        // Evaluation reads the last round's LSTM.
        #expect(try layout.evalFolder(rule: "vote").deletingLastPathComponent().lastPathComponent == lstm(base, base.c3d.rounds))
    }

    @Test func thePaperProfileCarriesThePapersLSTM() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let paper = try PipelineConfig.load(from: root.appendingPathComponent("pipeline.json"), profile: "paper")
        #expect(paper.lstm.hidden == 1024 && paper.lstm.layers == 3 && paper.lstm.clipLength == 30 && paper.lstm.voteSteps == 16)
        #expect(paper.lstm.firstLayer == .joint && paper.lstm.attention == .joint && paper.lstm.fusion == .late && paper.lstm.pyramid)
        #expect(paper.lstm.weightDecay == 1e-5 && paper.lstm.batch == 16)
        let embedded = try PipelineConfig.load(from: root.appendingPathComponent("pipeline.json"))
        #expect(embedded.lstm.clipLength == embedded.c3d.clipLength)
    }
}
