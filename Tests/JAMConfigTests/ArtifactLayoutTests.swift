import Foundation
import JAMConfig
import JAMCore
import JAMTestSupport
import Testing

// Where every stage's artifacts live and how the rounds chain their digests (docs/DESIGN.md §2, §5).

@Suite struct ArtifactLayoutTests {
    func config(lstm: String = "{}", c3d: String = "{}", weights: String = "null", dataset: String = "",
                base: URL = URL(fileURLWithPath: "/project")) throws -> PipelineConfig {
        let text = """
            { "artifacts_root": "out", "dataset": { "name": "tiny", "synthetic": false\(dataset) },
              "features": { "weights": \(weights) }, "c3d": \(c3d), "lstm": \(lstm) }
            """
        return try PipelineConfig(document: try JSONValue.parse(text, file: "test.json"), file: "test.json", baseDirectory: base)
    }

    @Test func foldersAreRootDatasetStageDigest() throws {
        let c = try config()
        let layout = try ArtifactLayout(c)
        let root = "/project/out/tiny"
        let features = try c.featuresDigest(weightsDigest: nil)
        #expect(layout.features.digest == features)
        #expect(layout.framesFolder.path == "\(root)/frames/\(c.decodeDigest)")
        #expect(layout.featuresFolder.path == "\(root)/features/\(features)")
        let cubes = try c.c3dDigest(featuresDigest: features, round: 1)
        #expect(try layout.cubesFolder(round: 1).path == "\(root)/cubes/\(cubes)")
        let lstm = c.lstmStage(cubesDigest: cubes).digest
        #expect(try layout.lstm(round: 1).digest == lstm)
        #expect(try layout.lstmFolder(round: 1).path == "\(root)/lstm/\(lstm)")
        #expect(try layout.attentionFolder(round: 1).path == "\(root)/attention/\(lstm)")
        #expect(ArtifactLayout.splitFolder(try layout.lstmFolder(round: 1), split: 2).path == "\(root)/lstm/\(lstm)/split2")
        #expect(try c.weightsIdentity() == "he-init:\(c.features.initSeed)")
    }

