// shapes: values, first/second moments and velocity `[P]` (P = ParameterStore.totalCount, the
// store's layout); each parameter also as its own dataset in its own shape; data order `[N, 2]`
// (video, start); log columns `[E]` (epochs logged).
import Foundation
import JAMArtifacts
import JAMCore
import JAMNN

/// A sum and its weight, accumulated over an epoch's steps; `mean = total / weight`.
/// (Loss: total = Σ loss·clips, weight = clips. Accuracy: total = correct steps, weight = steps.)
public struct MetricSum: Sendable, Hashable, Codable {
    public var total: Double
    public var weight: Double

    public init(total: Double, weight: Double) {
        self.total = total
        self.weight = weight
    }

    public var mean: Double { weight > 0 ? total / weight : .nan }

    public static func + (a: MetricSum, b: MetricSum) -> MetricSum {
        MetricSum(total: a.total + b.total, weight: a.weight + b.weight)
    }
}

/// One line of the training log: what an epoch did.
public struct EpochRecord: Sendable, Equatable, Codable {
    /// 0-based epoch.
    public var epoch: Int
    public var learningRate: Double
    /// Optimizer steps taken in total when the epoch ended.
    public var steps: Int
    /// Wall-clock seconds of the epoch (of its last run, when resumed; not reproducible).
    public var seconds: Double
    /// Training metrics: the epoch's `MetricSum` means by name (`loss`, `accuracy`, …).
    public var train: [String: Double]
    /// Validation metrics by name, as the validation closure returned them (empty: none).
    public var validation: [String: Double]

    public init(epoch: Int, learningRate: Double, steps: Int, seconds: Double,
                train: [String: Double], validation: [String: Double]) {
        self.epoch = epoch
        self.learningRate = learningRate
        self.steps = steps
        self.seconds = seconds
        self.train = train
        self.validation = validation
    }

    enum CodingKeys: String, CodingKey {
        case epoch, steps, seconds, train, validation
        case learningRate = "learning_rate"
    }

    /// `epoch 3: lr 0.001, train loss 0.4123 accuracy 0.8120 | validation loss 0.5 accuracy 0.79 (12.3 s)`.
    public var line: String {
        func list(_ metrics: [String: Double]) -> String {
            metrics.keys.sorted().map { String(format: "%@ %.4f", $0, metrics[$0]!) }.joined(separator: " ")
        }
        var text = String(format: "epoch %d: lr %.3g, train ", epoch + 1, learningRate) + list(train)
        if !validation.isEmpty { text += " | validation " + list(validation) }
        return text + String(format: " (%.1f s)", seconds)
    }
}

/// One parameter as a checkpoint records it (a `ParameterView`'s fields).
public struct ParameterManifestEntry: Sendable, Hashable, Codable, CustomStringConvertible {
    public var name: String
    public var shape: [Int]
    public var offset: Int
    public var decays: Bool

    public init(name: String, shape: [Int], offset: Int, decays: Bool) {
        (self.name, self.shape, self.offset, self.decays) = (name, shape, offset, decays)
    }

    public init(_ view: ParameterView) {
        self.init(name: view.name, shape: view.shape, offset: view.offset, decays: view.decays)
    }

    public var count: Int { shape.reduce(1, *) }
    public var description: String { "\(name)\(shape)@\(offset)" }
}

/// Where a training run stands: everything besides the weights and the optimizer that a
/// resumed run needs to continue exactly as an uninterrupted one would.
public struct TrainingState: Sendable, Equatable {
    /// The epoch in progress (0-based); at an epoch's start (`position` 0), the epochs done, which
    /// equals the planned epoch count when training is done (more planned epochs continue from here).
    public var epoch: Int
    /// Optimizer steps taken in total.
    public var step: Int
    /// Clips of `order` already trained on in this epoch.
    public var position: Int
    /// The loop's generator, for models that draw random numbers per step (dropout, noise).
    public var random: SplitMix64
    /// This epoch's clip order (stored, not only recomputable: a reader can see it).
    public var order: [Clip]
    /// The epoch's metric sums so far.
    public var running: [String: MetricSum]
    /// Identity of the clip list the order indexes (`ClipSampler.identity`, hashed).
    public var dataIdentity: String

    public init(epoch: Int, step: Int, position: Int, random: SplitMix64, order: [Clip],
                running: [String: MetricSum], dataIdentity: String) {
        self.epoch = epoch
        self.step = step
        self.position = position
        self.random = random
        self.order = order
        self.running = running
        self.dataIdentity = dataIdentity
    }
}

