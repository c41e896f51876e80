import Foundation
import JAMArtifacts
import JAMCore
import JAMTestSupport
import Testing

// Round trips through the artifacts of the trained stages (cubes, attention, predictions) and
// their checks. Expected values are small hand-made arrays.

@Suite struct ModelArtifactsTests {
    let video = VideoEntry(relativePath: "MoveLeft/v_MoveLeft_g01_c01.avi", label: 1, className: "MoveLeft")

    func header(_ kind: ArtifactKind) -> ArtifactHeader {
        ArtifactHeader(kind: kind, producer: "jam-test \(jamVersion)", configDigest: "00ff", config: "{}",
                       source: video.relativePath)
    }

    // MARK: - cubes

    let branches = ["pool4", "conv5_3"]
    /// T2 = 3 steps of K = 2, N = 2: 8 floats a step.
    let steps = 3, stepSize = 8

    /// Branch b, element i: 1000b + i.
    func cube(_ b: Int) -> [Float] { (0..<24).map { Float(1000 * b + $0) } }

    func writeCubes(_ url: URL) throws {
        let provenance = CubesArtifact.Provenance(
            branches: branches, gridHeight: 2, gridWidth: 2, channels: 2, middle: "3d", round: 2, attentionWeight: 0.5,
            timeOffset: 1, centering: "video")
        try CubesArtifact.write(cubes: [cube(0), cube(1)], steps: steps, frameIndex: [1, 2, 3], video: video, split: 2,
                                subset: "test", provenance: provenance, to: url, header: header(.cubes))
    }

    @Test func cubesRoundTripThroughScanWithMomentsAndAttributes() throws {
        try withTemporaryDirectory { dir in
            let url = dir.appendingPathComponent("cubes/split2/MoveLeft/v.h5")
            try writeCubes(url)
            let geometry = CubesArtifact.Geometry(branches: branches, grid: 2, channels: [2, 2])
            let summary = try CubesArtifact.scan(url, video: video, branches: branches, expected: geometry, keep: true,
                                                 rerun: "rerun jam-c3d")
            #expect(summary.geometry == geometry)
            #expect(summary.steps == 3)
            #expect(summary.frameIndex == [1, 2, 3])
            #expect(summary.cubes == [cube(0), cube(1)])
            // Channel 0 holds the even elements 0, 2, …, 22 (+1000b), channel 1 the odd ones.
            for b in 0..<2 {
                let even = stride(from: 0, to: 24, by: 2).map { Double(1000 * b + $0) }
                let odd = even.map { $0 + 1 }
                let sums: [Double] = [even.reduce(0, +), odd.reduce(0, +)]
                let squares: [Double] = [even.map { $0 * $0 }.reduce(0, +), odd.map { $0 * $0 }.reduce(0, +)]
                #expect(summary.moments[b].count == 12)
                #expect(summary.moments[b].sums == sums)
                #expect(summary.moments[b].squares == squares)
            }
            let unkept = try CubesArtifact.scan(url, video: video, branches: branches, expected: nil, keep: false, rerun: "r")
            #expect(unkept.cubes.isEmpty)

            let file = try HDF5File.open(at: url)
            #expect(try file.intAttribute("split") == 2 && file.stringAttribute("subset") == "test")
            #expect(try file.stringArrayAttribute("branches") == branches)
            #expect(try file.intAttribute("grid") == 2 && file.intAttribute("grid_width") == 2)
            #expect(try file.intAttribute("channels") == 2 && file.intAttribute("round") == 2)
            #expect(try file.stringAttribute("middle") == "3d" && file.stringAttribute("centering") == "video")
            #expect(try file.doubleAttribute("attention_weight") == 0.5 && file.intAttribute("time_offset") == 1)
            #expect(!file.hasAttribute("input_mean_pool4"), "the standardization lives in the split's normalization.h5")
        }
    }

