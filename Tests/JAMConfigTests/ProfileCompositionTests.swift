import Foundation
import JAMConfig
import JAMCore
import Testing

/// `--profile a,b`: profiles merged over the base left to right (docs in README "Configuration").
@Suite struct ProfileCompositionTests {
    static let text = #"""
        {"decode": {"size": 64, "every": 1},
         "profiles": {"big": {"decode": {"size": 128, "every": 2}},
                      "sparse": {"decode": {"every": 4}},
                      "split2": {"dataset": {"splits": [2]}}}}
        """#

    @Test func laterProfilesWinKeyByKey() throws {
        guard case .success(let c) = try loadText(Self.text, profile: "big,sparse") else {
            Issue.record("the composed config did not load"); return
        }
        #expect(c.profile == "big,sparse")
        #expect(c.decode.size == 128 && c.decode.every == 4)
        // The other order: `big` now wins on `every`.
        guard case .success(let d) = try loadText(Self.text, profile: "sparse,big") else {
            Issue.record("the composed config did not load"); return
        }
        #expect(d.decode.size == 128 && d.decode.every == 2)
        // Disjoint profiles both apply; spaces around names are allowed.
        guard case .success(let e) = try loadText(Self.text, profile: "sparse, split2") else {
            Issue.record("the composed config did not load"); return
        }
        #expect(e.decode.every == 4 && e.dataset.splits == [2] && e.decode.size == 64)
        // A single profile is unchanged by the feature.
        guard case .success(let f) = try loadText(Self.text, profile: "sparse") else {
            Issue.record("the single profile did not load"); return
        }
        #expect(f.decode.every == 4 && f.decode.size == 64)
    }

    @Test func unknownRepeatedAndEmptyNamesAreRefused() throws {
        #expect(try loadError(Self.text, profile: "big,nope")
            == #"pipeline.json: $.profiles: no profile named "nope" (profiles: "big", "sparse", "split2")"#)
        #expect(try loadError(Self.text, profile: "big,big")?.contains(#"names "big" twice"#) == true)
        #expect(try loadError(Self.text, profile: "big,,sparse")?.contains("empty name") == true)
    }

    /// Each profile is valid alone, but the merge is not: the error points into the profile
    /// that set the offending value — the rightmost one that holds it.
    @Test func errorsInAMergePointIntoTheProfileThatSetTheValue() throws {
        let text = #"""
            {"lstm": {"clip_length": 8, "vote_steps": 2},
             "profiles": {"votes": {"lstm": {"vote_steps": 8}},
                          "short": {"lstm": {"clip_length": 4}},
                          "short4": {"lstm": {"clip_length": 4, "vote_steps": 4}}}}
            """#
        let message = try loadError(text, profile: "votes,short")
        #expect(message?.hasPrefix("pipeline.json: $.profiles.votes.lstm.vote_steps") == true, "\(message ?? "no error")")
        // Where the later profile also sets the value, it is the fix and the only one named.
        _ = try #require(try loadText(text, profile: "votes,short4").get())
        #expect(try loadError(text, profile: "short,votes")?.hasPrefix("pipeline.json: $.profiles.votes.lstm.vote_steps") == true)
    }

    /// The four cells of the paper's Table 1 are each one command.
    @Test func tableOneCellsFromTheShippedProfiles() throws {
        let hmdbEarly = try PipelineConfig.load(from: repositoryConfig, profile: "paper,hmdb51,early-fusion")
        #expect(hmdbEarly.dataset.format == .hmdb51 && hmdbEarly.dataset.root == "data/HMDB51")
        #expect(hmdbEarly.dataset.splits == [1, 2, 3] && hmdbEarly.lstm.fusion == .early)
        #expect(hmdbEarly.decode.size == 384 && hmdbEarly.lstm.hidden == 1024)
        let ucfLate = try PipelineConfig.load(from: repositoryConfig, profile: "paper")
        #expect(ucfLate.dataset.format == .ucf101 && ucfLate.lstm.fusion == .late)
        let ucfEarly = try PipelineConfig.load(from: repositoryConfig, profile: "paper,early-fusion")
        #expect(ucfEarly.dataset.format == .ucf101 && ucfEarly.lstm.fusion == .early)
        let hmdbLate = try PipelineConfig.load(from: repositoryConfig, profile: "paper,hmdb51")
        #expect(hmdbLate.dataset.name == "hmdb51" && hmdbLate.lstm.fusion == .late)
        // Variants compose with `paper` too and keep its shapes.
        let variant = try PipelineConfig.load(from: repositoryConfig, profile: "paper,table3-2d")
        #expect(variant.c3d.middle == .twoD && variant.c3d.conv1Width == 256)
    }
}
