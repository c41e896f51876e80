import Foundation
import JAMConfig
import JAMCore
import JAMTestSupport
import Testing

@Suite struct StageDigestsTests {
    private func config(_ text: String) throws -> PipelineConfig {
        try PipelineConfig(document: JSONValue.parse(text, file: "t.json"), file: "t.json",
                           baseDirectory: URL(fileURLWithPath: "/project"))
    }

    @Test func canonicalJSONIsExactlyTheStageSettings() throws {
        let c = try PipelineConfig.load(from: repositoryConfig)
        let synth = #"{"classes":6,"container":"avi","fps":25,"frames":36,"height":120,"motion_period":16,"seed":2016,"videos_per_class":24,"width":160}"#
        #expect(c.synthStage.canonicalJSON == synth)
        #expect(c.synthDigest == String(SHA256.hex(synth).prefix(16)))
        let decode = #"{"dataset":{"format":"ucf101","name":"synth","root":"data/synth","synth":"\#(c.synthDigest)","#
            + #""synthetic":true},"decode":{"every":1,"max_frames":0,"resize":"stretch","size":96}}"#
        #expect(c.decodeStage.canonicalJSON == decode)
        #expect(c.decodeDigest == String(SHA256.hex(decode).prefix(16)))
        let features = #"{"batch":8,"decode":"\#(c.decodeDigest)","storage":"float16","weights":"he-init:16"}"#
        #expect(try c.featuresStage(weightsDigest: nil).canonicalJSON == features)
        #expect(try c.featuresDigest(weightsDigest: nil) == String(SHA256.hex(features).prefix(16)))
        #expect(c.decodeDigest.count == 16 && c.decodeDigest.allSatisfy(\.isHexDigit))
    }

    /// Each digest folder's `settings.json` is the canonical JSON its name is the digest of:
    /// written once, left alone when the same, and a different one is refused (a collision or an
    /// edited file), naming the file.
    @Test func settingsFileHoldsExactlyWhatTheFolderIsTheDigestOf() throws {
        try withTemporaryDirectory { dir in
            let c = try config(#"{"decode": {"size": 64}}"#)
            let settings = c.decodeStage
            let folder = dir.appendingPathComponent(settings.digest)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try settings.record(in: folder)
            let url = folder.appendingPathComponent(StageSettings.fileName)
            let written = try Data(contentsOf: url)
            #expect(String(decoding: written, as: UTF8.self) == settings.canonicalJSON)
            // `sha256sum settings.json` begins with the folder's name.
            #expect(String(SHA256.hex(written).prefix(16)) == folder.lastPathComponent)
            #expect(try JSONValue.read(contentsOf: url) == settings.settings)

            // The same settings again: nothing is rewritten.
            let before = try FileManager.default.attributesOfItem(atPath: url.path)[.modificationDate] as? Date
            usleep(20_000)
            try settings.record(in: folder)
            #expect(try FileManager.default.attributesOfItem(atPath: url.path)[.modificationDate] as? Date == before)

            // Other settings claiming the folder are refused and the file is kept.
            let other = try config(#"{"decode": {"size": 80}}"#).decodeStage
            #expect { try other.record(in: folder) } throws: { error in
                let text = "\(error)"
                return text.contains(url.path) && text.contains("edited") && text.contains("Move the folder")
            }
            #expect(try Data(contentsOf: url) == written)
        }
    }

    @Test func keyOrderAndWhitespaceDoNotMatter() throws {
        let a = try config(#"{"decode": {"size": 64, "resize": "crop"}, "synth": {"seed": 7, "fps": 30}}"#)
        let b = try config("""
            {
              "synth":  { "fps": 30,
                          "seed": 7 },
              "decode": { "resize": "crop", "size": 64.0 }
            }
            """)
        #expect(a.synthDigest == b.synthDigest)
        #expect(a.decodeDigest == b.decodeDigest)
        #expect(try a.featuresDigest(weightsDigest: nil) == b.featuresDigest(weightsDigest: nil))
        // Spelling out a default is the same as leaving it out.
        let c = try config(#"{"decode": {"size": 64, "resize": "crop", "every": 1}, "synth": {"seed": 7, "fps": 30, "width": 160}}"#)
        #expect(c.decodeDigest == a.decodeDigest)
    }

    @Test func eachSettingMovesExactlyItsStages() throws {
        let base = try config("{}")
        let size = try config(#"{"decode": {"size": 128}}"#)
        #expect(size.synthDigest == base.synthDigest)
        #expect(size.decodeDigest != base.decodeDigest)
        #expect(try size.featuresDigest(weightsDigest: nil) != base.featuresDigest(weightsDigest: nil))

        let threads = try config(#"{"decode": {"threads": 7}, "features": {"threads": 5}}"#)
        #expect(threads.synthDigest == base.synthDigest)
        #expect(threads.decodeDigest == base.decodeDigest)
        #expect(try threads.featuresDigest(weightsDigest: nil) == base.featuresDigest(weightsDigest: nil))
        // The batch size changes the last bits of VGG16's blocks 4-5 (the GEMMs batch frames).
        let batch = try config(#"{"features": {"batch": 3}}"#)
        #expect(try batch.featuresDigest(weightsDigest: nil) != base.featuresDigest(weightsDigest: nil))

        // A synth change reaches decode only while the dataset is synthetic.
        let synthetic = try config(#"{"dataset": {"synthetic": true}}"#)
        let seed = try config(#"{"dataset": {"synthetic": true}, "synth": {"seed": 1}}"#)
        #expect(seed.synthDigest != synthetic.synthDigest && seed.decodeDigest != synthetic.decodeDigest)
        let real = try config(#"{"dataset": {"synthetic": false}}"#)
        let realSeed = try config(#"{"dataset": {"synthetic": false}, "synth": {"seed": 1}}"#)
        #expect(real.decodeDigest == realSeed.decodeDigest)

        // Features: storage and weights identity count; the init seed only without a weights file.
        let storage = try config(#"{"features": {"storage": "float32"}}"#)
        #expect(storage.decodeDigest == base.decodeDigest)
        #expect(try storage.featuresDigest(weightsDigest: nil) != base.featuresDigest(weightsDigest: nil))
        let initSeed = try config(#"{"features": {"init_seed": 17}}"#)
        #expect(try initSeed.featuresDigest(weightsDigest: nil) != base.featuresDigest(weightsDigest: nil))
        let w1 = try config(#"{"features": {"weights": "w.h5", "init_seed": 1}}"#)
        let w2 = try config(#"{"features": {"weights": "w.h5", "init_seed": 2}}"#)
        #expect(try w1.featuresDigest(weightsDigest: "sha256:aa") == w2.featuresDigest(weightsDigest: "sha256:aa"))
        #expect(try w1.featuresDigest(weightsDigest: "sha256:aa") != w1.featuresDigest(weightsDigest: "sha256:bb"))
        #expect(try w1.featuresStage(weightsDigest: "sha256:aa").settings["weights"] == "sha256:aa")
    }

    @Test func weightsFileDigestHashesTheFile() throws {
        try withTemporaryDirectory { dir in
            let url = dir.appendingPathComponent("pipeline.json")
            try #"{"features": {"weights": "w.h5"}}"#.write(to: url, atomically: true, encoding: .utf8)
            try Data("weights".utf8).write(to: dir.appendingPathComponent("w.h5"))
            let c = try PipelineConfig.load(from: url)
            #expect(try c.weightsFileDigest() == "sha256:" + SHA256.hex("weights"))
            #expect(try PipelineConfig.load(from: repositoryConfig).weightsFileDigest() == nil)
        }
    }
}
