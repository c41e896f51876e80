// Tests: Tests/JAMStagesTests/FailureMessageTests.swift (damaged outputs and checkpoints are redone, saying which and why)
import Foundation
import JAMArtifacts
import JAMCore
import JAMTraining

// What each stage checks of a finished output before it skips the unit (docs/ARTIFACTS.md,
// "What the stages verify"): `ArtifactVerification` with the datasets and shapes of the kind.
// A file under its final name was complete when published; these checks catch what happened
// to it since (truncated by a copy, zeroed, replaced, made unreadable).

enum FinishedOutput {
    /// A frames artifact of side `size`: `frames [T, S, S, 3]`, `frame_index [T]`.
    static func frames(size: Int) -> (WorkUnit, VerificationDepth) throws -> Void {
        { unit, depth in
            try ArtifactVerification.verify(unit.output, kind: .frames, datasets: [
                DatasetExpectation("frames", shape: [nil, size, size, 3], leadingAxis: "T"),
                DatasetExpectation("frame_index", shape: [nil], leadingAxis: "T"),
            ], depth: depth)
        }
    }

    /// A features artifact of maps `shape`: `pool4`, `conv5_3` `[T, H, W, C]`, `frame_index [T]`.
    static func features(taps: [String], shape: FeaturesArtifact.MapShape) -> (WorkUnit, VerificationDepth) throws -> Void {
        { unit, depth in
            try ArtifactVerification.verify(unit.output, kind: .features, datasets: taps.map {
                DatasetExpectation($0, shape: [nil, shape.height, shape.width, shape.channels], leadingAxis: "T")
            } + [DatasetExpectation("frame_index", shape: [nil], leadingAxis: "T")], depth: depth)
        }
    }

    /// A cubes artifact: `cube/<branch> [T2, K, K, N]` per branch, `frame_index [T2]`.
    static func cubes(branches: [String]) -> (WorkUnit, VerificationDepth) throws -> Void {
        { unit, depth in
            try ArtifactVerification.verify(unit.output, kind: .cubes, datasets: branches.map {
                DatasetExpectation(CubesArtifact.datasetName(branch: $0), shape: [nil, nil, nil, nil], leadingAxis: "T2")
            } + [DatasetExpectation("frame_index", shape: [nil], leadingAxis: "T2")], depth: depth)
        }
    }

    /// An attention artifact: `attention [T, K·K]`, `frame_index [T]`, `clip_starts [clips]`,
    /// `clip_probabilities [clips, L1, C]`.
    static func attention(classes: Int?) -> (WorkUnit, VerificationDepth) throws -> Void {
        { unit, depth in
            try ArtifactVerification.verify(unit.output, kind: .attention, datasets: [
                DatasetExpectation("attention", shape: [nil, nil], leadingAxis: "T"),
                DatasetExpectation("frame_index", shape: [nil], leadingAxis: "T"),
                DatasetExpectation("clip_starts", shape: [nil], leadingAxis: "clips"),
                DatasetExpectation("clip_probabilities", shape: [nil, nil, classes], leadingAxis: "clips"),
            ], depth: depth)
        }
    }

    /// Checks a trained stage's checkpoint: its whole final state readable (`TrainingCheckpoint.read`),
    /// and with `full` every parameter and optimizer value finite. Returns why it cannot be used, or nil.
    static func checkpointProblem(_ url: URL, kind: ArtifactKind, depth: VerificationDepth) -> String? {
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        do {
            let (checkpoint, _) = try TrainingCheckpoint.read(from: url, expecting: kind)
            if depth == .full, let bad = checkpoint.values.firstIndex(where: { !$0.isFinite }) {
                return "parameter value \(bad) is \(checkpoint.values[bad])"
            }
            return nil
        } catch {
            return UnitFailure(unit: "", error: error, file: url.path).reason
        }
    }
}