    @Test func readClipFromMemoryAndFromDiskAgreeAndPadWithTheLastStep() throws {
        try withTemporaryDirectory { dir in
            let url = dir.appendingPathComponent("c.h5")
            try writeCubes(url)
            let geometry = CubesArtifact.Geometry(branches: branches, grid: 2, channels: [2, 2])
            let clip = [1, 2, 2, 2]
            func read(from cubes: [[Float]]) throws -> [[Float]] {
                var first = [Float](repeating: -1, count: clip.count * stepSize), second = first
                try first.withUnsafeMutableBufferPointer { a in
                    try second.withUnsafeMutableBufferPointer { b in
                        try CubesArtifact.readClip(into: [a.baseAddress!, b.baseAddress!], url: url, cubes: cubes, steps: clip,
                                                   geometry: geometry)
                    }
                }
                return [first, second]
            }
            let expected = (0..<2).map { b in clip.flatMap { s in (0..<stepSize).map { Float(1000 * b + s * stepSize + $0) } } }
            #expect(try read(from: [cube(0), cube(1)]) == expected, "from memory")
            #expect(try read(from: []) == expected, "from disk")
        }
    }

    func scanError(_ url: URL, video: VideoEntry, expected: CubesArtifact.Geometry? = nil) -> String {
        do {
            _ = try CubesArtifact.scan(url, video: video, branches: branches, expected: expected, keep: false,
                                       rerun: "rerun jam-c3d --round 2")
            Issue.record("scan of \(url.lastPathComponent) succeeded")
            return ""
        } catch {
            return String(describing: error)
        }
    }

    @Test func cubesScanRefusesAnotherLabelAnotherGeometryAndAMissingFile() throws {
        try withTemporaryDirectory { dir in
            let url = dir.appendingPathComponent("c.h5")
            try writeCubes(url)
            let relabelled = VideoEntry(relativePath: video.relativePath, label: 0, className: "ApplyLipstick")
            let label = scanError(url, video: relabelled)
            #expect(label.contains(url.path) && label.contains("label is 1, the split files say 0 (ApplyLipstick)")
                    && label.contains("rerun jam-c3d --round 2 --force"), "\(label)")

            let wider = CubesArtifact.Geometry(branches: branches, grid: 3, channels: [2, 2])
            let geometry = scanError(url, video: video, expected: wider)
            #expect(geometry.contains(url.path) && geometry.contains("cubes are pool4 [T, 2, 2, 2], conv5_3 [T, 2, 2, 2]"),
                    "\(geometry)")