/// A training checkpoint (STYLE §5: the parameter buffer plus a manifest of names and shapes),
/// stored as one HDF5 artifact that `h5dump` explains:
///
///     /                       root attributes: the common ones (docs/ARTIFACTS.md) and
///                             epoch, step, position_in_epoch, random_state ("0x…" hex),
///                             data_identity, optimizer ("adam"|"sgd"), parameter_count,
///                             parameter_names (string array, store order)
///     /values                 float32 [P], every parameter, the store's layout
///     /parameters/<name>      float32 in the parameter's shape; attributes offset, decays
///     /optimizer              attributes step (+ beta1, beta2, epsilon | momentum)
///     /optimizer/first_moment, /optimizer/second_moment   float32 [P]   (Adam)
///     /optimizer/velocity     float32 [P]                              (SGD)
///     /data_order             int64 [N, 2]: (video, start) of the epoch's clips, in order
///     /running/<metric>       float64 [2]: (total, weight) of the epoch so far
///     /log/epoch, /log/learning_rate, /log/steps, /log/seconds, /log/train_<metric>,
///     /log/validation_<metric>                                        [E], one row per epoch
public struct TrainingCheckpoint: Sendable, Equatable {
    public var manifest: [ParameterManifestEntry]
    public var values: [Float]
    public var optimizer: TrainingOptimizer
    public var state: TrainingState
    public var log: [EpochRecord]

    public init(manifest: [ParameterManifestEntry], values: [Float], optimizer: TrainingOptimizer,
                state: TrainingState, log: [EpochRecord]) {
        (self.manifest, self.values, self.optimizer, self.state, self.log) = (manifest, values, optimizer, state, log)
    }

    /// A snapshot of a store (values and manifest) with the optimizer and loop state.
    public init(store: ParameterStore, optimizer: TrainingOptimizer, state: TrainingState, log: [EpochRecord]) {
        self.init(manifest: store.views.map(ParameterManifestEntry.init), values: store.values, optimizer: optimizer, state: state, log: log)
    }

    // MARK: - Writing

    /// Writes the checkpoint atomically: a temporary sibling, published over `url` by rename,
    /// so `url` always holds the last complete checkpoint (docs/DESIGN.md §3).
    public func write(to url: URL, header: ArtifactHeader) throws {
        let writer = try ArtifactWriter(url: url, header: header)
        let file = writer.file!
        let p = values.count
        try file.setAttribute("epoch", state.epoch)
        try file.setAttribute("step", state.step)
        try file.setAttribute("position_in_epoch", state.position)
        try file.setAttribute("random_state", "0x" + String(state.random.state, radix: 16))
        try file.setAttribute("data_identity", state.dataIdentity)
        try file.setAttribute("optimizer", optimizer.name)
        try file.setAttribute("parameter_count", p)
        try file.setAttribute("parameter_names", strings: manifest.map(\.name))

        try file.write("values", values, shape: [p], options: .axes("PARAMETER"))
        for view in manifest {
            let data = try file.write("parameters/\(view.name)", Array(values[view.offset..<(view.offset + view.count)]),
                                      shape: view.shape, options: .axes(Self.parameterAxes(rank: view.shape.count)))
            try data.setAttribute("offset", view.offset)
            try data.setAttribute("decays", view.decays ? 1 : 0)
        }

        let group = try file.createGroup("optimizer")
        try group.setAttribute("step", optimizer.step)
        switch optimizer {
        case .adam(let a):
            try group.setAttribute("beta1", Double(a.beta1))
            try group.setAttribute("beta2", Double(a.beta2))
            try group.setAttribute("epsilon", Double(a.epsilon))
            try group.write("first_moment", a.firstMoment, shape: [p], options: .axes("PARAMETER"))
            try group.write("second_moment", a.secondMoment, shape: [p], options: .axes("PARAMETER"))
        case .sgd(let s):
            try group.setAttribute("momentum", Double(s.momentum))
            try group.write("velocity", s.velocity, shape: [p], options: .axes("PARAMETER"))
        }

        let order = state.order.flatMap { [Int64($0.video), Int64($0.start)] }
        try file.write("data_order", order, shape: [state.order.count, 2], options: .axes("CLIP,VIDEO_START"))
        if !state.running.isEmpty {
            let running = try file.createGroup("running")
            for (name, sum) in state.running.sorted(by: { $0.key < $1.key }) {
                try running.write(name, [sum.total, sum.weight], shape: [2], options: .axes("TOTAL_WEIGHT"))
            }
        }
        if !log.isEmpty {
            let group = try file.createGroup("log")
            let e = log.count
            try group.write("epoch", log.map { Int64($0.epoch) }, shape: [e], options: .axes("EPOCH"))
            try group.write("learning_rate", log.map(\.learningRate), shape: [e], options: .axes("EPOCH"))
            try group.write("steps", log.map { Int64($0.steps) }, shape: [e], options: .axes("EPOCH"))
            try group.write("seconds", log.map(\.seconds), shape: [e], options: .axes("EPOCH"))
            for (prefix, metrics) in [("train_", log.map(\.train)), ("validation_", log.map(\.validation))] {
                let names = Set(metrics.flatMap(\.keys)).sorted()
                for name in names {
                    try group.write(prefix + name, metrics.map { $0[name] ?? .nan }, shape: [e], options: .axes("EPOCH"))
                }
            }
        }
        try writer.publish()
    }