    @Test func digestsChainRoundsThroughTheAttention() throws {
        // Moved here from JAMStagesTests/LSTMConfigTests: it exercises only ArtifactLayout.
        let base = try config()
        let layout = try ArtifactLayout(base)
        let f = layout.features.digest
        func lstm(_ c: PipelineConfig, _ round: Int) throws -> String { try ArtifactLayout(c).lstm(round: round).digest }
        func cubes(_ c: PipelineConfig, _ round: Int) throws -> String { try ArtifactLayout(c).c3d(round: round).digest }
        // Settings that change no weight and no exported number are not in the digest.
        let same = try config(lstm: #"{ "threads": 7, "checkpoint_every": 3, "vote_steps": 2 }"#)
        #expect(try lstm(same, 1) == lstm(base, 1))
        let wider = try config(lstm: #"{ "hidden": 64 }"#)
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
        let noRegularisation = try config(c3d: #"{ "attention_weight": 0 }"#)
        #expect(try lstm(noRegularisation, 2) == lstm(noRegularisation, 1))
        // Evaluation reads the last round's LSTM: its digest is part of the evaluation's.
        #expect(try layout.eval(rule: "vote").canonicalJSON.contains("\"lstm\":\"\(lstm(base, base.c3d.rounds))\""))
    }

    @Test func roundTwoCubesFollowTheRoundOneLSTMOnlyWhenTheAttentionTermIsOn() throws {
        let base = try ArtifactLayout(try config())
        let wider = try ArtifactLayout(try config(lstm: #"{ "hidden": 64 }"#))
        // λ > 0 (the default): round 2's folder moves with round 1's LSTM, round 1's does not.
        #expect(try base.cubesFolder(round: 1) == wider.cubesFolder(round: 1))
        #expect(try base.cubesFolder(round: 2) != wider.cubesFolder(round: 2))
        #expect(try base.cubesFolder(round: 2) != base.cubesFolder(round: 1))

        for c3d in [#"{ "attention_weight": 0 }"#, #"{ "middle": "none" }"#] {
            let plain = try ArtifactLayout(try config(c3d: c3d))
            let plainWider = try ArtifactLayout(try config(lstm: #"{ "hidden": 64 }"#, c3d: c3d))
            #expect(try plain.cubesFolder(round: 2) == plain.cubesFolder(round: 1), "\(c3d)")
            #expect(try plainWider.cubesFolder(round: 2) == plain.cubesFolder(round: 2), "\(c3d)")
            #expect(try plain.attentionFolder(round: 2) == plain.attentionFolder(round: 1), "\(c3d)")
        }
    }

    @Test func attentionAndLSTMFoldersShareTheDigestAndAnOverrideNamesTheSource() throws {
        let c = try config()
        let layout = try ArtifactLayout(c)
        for round in 1...2 {
            let lstm = try layout.lstmFolder(round: round)
            let attention = try layout.attentionFolder(round: round)
            #expect(lstm.lastPathComponent == attention.lastPathComponent)
            #expect(lstm.deletingLastPathComponent().lastPathComponent == "lstm")
            #expect(attention.deletingLastPathComponent().deletingLastPathComponent()
                    == lstm.deletingLastPathComponent().deletingLastPathComponent())
        }
        #expect(try layout.lstmFolder(round: 2) != layout.lstmFolder(round: 1))
        // jam-c3d --attention <folder>: the folder's last component is the digest recorded.
        let elsewhere = URL(fileURLWithPath: "/elsewhere/attention/abc123/")
        let expected = try c.c3dDigest(featuresDigest: layout.features.digest, round: 2, attentionDigest: "abc123")
        #expect(try layout.cubesFolder(round: 2, attentionFolder: elsewhere).lastPathComponent == expected)
    }

    @Test func evalUsesTheLastRoundsLSTM() throws {
        let three = try ArtifactLayout(try config(c3d: #"{ "rounds": 3 }"#))
        let eval = try three.evalFolder(rule: "last")
        #expect(eval.lastPathComponent == "last")
        let settings = try three.eval(rule: "last")
        #expect(settings.canonicalJSON == #"{"lstm":"\#(try three.lstm(round: 3).digest)","lstm_epochs":20,"rule":"last","splits":[1],"vote_steps":8}"#)
        #expect(eval.path == "/project/out/tiny/eval/\(settings.digest)/last")
    }

    /// Everything that changes metrics.json names its folder: another L2 or another list of
    /// splits does not overwrite an earlier evaluation; a thread count changes nothing.
    @Test func evalFoldersDifferByVoteStepsAndSplits() throws {
        let base = try ArtifactLayout(try config()).evalFolder(rule: "vote")
        let l2 = try ArtifactLayout(try config(lstm: #"{ "vote_steps": 4 }"#)).evalFolder(rule: "vote")
        let splits = try ArtifactLayout(try config(dataset: #", "splits": [1, 2]"#)).evalFolder(rule: "vote")
        let threads = try ArtifactLayout(try config(lstm: #"{ "threads": 1 }"#)).evalFolder(rule: "vote")
        #expect(Set([base, l2, splits]).count == 3)
        #expect(threads == base)
    }

    /// Raising `epochs` continues a trained model in its folder (the folder's digest leaves it
    /// out), and whatever reads that model's exports (the next stage, the next round, the
    /// evaluation) is named by it, so nothing downstream of a longer-trained model is taken for
    /// the shorter one's. `log_every_steps` changes no number at all.
    @Test func epochsNameWhatReadsATrainedStagesExportsNotItsOwnFolder() throws {
        let base = try ArtifactLayout(try config())
        let longerC3D = try ArtifactLayout(try config(c3d: #"{ "epochs": 9, "log_every_steps": 1 }"#))
        let longerLSTM = try ArtifactLayout(try config(lstm: #"{ "epochs": 31, "log_every_steps": 1 }"#))
        #expect(try longerC3D.cubesFolder(round: 1) == base.cubesFolder(round: 1))
        #expect(try longerC3D.lstmFolder(round: 1) != base.lstmFolder(round: 1))
        #expect(try base.lstm(round: 1).canonicalJSON.contains(#""c3d_epochs":3"#))
        #expect(try longerLSTM.cubesFolder(round: 1) == base.cubesFolder(round: 1))
        #expect(try longerLSTM.lstmFolder(round: 1) == base.lstmFolder(round: 1))
        #expect(try longerLSTM.attentionFolder(round: 1) == base.attentionFolder(round: 1))
        // Round 2 trains against round 1's attention: the epochs of the LSTM that made it count.
        #expect(try longerLSTM.cubesFolder(round: 2) != base.cubesFolder(round: 2))
        #expect(try base.c3d(round: 2).canonicalJSON.contains(#""lstm_epochs":20"#))
        #expect(try longerLSTM.evalFolder(rule: "vote") != base.evalFolder(rule: "vote"))
        for layout in [base, longerC3D, longerLSTM] {
            #expect(!(try layout.c3d(round: 1).canonicalJSON.contains("log_every_steps")))
            #expect(!(try layout.lstm(round: 1).settings["lstm"]!.objectValue!.keys.contains("epochs")))
            #expect(!(try layout.c3d(round: 1).settings["c3d"]!.objectValue!.keys.contains("epochs")))
        }
        // With middle = none nothing is trained: c3d.epochs moves nothing.
        let none = try ArtifactLayout(try config(c3d: #"{ "middle": "none" }"#))
        let noneLonger = try ArtifactLayout(try config(c3d: #"{ "middle": "none", "epochs": 9 }"#))
        #expect(try noneLonger.lstmFolder(round: 1) == none.lstmFolder(round: 1))
        #expect(!(try none.lstm(round: 1).canonicalJSON.contains("c3d_epochs")))
    }

    /// Validation is only logged: sampling it or skipping epochs of it moves no folder.
    @Test func validationSettingsMoveNoFolder() throws {
        let base = try ArtifactLayout(try config(c3d: #"{ "rounds": 2 }"#)).allFolders(evalRule: "vote")
        let sparse = try ArtifactLayout(try config(
            lstm: #"{ "validation_clips": 7, "validate_every": 0 }"#,
            c3d: #"{ "rounds": 2, "validation_clips": 50, "validate_every": 4 }"#)).allFolders(evalRule: "vote")
        #expect(base.map(\.folder) == sparse.map(\.folder))
    }

    @Test func allFoldersListEveryStageInPipelineOrder() throws {
        let layout = try ArtifactLayout(try config(c3d: #"{ "rounds": 2 }"#))
        let folders = try layout.allFolders(evalRule: "vote")
        #expect(folders.map(\.stage) == ["frames", "features", "cubes r1", "lstm r1", "attention r1",
                                         "cubes r2", "lstm r2", "attention r2", "eval"])
        let expected = [layout.framesFolder, layout.featuresFolder,
                        try layout.cubesFolder(round: 1), try layout.lstmFolder(round: 1), try layout.attentionFolder(round: 1),
                        try layout.cubesFolder(round: 2), try layout.lstmFolder(round: 2), try layout.attentionFolder(round: 2),
                        try layout.evalFolder(rule: "vote")]
        #expect(folders.map(\.folder) == expected)
    }

    @Test func weightsFileIsPartOfTheFeaturesDigestAndAMissingOneIsNamed() throws {
        try withTemporaryDirectory { dir in
            let missing = try config(weights: #""vgg16.h5""#, base: dir)
            do {
                _ = try ArtifactLayout(missing)
                Issue.record("a missing weights file was accepted")
            } catch let error as JAMError {
                #expect(error.description.contains(dir.appendingPathComponent("vgg16.h5").path), "\(error)")
                #expect(error.description.contains("not found"), "\(error)")
            }

            try Data("weights one".utf8).write(to: dir.appendingPathComponent("vgg16.h5"))
            let c = try config(weights: #""vgg16.h5""#, base: dir)
            let identity = "keras:sha256:\(try SHA256.hex(ofFile: dir.appendingPathComponent("vgg16.h5"))) vgg16.h5"
            #expect(try c.weightsIdentity() == identity)
            let first = try ArtifactLayout(c)
            #expect(first.features.digest == (try c.featuresDigest(weightsDigest: identity)))
            #expect(first.features.digest != (try ArtifactLayout(try config(base: dir)).features.digest))

            try Data("weights two".utf8).write(to: dir.appendingPathComponent("vgg16.h5"))
            let second = try ArtifactLayout(try config(weights: #""vgg16.h5""#, base: dir))
            #expect(second.featuresFolder != first.featuresFolder)
            #expect(second.framesFolder == first.framesFolder)
        }
    }
}