            let missing = dir.appendingPathComponent("none.h5")
            let text = scanError(missing, video: video)
            #expect(text.contains(missing.path) && text.contains("no cubes artifact for \(video.relativePath)"), "\(text)")
        }
    }

    // MARK: - attention

    /// T = 3 steps of K = 2 (4 locations); 2 clips of L1 = 2 steps over 3 classes.
    func content() -> AttentionArtifact.Content {
        AttentionArtifact.Content(
            attention: (0..<12).map { Float($0) / 16 }, perBranch: nil, branchCount: 1, clipStarts: [0, 1],
            clipProbabilities: (0..<12).map { Float($0) / 12 }, frameIndex: [1, 2, 3], classNames: ["a", "b", "c"],
            round: 1, branches: branches, grid: 2, clipLength: 2, clipStride: 1, attentionMode: "joint", note: nil,
            checkpointStep: 40)
    }

    @Test func attentionRoundTripsMapsAndClipProbabilitiesWithShapeChecks() throws {
        try withTemporaryDirectory { dir in
            let url = dir.appendingPathComponent("attention/split1/MoveLeft/v.h5")
            try AttentionArtifact.write(content(), video: video, split: 1, subset: "train", to: url, header: header(.attention))

            #expect(try AttentionArtifact.readMaps(url, video: video.relativePath, steps: 3, locations: 4)
                    == (0..<12).map { Float($0) / 16 })
            do {
                _ = try AttentionArtifact.readMaps(url, video: video.relativePath, steps: 3, locations: 9)
                Issue.record("[3, 4] maps were accepted as [3, 9]")
            } catch let error as JAMError {
                #expect(error.description.contains(url.path) && error.description.contains("attention has shape [3, 4]")
                        && error.description.contains("[3, 9]"), "\(error)")
            }
            let missing = dir.appendingPathComponent("none.h5")
            do {
                _ = try AttentionArtifact.readMaps(missing, video: video.relativePath, steps: 3, locations: 4)
                Issue.record("a missing attention artifact was read")
            } catch let error as JAMError {
                #expect(error.description.contains(missing.path) && error.description.contains("run jam-lstm"), "\(error)")
            }

            let probabilities = try AttentionArtifact.readClipProbabilities(url, classes: 3, rerun: "run jam-lstm")
            #expect(probabilities.clips == 2 && probabilities.steps == 2)
            #expect(probabilities.values == (0..<12).map { Float($0) / 12 })
            do {
                _ = try AttentionArtifact.readClipProbabilities(url, classes: 4, rerun: "run jam-lstm")
                Issue.record("3 classes were accepted as 4")
            } catch let error as JAMError {
                #expect(error.description.contains(url.path) && error.description.contains("expected [clips, L1, 4]"), "\(error)")
            }

            let figure = try #require(try AttentionArtifact.readForFigure(url))
            #expect(figure.steps == 3 && figure.grid == 2 && figure.video == video.relativePath)
            #expect(try AttentionArtifact.readForFigure(missing) == nil)

            let file = try HDF5File.open(at: url)
            #expect(try file.read("clip_starts", as: Int32.self).data == [0, 1])
            #expect(!file.contains("attention_per_branch"))
            #expect(try file.stringArrayAttribute("class_names") == ["a", "b", "c"])
            #expect(try file.stringAttribute("attention_mode") == "joint" && file.intAttribute("checkpoint_step") == 40)
        }
    }

    @Test func perBranchAttentionIsWrittenBesideTheMean() throws {
        try withTemporaryDirectory { dir in
            let url = dir.appendingPathComponent("a.h5")
            var c = content()
            c.perBranch = (0..<24).map(Float.init)
            c.branchCount = 2
            c.note = "mean pooling"
            try AttentionArtifact.write(c, video: video, split: 1, subset: "test", to: url, header: header(.attention))
            let file = try HDF5File.open(at: url)
            let perBranch = try file.read("attention_per_branch", as: Float.self)
            #expect(perBranch.shape == [3, 2, 4] && perBranch.data == (0..<24).map(Float.init))
            #expect(try file.stringAttribute("attention_note") == "mean pooling")
        }
    }

    // MARK: - predictions

    @Test func predictionsAreWrittenWithTop5PaddedWithMinusOne() throws {
        try withTemporaryDirectory { dir in
            let url = dir.appendingPathComponent("eval/vote/split1/predictions.h5")
            let rows = [
                PredictionsArtifact.Row(video: "a/x.avi", trueLabel: 2, predictedLabel: 2, top5: [2, 0, 1],
                                        probabilities: [0.25, 0.125, 0.625]),
                PredictionsArtifact.Row(video: "b/y.avi", trueLabel: 0, predictedLabel: 1, top5: [1, 0, 2],
                                        probabilities: [0.375, 0.5, 0.125]),
            ]
            try PredictionsArtifact.write(rows, classNames: ["a", "b", "c"], rule: "vote", voteSteps: 4, to: url,
                                          header: header(.predictions))
            let reader = try ArtifactReader(url: url, expecting: .predictions)
            let file = reader.file
            #expect(try file.read("true_label", as: Int32.self).data == [2, 0])
            #expect(try file.read("predicted_label", as: Int32.self).data == [2, 1])
            let top5 = try file.read("top5", as: Int32.self)
            #expect(top5.shape == [2, 5])
            #expect(top5.data == [2, 0, 1, -1, -1, 1, 0, 2, -1, -1])
            let probabilities = try file.read("probabilities", as: Float.self)
            #expect(probabilities.shape == [2, 3])
            #expect(probabilities.data == [0.25, 0.125, 0.625, 0.375, 0.5, 0.125])
            #expect(try file.stringArrayAttribute("videos") == ["a/x.avi", "b/y.avi"])
            #expect(try file.stringArrayAttribute("class_names") == ["a", "b", "c"])
            #expect(try file.stringAttribute("rule") == "vote" && file.intAttribute("vote_steps") == 4)
        }
    }
}