    // MARK: - Reading

    /// The epoch and optimizer step a checkpoint stands at, from its root attributes alone (no
    /// parameters read); nil when there is none, or it is unreadable or of another kind.
    public static func position(at url: URL, kind: ArtifactKind) -> (epoch: Int, step: Int)? {
        guard FileManager.default.fileExists(atPath: url.path),
              let file = try? ArtifactReader(url: url, expecting: kind).file,
              let epoch = try? file.intAttribute("epoch"), let step = try? file.intAttribute("step") else { return nil }
        return (epoch, step)
    }

    /// Reads a checkpoint, checking its kind and schema (an `ArtifactError` names the file, what
    /// it found and what to rerun). Returns it with its header; `validate` then checks that it
    /// belongs to the run at hand.
    public static func read(from url: URL, expecting kind: ArtifactKind) throws -> (TrainingCheckpoint, ArtifactHeader) {
        let reader = try ArtifactReader(url: url, expecting: kind)
        let file = reader.file
        func fail(_ message: String) -> ArtifactError {
            ArtifactError(path: url.path, "\(message); the checkpoint is damaged: rerun \(kind.producedBy) "
                          + "(it removes a damaged checkpoint and trains afresh)")
        }
        func int(_ name: String) throws -> Int {
            guard let v = try file.intAttribute(name) else { throw fail("no attribute \(name)") }
            return v
        }
        guard let names = try file.stringArrayAttribute("parameter_names") else { throw fail("no parameter_names") }
        let values = try file.read("values", as: Float.self).data
        var manifest: [ParameterManifestEntry] = []
        for name in names {
            let data = try file.openDataset("parameters/\(name)")
            guard let offset = try data.intAttribute("offset") else { throw fail("parameter \(name) has no offset") }
            manifest.append(ParameterManifestEntry(name: name, shape: try data.shape(), offset: offset,
                                          decays: (try data.intAttribute("decays") ?? 1) != 0))
        }
        guard values.count == (try int("parameter_count")),
              manifest.allSatisfy({ $0.offset >= 0 && $0.offset + $0.count <= values.count }) else {
            throw fail("the parameter manifest does not fit the \(values.count) stored values")
        }

        let group = try file.openGroup("optimizer")
        let optimizerStep = try group.intAttribute("step") ?? 0
        let optimizer: TrainingOptimizer
        switch try file.stringAttribute("optimizer") {
        case "adam":
            var a = AdamOptimizer(parameterCount: 0)
            a.beta1 = Float(try group.doubleAttribute("beta1") ?? Double(a.beta1))
            a.beta2 = Float(try group.doubleAttribute("beta2") ?? Double(a.beta2))
            a.epsilon = Float(try group.doubleAttribute("epsilon") ?? Double(a.epsilon))
            a.step = optimizerStep
            a.firstMoment = try group.read("first_moment", as: Float.self).data
            a.secondMoment = try group.read("second_moment", as: Float.self).data
            optimizer = .adam(a)
        case "sgd":
            var s = SGDMomentumOptimizer(parameterCount: 0, momentum: 0)
            s.momentum = Float(try group.doubleAttribute("momentum") ?? 0)
            s.step = optimizerStep
            s.velocity = try group.read("velocity", as: Float.self).data
            optimizer = .sgd(s)
        case let other:
            throw fail("unknown optimizer \(other.map { "'\($0)'" } ?? "(none)")")
        }
        guard optimizer.holds(parameterCount: values.count) else { throw fail("optimizer state does not match the values") }

        let (orderData, orderShape) = try file.read("data_order", as: Int64.self)
        guard orderShape.count == 2, orderShape[1] == 2 else { throw fail("data_order has shape \(orderShape), expected [N, 2]") }
        let order = (0..<orderShape[0]).map { Clip(video: Int(orderData[2 * $0]), start: Int(orderData[2 * $0 + 1])) }

        var running: [String: MetricSum] = [:]
        if file.contains("running") {
            let group = try file.openGroup("running")
            for name in group.memberNames() {
                let pair = try group.read(name, as: Double.self).data
                guard pair.count == 2 else { throw fail("running/\(name) holds \(pair.count) numbers, expected 2") }
                running[name] = MetricSum(total: pair[0], weight: pair[1])
            }
        }
        guard let randomText = try file.stringAttribute("random_state"), randomText.hasPrefix("0x"),
              let randomState = UInt64(randomText.dropFirst(2), radix: 16) else { throw fail("bad random_state") }
        let state = TrainingState(
            epoch: try int("epoch"), step: try int("step"), position: try int("position_in_epoch"),
            random: SplitMix64(seed: randomState), order: order, running: running,
            dataIdentity: try file.stringAttribute("data_identity") ?? "")

        var log: [EpochRecord] = []
        if file.contains("log") {
            let group = try file.openGroup("log")
            let epochs = try group.read("epoch", as: Int64.self).data
            let rates = try group.read("learning_rate", as: Double.self).data
            let steps = try group.read("steps", as: Int64.self).data
            let seconds = try group.read("seconds", as: Double.self).data
            var columns: [(prefix: String, name: String, values: [Double])] = []
            for member in group.memberNames() {
                for prefix in ["train_", "validation_"] where member.hasPrefix(prefix) {
                    columns.append((prefix, String(member.dropFirst(prefix.count)), try group.read(member, as: Double.self).data))
                }
            }
            let e = epochs.count
            guard [rates.count, steps.count, seconds.count].allSatisfy({ $0 == e }),
                  columns.allSatisfy({ $0.values.count == e }) else { throw fail("log columns differ in length") }
            for row in 0..<e {
                var record = EpochRecord(epoch: Int(epochs[row]), learningRate: rates[row], steps: Int(steps[row]),
                                         seconds: seconds[row], train: [:], validation: [:])
                for column in columns where !column.values[row].isNaN {
                    if column.prefix == "train_" {
                        record.train[column.name] = column.values[row]
                    } else {
                        record.validation[column.name] = column.values[row]
                    }
                }
                log.append(record)
            }
        }
        let checkpoint = TrainingCheckpoint(manifest: manifest, values: values, optimizer: optimizer,
                                            state: state, log: log)
        return (checkpoint, reader.header)
    }

