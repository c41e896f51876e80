import Foundation
import JAMConfig
import JAMCore
import JAMTestSupport
import Testing

/// The repository's `pipeline.json`, found from this file's location.
let repositoryConfig = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("pipeline.json")

/// Writes `text` as `pipeline.json` in a fresh folder and loads it; returns the error text on failure.
func loadText(_ text: String, profile: String? = nil) throws -> Result<PipelineConfig, JAMError> {
    try withTemporaryDirectory { dir in
        let url = dir.appendingPathComponent("pipeline.json")
        try text.write(to: url, atomically: true, encoding: .utf8)
        do {
            return .success(try PipelineConfig.load(from: url, profile: profile))
        } catch let error as JAMError {
            return .failure(error)
        }
    }
}

/// The message of loading `text`, with the temporary folder replaced by `pipeline.json`.
func loadError(_ text: String, profile: String? = nil) throws -> String? {
    guard case .failure(let e) = try loadText(text, profile: profile) else { return nil }
    var e2 = e
    if let f = e.file { e2.file = URL(fileURLWithPath: f).lastPathComponent }
    return e2.description
}

@Suite struct PipelineConfigTests {
    @Test func aConfigIncludesAnothersProfilesOverItsOwnBase() throws {
        try withTemporaryDirectory { dir in
            func write(_ name: String, _ text: String) throws {
                try text.write(to: dir.appendingPathComponent(name), atomically: true, encoding: .utf8)
            }
            try write("base.json", #"{"decode": {"size": 256}, "profiles": {"big": {"decode": {"size": 64}}, "small": {"decode": {"size": 48}}}}"#)
            try write("my.json", #"{"include": "base.json", "decode": {"size": 32, "every": 2}, "profiles": {"small": {"decode": {"size": 16}}}}"#)
            let url = dir.appendingPathComponent("my.json")
            let base = try PipelineConfig.load(from: url)
            #expect(base.decode.size == 32 && base.availableProfiles == ["big", "small"])
            // The included profile applies over this file's base, not the included file's.
            let big = try PipelineConfig.load(from: url, profile: "big")
            #expect(big.decode.size == 64 && big.decode.every == 2)
            // This file's own profile wins over the included one of the same name.
            #expect(try PipelineConfig.load(from: url, profile: "small").decode.size == 16)
            // The shipped profiles from a user's own config.
            try write("mine.json", #"{"include": "\#(repositoryConfig.path)", "artifacts_root": "elsewhere"}"#)
            let paper = try PipelineConfig.load(from: dir.appendingPathComponent("mine.json"), profile: "paper")
            #expect(paper.decode.size == 384 && paper.lstm.layers == 3 && paper.dataset.name == "ucf101")
            #expect(paper.artifactsRootSetting == "elsewhere")
        }
    }

    @Test func includesThatCycleOrMissAreRefusedWithTheJSONPath() throws {
        try withTemporaryDirectory { dir in
            func write(_ name: String, _ text: String) throws {
                try text.write(to: dir.appendingPathComponent(name), atomically: true, encoding: .utf8)
            }
            try write("a.json", #"{"include": "b.json"}"#)
            try write("b.json", #"{"include": "a.json", "profiles": {"p": {}}}"#)
            #expect { try PipelineConfig.load(from: dir.appendingPathComponent("a.json")) } throws: {
                "\($0)".contains("$.include") && "\($0)".contains("a.json → b.json → a.json")
            }
            try write("c.json", #"{"include": "nowhere.json"}"#)
            #expect { try PipelineConfig.load(from: dir.appendingPathComponent("c.json")) } throws: {
                "\($0)".contains("$.include") && "\($0)".contains(dir.appendingPathComponent("nowhere.json").path)
            }
            try write("d.json", #"{"include": 3}"#)
            #expect { try PipelineConfig.load(from: dir.appendingPathComponent("d.json")) } throws: {
                "\($0)".contains("$.include") && "\($0)".contains("expected the path of another config file")
            }
        }
    }

    @Test func aDatasetIsSyntheticOnlyWhenItSaysSo() throws {
        try withTemporaryDirectory { dir in
            let url = dir.appendingPathComponent("own.json")
            try #"{"dataset": {"name": "own", "format": "folders", "root": "videos"}}"#.write(to: url, atomically: true, encoding: .utf8)
            #expect(!(try PipelineConfig.load(from: url)).dataset.synthetic)
        }
    }

    @Test func loadsTheEmbeddedDefault() throws {
        let c = try PipelineConfig.load(from: repositoryConfig)
        #expect(c.profile == nil)
        #expect(c.dataset == {
            var d = DatasetSettings()
            d.name = "synth"; d.format = .ucf101; d.root = "data/synth"; d.splits = [1]; d.synthetic = true
            return d
        }())
        #expect(c.synth.seed == 2016 && c.synth.classes == 6 && c.synth.videosPerClass == 24)
        #expect(c.synth.frames == 36 && c.synth.motionPeriod == 16 && c.synth.width == 160 && c.synth.height == 120)
        #expect(c.synth.fps == 25 && c.synth.container == .avi)
        #expect(c.decode.size == 96 && c.decode.resize == .stretch && c.decode.every == 1)
        #expect(c.decode.maxFrames == 0 && c.decode.threads == 2)
        #expect(c.features.weights == nil && c.features.initSeed == 16 && c.features.batch == 8)
        #expect(c.features.storage == .float16 && c.features.threads == 2)
        let repo = repositoryConfig.deletingLastPathComponent()
        #expect(c.datasetRoot.path == repo.appendingPathComponent("data/synth").path)
        #expect(c.artifactsRoot.path == repo.appendingPathComponent("data/artifacts").path)
        #expect(c.weightsURL == nil)
    }

    @Test func paperProfile() throws {
        let c = try PipelineConfig.load(from: repositoryConfig, profile: "paper")
        #expect(c.profile == "paper")
        // The paper's settings for real data, the order-blind control and the variants of the
        // paper's Tables 2-4 (docs/DESIGN.md §6).
        for name in ["paper", "order-blind", "table2-pool4", "table2-conv5_3", "table3-no-middle", "table3-2d",
                     "table3-3d-no-regularisation", "table4-early-fusion", "table4-no-attention",
                     "sharma-soft-attention"] {
            #expect(c.availableProfiles.contains(name), "pipeline.json lacks the \(name) profile")
            #expect(throws: Never.self) { try PipelineConfig.load(from: repositoryConfig, profile: name) }
        }
        #expect(c.dataset.name == "ucf101" && c.dataset.format == .ucf101 && c.dataset.root == "data/UCF101")
        #expect(c.dataset.splits == [1, 2, 3] && !c.dataset.synthetic)
        #expect(c.decode.size == 384 && c.features.storage == .float16)
        #expect(c.features.weights == "data/weights/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5")
        // Settings the profile does not touch come from the base.
        #expect(c.decode.resize == .stretch && c.features.batch == 8 && c.synth.seed == 2016)
        #expect(c.weightsURL?.lastPathComponent == "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5")
        #expect(throws: JAMError.self) { try c.featuresDigest(weightsDigest: nil) }
        #expect(try c.featuresDigest(weightsDigest: "sha256:abc").count == 16)
    }

    /// Every default is the embedded file's, but `dataset.synthetic`: a dataset is synthetic only
    /// when it says so, as pipeline.json does.
    @Test func defaultsEqualTheEmbeddedFile() throws {
        guard case .success(let empty) = try loadText(#"{"dataset": {"synthetic": true}}"#) else {
            Issue.record("the config did not load"); return
        }
        let file = try PipelineConfig.load(from: repositoryConfig)
        #expect(empty.effectiveSettings == file.effectiveSettings)
        #expect(empty.decodeDigest == file.decodeDigest)
    }

    @Test func deepMergeOfAProfile() throws {
        let text = """
            {"decode": {"size": 64, "every": 2},
             "dataset": {"splits": [1, 2]},
             "profiles": {"fast": {"decode": {"every": 3}, "dataset": {"splits": [3]}},
                          "other": {}}}
            """
        guard case .success(let c) = try loadText(text, profile: "fast") else { Issue.record("no load"); return }
        #expect(c.decode.size == 64 && c.decode.every == 3)
        #expect(c.dataset.splits == [3])  // arrays replace, not append
        #expect(c.document["profiles"] == nil)
        guard case .success(let base) = try loadText(text) else { Issue.record("no load"); return }
        #expect(base.decode.every == 2 && base.dataset.splits == [1, 2])
    }

    @Test(arguments: [
        (#"{"decode": {"sise": 64}}"#, nil,
         "pipeline.json: $.decode.sise: unknown key (known: every, max_frames, resize, size, threads)"),
        (#"{"decode": {"size": "big"}}"#, nil, #"pipeline.json: $.decode.size: expected an integer, found "big""#),
        (#"{"decode": {"size": 100}}"#, nil, "pipeline.json: $.decode.size: expected a multiple of 16, found 100"),
        (#"{"decode": {"every": 0}}"#, nil, "pipeline.json: $.decode.every: expected an integer >= 1, found 0"),
        (#"{"decode": {"resize": "fit"}}"#, nil,
         #"pipeline.json: $.decode.resize: expected one of "stretch", "crop", found "fit""#),
        (#"{"synth": {"classes": 12}}"#, nil, "pipeline.json: $.synth.classes: expected an integer in 2...10, found 12"),
        (#"{"synth": {"videos_per_class": 2}}"#, nil,
         "pipeline.json: $.synth.videos_per_class: expected an integer >= 3, found 2"),
        (#"{"synth": {"width": 161}}"#, nil, "pipeline.json: $.synth.width: expected an even width (4:2:0 video), found 161"),
        (#"{"synth": {"container": "mkv"}}"#, nil,
         #"pipeline.json: $.synth.container: expected one of "avi", "mp4", found "mkv""#),
        (#"{"dataset": {"format": "kinetics"}}"#, nil,
         #"pipeline.json: $.dataset.format: expected one of "ucf101", "hmdb51", "folders", found "kinetics""#),
        (#"{"dataset": {"splits": [1, 4]}}"#, nil, "pipeline.json: $.dataset.splits[1]: expected an integer in 1...3, found 4"),
        (#"{"dataset": {"synthetic": "yes"}}"#, nil, #"pipeline.json: $.dataset.synthetic: expected true or false, found "yes""#),
        (#"{"dataset": {"name": "../up"}}"#, nil,
         #"pipeline.json: $.dataset.name: expected a name of letters, digits, '.', '_' or '-' (it becomes a folder), found "../up""#),
        (#"{"features": {"weights": 5}}"#, nil, "pipeline.json: $.features.weights: expected null or a non-empty string, found 5"),
        (#"{"features": {"storage": "int8"}}"#, nil,
         #"pipeline.json: $.features.storage: expected one of "float32", "float16", found "int8""#),
        (#"{"features": []}"#, nil, "pipeline.json: $.features: expected an object, found an array"),
        (#"{"c3dd": {}}"#, nil,
         "pipeline.json: $.c3dd: unknown key (known: artifacts_root, c3d, dataset, decode, features, lstm, profiles, synth)"),
        (#"{"artifacts_root": 3}"#, nil, "pipeline.json: $.artifacts_root: expected a non-empty string, found 3"),
        // Profiles: bodies are checked even when not chosen, and errors point into them.
        (#"{"profiles": {"p": {"decode": {"sise": 1}}}}"#, nil,
         "pipeline.json: $.profiles.p.decode.sise: unknown key (known: every, max_frames, resize, size, threads)"),
        (#"{"profiles": {"p": {"decode": {"size": 99}}}}"#, "p",
         "pipeline.json: $.profiles.p.decode.size: expected a multiple of 16, found 99"),
        (#"{"profiles": {"p": {"dataset": {"splits": [0]}}}}"#, nil,
         "pipeline.json: $.profiles.p.dataset.splits[0]: expected an integer in 1...3, found 0"),
        (#"{"profiles": {"p": {"profiles": {}}}}"#, nil,
         "pipeline.json: $.profiles.p.profiles: unknown key (known: artifacts_root, c3d, dataset, decode, features, lstm, synth)"),
        (#"{"profiles": {"p": 3}}"#, nil, "pipeline.json: $.profiles.p: expected an object, found 3"),
        (#"{"profiles": {"p": {}, "q": {}}}"#, "paper", #"pipeline.json: $.profiles: no profile named "paper" (profiles: "p", "q")"#),
        ("{}", "paper", #"pipeline.json: no profile named "paper" (the file has no profiles)"#),
        // A base error is reported at the base's path even when a profile merges over it.
        (#"{"decode": {"size": 99}, "profiles": {"p": {"decode": {"every": 2}}}}"#, "p",
         "pipeline.json: $.decode.size: expected a multiple of 16, found 99"),
        ("{\n  \"decode\": {\"size\": 96,}\n}", nil, "pipeline.json: line 2, column 25: expected a key in double quotes"),
    ] as [(String, String?, String)])
    func errorMessages(text: String, profile: String?, message: String) throws {
        #expect(try loadError(text, profile: profile) == message)
    }

    @Test func missingFileIsNamed() {
        let url = URL(fileURLWithPath: "/nonexistent/jam/pipeline.json")
        #expect {
            try PipelineConfig.load(from: url)
        } throws: { error in
            "\(error)".hasPrefix("/nonexistent/jam/pipeline.json: cannot read")
        }
    }

    @Test func relativePathsResolveAgainstTheConfigFolder() throws {
        try withTemporaryDirectory { dir in
            let sub = dir.appendingPathComponent("exp")
            try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: true)
            let url = sub.appendingPathComponent("pipeline.json")
            try #"{"artifacts_root": "../out", "dataset": {"root": "/abs/videos"}, "features": {"weights": "w.h5"}}"#
                .write(to: url, atomically: true, encoding: .utf8)
            let c = try PipelineConfig.load(from: url)
            #expect(c.artifactsRoot.path == dir.appendingPathComponent("out").standardizedFileURL.path)
            #expect(c.datasetRoot.path == "/abs/videos")
            #expect(c.weightsURL?.path == sub.appendingPathComponent("w.h5").standardizedFileURL.path)
        }
    }
}
