import Foundation
import JAMArtifacts
import JAMConfig
import JAMCore
import JAMDatasets
import JAMModel
import JAMStages
import JAMTestSupport
import JAMTraining
import Testing

/// `c3d.standardize` and `lstm.standardize`: read strictly, in the digests only when false, and
/// with false the trained stages see their inputs as stored (checked against the stage's exports
/// recomputed from the raw files).
@Suite(.serialized) struct StandardizeSettingTests {
    /// Loads `text` as a config in `dir`; the error's description on failure.
    private func load(_ text: String, in dir: URL) throws -> Result<PipelineConfig, JAMError> {
        let url = dir.appendingPathComponent("pipeline.json")
        try text.write(to: url, atomically: true, encoding: .utf8)
        do { return .success(try PipelineConfig.load(from: url)) } catch let e as JAMError { return .failure(e) }
    }

    @Test func theSettingParsesDefaultsToTrueAndRejectsNonBooleansWithItsPath() throws {
        try withTemporaryDirectory { dir in
            guard case .success(let defaults) = try load("{}", in: dir) else { Issue.record("{} did not load"); return }
            #expect(defaults.c3d.standardize && defaults.lstm.standardize)
            guard case .success(let off) = try load(#"{"c3d": {"standardize": false}, "lstm": {"standardize": false}}"#, in: dir)
            else { Issue.record("standardize false did not load"); return }
            #expect(!off.c3d.standardize && !off.lstm.standardize)
            for (section, value) in [("c3d", #""yes""#), ("lstm", "1"), ("c3d", "null")] {
                guard case .failure(let e) = try load(#"{"\#(section)": {"standardize": \#(value)}}"#, in: dir) else {
                    Issue.record("\(section).standardize = \(value) was accepted"); continue
                }
                #expect(e.description.contains("$.\(section).standardize: expected true or false, found \(value)"), "\(e)")
                #expect(e.file?.hasSuffix("pipeline.json") == true, "\(e)")
            }
        }
    }

    /// True (the default) leaves the digests as they were before the setting existed; false moves
    /// the stage and everything downstream to new folders.
    @Test func falseChangesTheDigestsAndTrueLeavesThemAsBefore() throws {
        try withTemporaryDirectory { dir in
            func digests(_ text: String) throws -> (c3d: String, lstm: String, json: String) {
                guard case .success(let c) = try load(text, in: dir) else { throw JAMError("\(text) did not load") }
                let c3d = try c.c3dStage(featuresDigest: "f")
                return (c3d.digest, c.lstmStage(cubesDigest: c3d.digest).digest, c3d.canonicalJSON + c.lstmStage(cubesDigest: "c").canonicalJSON)
            }
            let base = try digests("{}")
            let explicitTrue = try digests(#"{"c3d": {"standardize": true}, "lstm": {"standardize": true}}"#)
            #expect(explicitTrue.c3d == base.c3d && explicitTrue.lstm == base.lstm && explicitTrue.json == base.json)
            #expect(!base.json.contains("standardize"))
            let c3dOff = try digests(#"{"c3d": {"standardize": false}}"#)
            #expect(c3dOff.c3d != base.c3d && c3dOff.lstm != base.lstm)
            #expect(c3dOff.json.contains(#""standardize":false"#))
            let lstmOff = try digests(#"{"lstm": {"standardize": false}}"#)
            #expect(lstmOff.c3d == base.c3d && lstmOff.lstm != base.lstm)
            // Nothing is standardised when the middle module is not trained: no digest change there.
            let pooled = try digests(#"{"c3d": {"middle": "none"}}"#)
            #expect(try digests(#"{"c3d": {"middle": "none", "standardize": false}}"#).c3d == pooled.c3d)
        }
    }

    /// jam-lstm with `standardize: false`: the exported probabilities are the trained model's on
    /// the RAW cubes (each clip recomputed here from the cube files, no normalization), and the
    /// split records the identity.
    @Test func lstmWithoutStandardizationFeedsTheCubesUnscaled() throws {
        try withTemporaryDirectory { dir in
            let fixture = try LSTMFixture(in: dir, lstm: lstmSection(extra: #", "standardize": false"#),
                                          trainPerClass: 2, testPerClass: 1)
            let report = try fixture.run()
            #expect(report.succeeded, "\(report.failures)")
            let config = try PipelineConfig.load(from: fixture.config)
            #expect(!config.lstm.standardize)
            let recorded = try NormalizationArtifact.read(
                ArtifactLayout.splitFolder(try fixture.plan().folder, split: 1).appendingPathComponent("normalization.h5"),
                branches: ["pool4", "conv5_3"])
            for k in 0..<2 {
                #expect(recorded.mean[k] == [Float](repeating: 0, count: fixture.channels[k]))
                #expect(recorded.scale[k] == [Float](repeating: 1, count: fixture.channels[k]))
            }
            let (checkpoint, _) = try TrainingCheckpoint.read(from: fixture.checkpointURL(), expecting: .lstmCheckpoint)
            let geometry = CubesArtifact.Geometry(branches: ["pool4", "conv5_3"], grid: 4, channels: fixture.channels)
            let model = try LSTMModel(settings: config.lstm, geometry: geometry, classCount: 4)
            checkpoint.restore(into: model.store)
            let video = "MoveLeft/v_MoveLeft_g03_c01.avi"
            let reader = try HDF5File.open(at: PipelineConfig.artifactURL(forVideo: video, in: fixture.cubesFolder()))
            let raw = try ["pool4", "conv5_3"].map { try reader.read("cube/\($0)", as: Float.self).data }
            // The cubes are not already standardised (else this test could not tell the two apart).
            #expect(raw[0].reduce(0, +) / Float(raw[0].count) > 0.1)
            let file = try HDF5File.open(at: fixture.attentionURL(video))
            let starts = try file.read("clip_starts", as: Int32.self).data.map(Int.init)
            #expect(starts == [0, 2, 4])
            var expected: [Float] = []
            for start in starts {
                let clip = raw.enumerated().map { k, cube in
                    let size = 16 * fixture.channels[k]
                    return Array(cube[(start * size)..<((start + 6) * size)])
                }
                expected += try model.classifier.predict(cubes: clip, batchSize: 1).probabilities
            }
            let exported = try file.read("clip_probabilities", as: Float.self).data
            expectClose(exported, expected, rtol: 1e-5, atol: 1e-6, "clip_probabilities from unscaled cubes")
        }
    }

    /// jam-c3d with `standardize: false`: the split records the identity, and the exported cube
    /// is what the trained convnet gives on the features as stored (only the video's mean map
    /// taken out, `centering`), not on standardised ones.
    @Test func c3dWithoutStandardizationFeedsTheFeaturesUnscaled() throws {
        try withTemporaryDirectory { dir in
            let configURL = try writeC3DConfig(
                in: dir, c3d: smallC3D.replacingOccurrences(of: #""epochs": 12"#, with: #""epochs": 2"#) + #", "standardize": false"#)
            try makeMotionFeatures(in: dir, config: configURL, fixture: MotionFixture(trainPerClass: 2, testPerClass: 1))
            let config = try PipelineConfig.load(from: configURL)
            #expect(!config.c3d.standardize && config.c3d.epochs == 2)
            let report = try C3DStage.run(config: config, policy: RunPolicy(workers: 1), progress: quietProgress)
            #expect(report.succeeded, "\(report.failures)")
            let split = try cubesFolder(dir).appendingPathComponent("split1")
            let recorded = try NormalizationArtifact.read(split.appendingPathComponent("normalization.h5"), branches: ["pool4", "conv5_3"])
            for k in 0..<2 {
                #expect(recorded.mean[k] == [Float](repeating: 0, count: 8) && recorded.scale[k] == [Float](repeating: 1, count: 8))
            }
            let path = "MoveUp/v_MoveUp_g03_c01.avi"
            let reader = try ArtifactReader(url: PipelineConfig.artifactURL(forVideo: path, in: split), expecting: .cubes)
            let (checkpoint, _) = try TrainingCheckpoint.read(from: split.appendingPathComponent("checkpoint.h5"), expecting: .c3dCheckpoint)
            let shape = FeaturesArtifact.MapShape(height: 8, width: 8, channels: 8)
            func exportedBy(_ normalization: [InputNormalization]?) throws -> [Float] {
                let model = C3DModel(settings: config.c3d, mapShape: shape, classCount: 4, round: 1, inputNormalization: normalization)
                checkpoint.restore(into: model.store)
                let (video, _) = try C3DVideo.scan(
                    URL(fileURLWithPath: reader.header.source), entry: VideoEntry(relativePath: path, label: 3, className: "MoveUp"),
                    settings: config.c3d, expected: nil)
                return try model.cubes(for: video)[0]
            }
            let cube = try reader.file.read("cube/pool4", as: Float.self).data
            #expect(try exportedBy(nil) == cube)  // nil: the identity on every channel
            // The same weights on standardised inputs give another cube: the comparison can tell.
            let scaled = (0..<2).map { _ in InputNormalization(mean: [Float](repeating: 0, count: 8), scale: [Float](repeating: 3, count: 8)) }
            #expect(try exportedBy(scaled) != cube)
        }
    }
}