    /// Checks that this checkpoint continues the run at hand: same settings digest, same
    /// parameters (names, shapes, offsets), same optimizer, same clip list. Throws a `JAMError`
    /// naming `url` and saying what differs and what to do.
    public func validate(
        header: ArtifactHeader, url: URL, configDigest: String, store: ParameterStore,
        optimizerName: String, dataIdentity: String, producedBy: String
    ) throws {
        func fail(_ message: String) -> JAMError {
            JAMError("\(message); rerun \(producedBy) with --force to start training afresh", file: url.path)
        }
        guard header.configDigest == configDigest else {
            throw fail("checkpoint was made with other settings (digest \(header.configDigest), this run's is \(configDigest))")
        }
        let expectedManifest = store.views.map(ParameterManifestEntry.init)
        if manifest != expectedManifest {
            let found = manifest.map(\.description)
            let expected = expectedManifest.map(\.description)
            let firstDifference = zip(found, expected).first { $0 != $1 }.map { "\($0.0) vs \($0.1)" }
                ?? "\(found.count) vs \(expected.count) parameters"
            throw fail("checkpoint parameters do not match the model (\(firstDifference))")
        }
        guard values.count == store.totalCount, optimizer.holds(parameterCount: store.totalCount) else {
            throw fail("checkpoint holds \(values.count) values, the model \(store.totalCount)")
        }
        guard optimizer.name == optimizerName else {
            throw fail("checkpoint optimizer is \(optimizer.name), the settings ask for \(optimizerName)")
        }
        guard state.dataIdentity == dataIdentity else {
            throw fail("\(Self.clipListMismatch) (the training videos or their frame counts changed)")
        }
    }

    /// What `validate` says when the checkpoint was trained on other clips (stages recognise it
    /// to name the training inputs that went missing or bad since).
    public static let clipListMismatch = "checkpoint was trained on another list of clips"

    /// Copies the stored values into `store` (whose layout `validate` has checked).
    public func restore(into store: ParameterStore) {
        precondition(store.totalCount == values.count, "restore: layout mismatch")
        store.values = values
    }
}

extension TrainingCheckpoint {
    /// The `axes` of a parameter array by its rank, as every layer lays its parameters out:
    /// 3D-convolution kernels `[kt, kh, kw, in, out]`, weight matrices `[in, out]`, biases `[out]`.
    static func parameterAxes(rank: Int) -> String {
        switch rank {
        case 1: return "OUT"
        case 2: return "IN,OUT"
        case 5: return "KT,KH,KW,IN,OUT"
        default: return (0..<rank).map { "D\($0)" }.joined(separator: ",")
        }
    }
}
