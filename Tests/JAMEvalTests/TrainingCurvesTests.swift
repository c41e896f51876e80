import Foundation
import JAMEval
import JAMTestSupport
import Testing

@Suite struct TrainingCurvesTests {
    /// A log as TrainingLoop writes it (snake_case, "nan" for NaN), with a per-step line mixed in
    /// and epoch 0 logged twice (a resumed run): the later record wins.
    static let arrayLog = """
        [
          {"epoch": 0, "learning_rate": 0.001, "steps": 3, "seconds": 1.5,
           "train": {"loss": 9, "accuracy": 0.1}, "validation": {}},
          {"step": 4, "epoch_fraction": 0.5, "loss": 2.5, "eta_seconds": 12},
          {"epoch": 0, "learning_rate": 0.001, "steps": 3, "seconds": 1.5,
           "train": {"loss": 2.0, "accuracy": 0.25}, "validation": {"loss": 2.2, "accuracy": 0.2}},
          {"epoch": 1, "learning_rate": 0.001, "steps": 6, "seconds": 1.4,
           "train": {"loss": "nan", "accuracy": 0.5, "note": "x"}, "validation": {"loss": 1.9, "accuracy": 0.4}}
        ]
        """

    @Test func readsEpochRecordsAndSkipsTheRest() throws {
        let epochs = try TrainingLogReader.parse(Data(Self.arrayLog.utf8), file: "log.json")
        #expect(epochs.map(\.epoch) == [0, 1])
        #expect(epochs[0].train == ["loss": 2.0, "accuracy": 0.25] && epochs[0].validation["loss"] == 2.2)
        #expect(epochs[1].train["loss"]!.isNaN && epochs[1].train["note"] == nil)

        // The same records as JSON Lines, with a progress line and a blank line between.
        let lines = """
            {"epoch": 0, "train": {"loss": 2.0}, "validation": {"loss": 2.2}}

            {"step": 4, "loss": 2.5}
            {"epoch": 1, "train": {"loss": 1.5}}
            """
        let fromLines = try TrainingLogReader.parse(Data(lines.utf8), file: "log.jsonl")
        #expect(fromLines == [TrainingLogEpoch(epoch: 0, train: ["loss": 2.0], validation: ["loss": 2.2]),
                              TrainingLogEpoch(epoch: 1, train: ["loss": 1.5])])
        // An object holding the records under a key.
        let wrapped = try TrainingLogReader.parse(Data("{\"epochs\": [{\"epoch\": 2, \"train\": {}}]}".utf8), file: "w")
        #expect(wrapped.map(\.epoch) == [2])
        // Not JSON at all: an error naming the file.
        #expect(throws: (any Error).self) { try TrainingLogReader.parse(Data("epoch 1: lr".utf8), file: "bad.json") }
        do {
            _ = try TrainingLogReader.read(URL(fileURLWithPath: "/nonexistent/training-log.json"))
            Issue.record("a missing log must throw")
        } catch {
            #expect("\(error)".contains("/nonexistent/training-log.json"))
        }
    }

    /// The 3D convnet's logs: round 1 without the attention term (λ = 0), round 2 with it on both taps.
    static let c3d = StageTrainingLogs(stage: "3D convnet", split: "split 2", rounds: [
        (1, [TrainingLogEpoch(epoch: 0, train: ["loss": 5.0, "cross_entropy_pool4": 2.0, "cross_entropy_conv5_3": 3.0,
                                                "accuracy": 0.2],
                              validation: ["loss": 6.0, "accuracy": 0.1, "clip_accuracy": 0.3]),
             TrainingLogEpoch(epoch: 1, train: ["loss": 4.0, "cross_entropy_pool4": 1.5, "cross_entropy_conv5_3": 2.0,
                                                "accuracy": 0.4],
                              validation: ["loss": 5.0, "accuracy": 0.3, "clip_accuracy": 0.5])]),
        (2, [TrainingLogEpoch(epoch: 0, train: ["loss": 4.5, "cross_entropy_pool4": 1.0, "cross_entropy_conv5_3": 1.25,
                                                "attention_pool4": 0.5, "attention_conv5_3": 1.75, "accuracy": 0.6],
                              validation: ["loss": 3.0, "accuracy": 0.5])]),
    ])

    @Test func everyRoundIsLabelledAndTheAttentionTermHasItsOwnChart() throws {
        let figures = TrainingCurves.figures(Self.c3d)
        #expect(figures.map(\.title) == ["3D convnet: cross-entropy (split 2)", "3D convnet: attention term (split 2)",
                                         "3D convnet: accuracy (split 2)"])
        func series(_ figure: Int, _ name: String) throws -> PlotSeries {
            try #require(figures[figure].series.first { $0.name == name }, "\(name) in \(figures[figure].title)")
        }
        // Cross-entropy: the branches' terms summed (2 + 3, 1.5 + 2), not the loss with λ·attention in it.
        #expect(figures[0].series.map(\.name) == ["r1 train", "r1 validation", "r2 train", "r2 validation"])
        #expect(try series(0, "r1 train").points.map(\.y) == [5.0, 3.5])
        #expect(try series(0, "r1 train").points.map(\.x) == [1, 2])
        #expect(try series(0, "r2 train").points.map(\.y) == [2.25])
        #expect(try series(0, "r1 validation").dashed && !(try series(0, "r1 train").dashed))
        #expect(try series(0, "r1 train").color != (try series(0, "r2 train").color))
        // The attention term: only round 2 logged it, one series per tap.
        #expect(figures[1].series.map(\.name) == ["r2 train conv5_3", "r2 train pool4"])
        #expect(try series(1, "r2 train conv5_3").points.map(\.y) == [1.75])
        #expect(try series(1, "r2 train conv5_3").color == RGB.series(1), "round 2 keeps its colour")
        #expect(try series(1, "r2 train pool4").color != (try series(1, "r2 train conv5_3").color))
        #expect(figures[1].caption?.contains("r1 trained with λ = 0 and logged none") == true)
        #expect(figures[0].caption == nil)
        #expect(try series(2, "r1 validation per clip").points.map(\.y) == [0.3, 0.5])

        // The LSTM logs its cross-entropy as `loss` and no attention term: two charts.
        let lstm = TrainingCurves.figures(StageTrainingLogs(stage: "LSTM", split: nil, rounds: [
            (1, [TrainingLogEpoch(epoch: 0, train: ["loss": 1.2, "accuracy": 0.5], validation: ["loss": 1.4])]),
            (2, []),
        ]))
        #expect(lstm.map(\.title) == ["LSTM: cross-entropy", "LSTM: accuracy"])
        #expect(lstm[0].series.map(\.name) == ["r1 train", "r1 validation"] && lstm[0].series[0].points.map(\.y) == [1.2])
    }
}
