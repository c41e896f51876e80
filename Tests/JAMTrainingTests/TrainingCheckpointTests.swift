import Foundation
import JAMArtifacts
import JAMCore
import JAMNN
import JAMTestSupport
import JAMTraining
import Testing

struct TrainingCheckpointTests {
    func header(_ kind: ArtifactKind = .c3dCheckpoint) -> ArtifactHeader {
        ArtifactHeader(kind: kind, producer: "test 0", configDigest: "d1g3st", config: "{\"a\":1}", source: "here")
    }

    func makeStore() -> ParameterStore {
        let store = ParameterStore()
        store.add("net.kernel", shape: [2, 3, 4])
        store.add("net.bias", shape: [4], decays: false)
        var random = SplitMix64(seed: 3)
        for i in 0..<store.totalCount { store.values[i] = Float(random.nextGaussian()) }
        return store
    }

    @Test(arguments: ["adam", "sgd"]) func everyFieldSurvivesTheRoundTrip(optimizerName: String) throws {
        try withTemporaryDirectory { dir in
            let store = makeStore()
            let p = store.totalCount
            var random = SplitMix64(seed: 8)
            let optimizer: TrainingOptimizer
            if optimizerName == "adam" {
                var a = AdamOptimizer(parameterCount: p, beta1: 0.8, beta2: 0.99, epsilon: 1e-7)
                a.step = 17
                a.firstMoment = (0..<p).map { _ in Float(random.nextGaussian()) }
                a.secondMoment = (0..<p).map { _ in Float(random.nextUniform()) }
                optimizer = .adam(a)
            } else {
                var s = SGDMomentumOptimizer(parameterCount: p, momentum: 0.7)
                s.step = 9
                s.velocity = (0..<p).map { _ in Float(random.nextGaussian()) }
                optimizer = .sgd(s)
            }
            var generator = SplitMix64(seed: 0xDEAD_BEEF_0BAD_F00D)
            _ = generator.next()
            let state = TrainingState(
                epoch: 2, step: 17, position: 6, random: generator,
                order: [Clip(video: 3, start: 8), Clip(video: 0, start: 0), Clip(video: 1, start: 4)],
                running: ["loss": MetricSum(total: 1.25, weight: 6), "accuracy": MetricSum(total: 40, weight: 96)],
                dataIdentity: "sha256:abc")
            let log = [
                EpochRecord(epoch: 0, learningRate: 0.001, steps: 7, seconds: 1.5,
                            train: ["loss": 2.1, "accuracy": 0.25], validation: ["loss": 2.2, "accuracy": 0.2]),
                EpochRecord(epoch: 1, learningRate: 0.0005, steps: 14, seconds: 1.25,
                            train: ["loss": 1.1, "accuracy": 0.5], validation: [:]),
            ]
            let checkpoint = TrainingCheckpoint(store: store, optimizer: optimizer, state: state, log: log)
            let url = dir.appendingPathComponent("checkpoint.h5")
            try checkpoint.write(to: url, header: header())
            let (back, readHeader) = try TrainingCheckpoint.read(from: url, expecting: .c3dCheckpoint)
            #expect(back == checkpoint)
            // Where it stands, from the root attributes alone; nothing for another kind or no file.
            #expect(TrainingCheckpoint.position(at: url, kind: .c3dCheckpoint)! == (2, 17))
            #expect(TrainingCheckpoint.position(at: url, kind: .lstmCheckpoint) == nil)
            #expect(TrainingCheckpoint.position(at: dir.appendingPathComponent("absent.h5"), kind: .c3dCheckpoint) == nil)
            #expect(back.state.random.state == generator.state)
            #expect(readHeader.configDigest == "d1g3st")
            try back.validate(header: readHeader, url: url, configDigest: "d1g3st", store: store,
                              optimizerName: optimizerName, dataIdentity: "sha256:abc", producedBy: "jam-c3d")

            // The per-parameter datasets are the values in their shapes (what h5dump shows).
            let file = try HDF5File.open(at: url)
            let (kernel, shape) = try file.read("parameters/net.kernel", as: Float.self)
            #expect(shape == [2, 3, 4])
            #expect(kernel == Array(store.values[0..<24]))
            #expect(try file.stringArrayAttribute("parameter_names") == ["net.kernel", "net.bias"])
            #expect(try file.openDataset("parameters/net.bias").intAttribute("offset") == 24)
            #expect(try file.read("data_order", as: Int64.self).shape == [3, 2])

            // Restoring puts the values back into a store of the same layout.
            let fresh = ParameterStore()
            fresh.add("net.kernel", shape: [2, 3, 4])
            fresh.add("net.bias", shape: [4], decays: false)
            back.restore(into: fresh)
            #expect(fresh.values == store.values)
        }
    }

    /// Every array names its axes: parameters by their layout (kernel, matrix, bias), the flat
    /// vectors, the data order and the log.
    @Test func everyArrayNamesItsAxes() throws {
        try withTemporaryDirectory { dir in
            let store = ParameterStore()
            store.add("conv.kernel", shape: [3, 3, 3, 2, 4])
            store.add("fc.weight", shape: [4, 5])
            store.add("fc.bias", shape: [5], decays: false)
            let state = TrainingState(epoch: 1, step: 3, position: 0, random: SplitMix64(seed: 1),
                                      order: [Clip(video: 0, start: 2)], running: [:], dataIdentity: "x")
            let log = [EpochRecord(epoch: 0, learningRate: 0.1, steps: 3, seconds: 1, train: ["loss": 1], validation: [:])]
            let checkpoint = TrainingCheckpoint(store: store, optimizer: .adam(parameterCount: store.totalCount), state: state, log: log)
            let url = dir.appendingPathComponent("checkpoint.h5")
            try checkpoint.write(to: url, header: header())
            let file = try HDF5File.open(at: url)
            let expected = ["parameters/conv.kernel": "KT,KH,KW,IN,OUT", "parameters/fc.weight": "IN,OUT",
                            "parameters/fc.bias": "OUT", "values": "PARAMETER", "optimizer/first_moment": "PARAMETER",
                            "optimizer/second_moment": "PARAMETER", "data_order": "CLIP,VIDEO_START",
                            "log/epoch": "EPOCH", "log/train_loss": "EPOCH"]
            for (name, axes) in expected {
                #expect(try file.openDataset(name).stringAttribute("axes") == axes, "\(name)")
            }
        }
    }

    @Test func wrongKindAndDamagedFilesAreRefused() throws {
        try withTemporaryDirectory { dir in
            let store = makeStore()
            let state = TrainingState(epoch: 0, step: 0, position: 0, random: SplitMix64(seed: 1), order: [],
                                      running: [:], dataIdentity: "x")
            let checkpoint = TrainingCheckpoint(store: store, optimizer: .adam(parameterCount: store.totalCount),
                                                state: state, log: [])
            let url = dir.appendingPathComponent("features-not-checkpoint.h5")
            try checkpoint.write(to: url, header: header(.features))
            #expect {
                _ = try TrainingCheckpoint.read(from: url, expecting: .c3dCheckpoint)
            } throws: { error in
                let text = "\(error)"
                return text.contains("found a 'features' artifact") && text.contains("c3d-checkpoint") && text.contains(url.path)
            }
            let truncated = dir.appendingPathComponent("truncated.h5")
            try checkpoint.write(to: url, header: header())
            let bytes = try Data(contentsOf: url)
            try bytes.prefix(bytes.count / 2).write(to: truncated)
            #expect { _ = try TrainingCheckpoint.read(from: truncated, expecting: .c3dCheckpoint) } throws: { "\($0)".contains("truncated.h5") }
        }
    }
}
