// shapes: a batch is up to `batchSize` clips of the epoch's order; the model closure fills
// `store.gradients` ([P], the store's layout) and returns the batch's loss and metric sums.
import Foundation
import JAMArtifacts
import JAMCore
import JAMDistributed
import JAMNN

/// How long and how a model trains.
///
/// Nothing but `epochs` depends on the run's length: the learning rate is a function of the
/// epoch index (`LearningRateSchedule.rate(epoch:)`) and each epoch's order of `(seed, epoch)`,
/// so a finished run continues to more epochs exactly as a longer run would have gone on.
public struct TrainingPlan: Sendable, Hashable {
    public var epochs: Int
    /// Clips per optimizer step (the last batch of an epoch may be smaller).
    public var batchSize: Int
    public var schedule: LearningRateSchedule
    /// Write a checkpoint every this many optimizer steps (0: only at epoch ends).
    public var checkpointEvery: Int
    /// Seeds the epoch orders (`ClipSampler.epochOrder`) and the loop's generator.
    public var seed: UInt64
    /// Shuffle clips each epoch (false: the sampler's order every epoch).
    public var shuffle: Bool
    /// Log a line (`StepLogLine`: epoch, step, running loss, rate, ETA) every this many
    /// optimizer steps (0: only the epoch summaries).
    public var logEverySteps: Int

    public init(epochs: Int, batchSize: Int, schedule: LearningRateSchedule, checkpointEvery: Int,
                seed: UInt64, shuffle: Bool = true, logEverySteps: Int = 0) {
        precondition(epochs >= 0 && batchSize >= 1 && checkpointEvery >= 0 && logEverySteps >= 0, "TrainingPlan: bad sizes")
        self.epochs = epochs
        self.batchSize = batchSize
        self.schedule = schedule
        self.checkpointEvery = checkpointEvery
        self.seed = seed
        self.shuffle = shuffle
        self.logEverySteps = logEverySteps
    }
}

/// The clips of one optimizer step.
public struct TrainingBatch: Sendable, Equatable {
    /// 0-based epoch.
    public var epoch: Int
    /// 0-based index of this step over the whole run (= optimizer steps taken before it).
    public var step: Int
    public var clips: [Clip]
}

/// What the model closure returns for one batch (it has also filled `store.gradients`).
public struct TrainingStepResult: Sendable {
    /// The batch loss the gradients are of (checked for NaN/Inf).
    public var loss: Double
    /// Additive sums for the epoch's log, e.g. `"loss": (loss·clips, clips)`, `"accuracy":
    /// (correct steps, steps)`. The loop adds them in a fixed order, so the log is reproducible.
    public var metrics: [String: MetricSum]

    public init(loss: Double, metrics: [String: MetricSum]) {
        self.loss = loss
        self.metrics = metrics
    }
}

/// Where and as what the loop writes its checkpoint.
public struct CheckpointTarget: Sendable {
    /// The checkpoint: a fixed name (e.g. `checkpoint.h5`) that each write replaces by rename.
    public var url: URL
    public var kind: ArtifactKind
    /// `jam-c3d 0.1.0`.
    public var producer: String
    public var configDigest: String
    /// Canonical JSON of the settings behind `configDigest`.
    public var config: String
    /// What was trained on (the input folder).
    public var source: String
    /// Where the readable per-epoch log goes (`training-log.json`), or nil.
    public var logURL: URL?

    public init(url: URL, kind: ArtifactKind, producer: String, configDigest: String, config: String,
                source: String, logURL: URL?) {
        self.url = url
        self.kind = kind
        self.producer = producer
        self.configDigest = configDigest
        self.config = config
        self.source = source
        self.logURL = logURL
    }
}

/// Training produced a NaN or infinity. The checkpoint on disk is the last good one.
public struct TrainingDiverged: Error, UserFacingError, Sendable {
    public var epoch: Int
    public var step: Int
    /// What was not finite: the loss, or a named parameter's value or gradient.
    public var detail: String
    /// The checkpoint kept, with its epoch and step, or nil when none was written yet.
    public var keptCheckpoint: (url: URL, epoch: Int, step: Int)?

    public var description: String {
        var text = "training diverged at epoch \(epoch + 1), step \(step + 1): \(detail). "
        if let kept = keptCheckpoint {
            text += "The last good checkpoint (epoch \(kept.epoch + 1), \(kept.step) steps) is kept at \(kept.url.path). "
        } else {
            text += "No checkpoint had been written yet. "
        }
        return text + "Lower the learning rate (or check the inputs for extreme values) and rerun."
    }
}

/// What a training run did.
public struct TrainingOutcome: Sendable {
    /// The state the run resumed from (nil: it started afresh).
    public var resumedFrom: TrainingState?
    /// The state at the end (epoch = planned epochs).
    public var state: TrainingState
    /// One record per finished epoch, the resumed ones included.
    public var log: [EpochRecord]
    /// Optimizer steps this process ran.
    public var stepsRun: Int
}

/// Messages and progress of a training run; every closure is optional.
public struct TrainingObserver {
    /// A line for the user (epoch summaries, resume notes): print it on standard error.
    public var message: (String) -> Void
    /// `(steps done, steps in the whole run)` after every step and at the start.
    public var progress: (Int, Int) -> Void

    public init(message: @escaping (String) -> Void = { _ in }, progress: @escaping (Int, Int) -> Void = { _, _ in }) {
        self.message = message
        self.progress = progress
    }
}

/// The epoch loop shared by JAM's trained stages: batches from a `ClipSampler`'s seeded
/// order, one model closure per batch, an optimizer, a learning-rate schedule, checkpoints
/// every N steps and at every epoch end, and resume from the checkpoint.
///
/// Reproducibility: every random choice comes from `(plan.seed, epoch)` or from the generator
/// stored in the checkpoint, and the checkpoint holds the exact weights, optimizer moments and
/// position, so a run killed at any moment and rerun ends with bit-identical weights as long as
/// the model closure is deterministic (fixed thread count, deterministic reductions).
///
/// Divergence: after each step the loss and every gradient and value are checked; a NaN or
/// infinity throws `TrainingDiverged` naming the epoch, step and parameter, and no
/// checkpoint is written from that state, so the file on disk stays the last good one.
///
///     let loop = TrainingLoop(store: store, optimizer: .adam(parameterCount: store.totalCount),
///                             plan: plan, sampler: sampler, checkpoint: target)
///     let outcome = try loop.run(step: { batch, random in ... }, validate: { epoch in ... })
public final class TrainingLoop {
    public let store: ParameterStore
    public private(set) var optimizer: TrainingOptimizer
    public let plan: TrainingPlan
    public let sampler: ClipSampler
    public let checkpoint: CheckpointTarget
    public var observer: TrainingObserver
    /// The ranks training together (`DataParallel`): each step's batch is split over them and
    /// their gradients summed; only rank 0 writes the checkpoint and the log. Default: one process.
    public var communicator: any Communicator = SingleProcess()

    public init(store: ParameterStore, optimizer: TrainingOptimizer, plan: TrainingPlan, sampler: ClipSampler,
                checkpoint: CheckpointTarget, observer: TrainingObserver = TrainingObserver()) {
        precondition(optimizer.holds(parameterCount: store.totalCount), "TrainingLoop: optimizer state does not fit the store")
        self.store = store
        self.optimizer = optimizer
        self.plan = plan
        self.sampler = sampler
        self.checkpoint = checkpoint
        self.observer = observer
    }

    /// Asked once after every optimizer step (on every MPI rank alike): when true, the state is
    /// checkpointed and `run` throws `StoppedOnRequest` (a stop at an epoch's end comes after
    /// the epoch-end checkpoint). Replaceable, e.g. by a collective check across ranks.
    public var stopRequested: () -> Bool = { StopRequest.isRequested }

    /// `sha256:` of the sampler's identity, stored in checkpoints.
    public var dataIdentity: String { "sha256:" + SHA256.hex(sampler.identity) }

    /// The order of epoch `epoch`.
    public func order(epoch: Int) -> [Clip] {
        plan.shuffle ? sampler.epochOrder(seed: plan.seed, epoch: epoch) : sampler.clips
    }

    /// Steps in one epoch.
    public var stepsPerEpoch: Int { (sampler.clips.count + plan.batchSize - 1) / plan.batchSize }

    /// The state of a run that has not started: epoch 0, its order, a generator seeded from the plan.
    public func initialState() -> TrainingState {
        TrainingState(epoch: 0, step: 0, position: 0, random: SplitMix64(seed: mix64(plan.seed ^ 0x5DEE_CE66_D1CE_4E5B)),
                      order: plan.epochs > 0 ? order(epoch: 0) : [], running: [:], dataIdentity: dataIdentity)
    }

    /// Loads the checkpoint when one exists (validated against this run; its weights go into
    /// the store), else returns nil and leaves the store as the caller initialised it.
    public func loadCheckpoint() throws -> (TrainingState, [EpochRecord])? {
        guard FileManager.default.fileExists(atPath: checkpoint.url.path) else { return nil }
        let (saved, header) = try TrainingCheckpoint.read(from: checkpoint.url, expecting: checkpoint.kind)
        try saved.validate(header: header, url: checkpoint.url, configDigest: checkpoint.configDigest, store: store,
                           optimizerName: optimizer.name, dataIdentity: dataIdentity,
                           producedBy: checkpoint.kind.producedBy)
        saved.restore(into: store)
        optimizer = saved.optimizer
        return (saved.state, saved.log)
    }

    /// Trains to `plan.epochs`, resuming from the checkpoint if there is one. A checkpoint of a
    /// finished run with fewer epochs continues with the next epoch (the schedule and the orders
    /// depend on the epoch index only, so the weights equal those of a run planned that long
    /// from the start); one with more epochs done than planned is refused (only the last state
    /// is kept, so there are no earlier weights to go back to).
    ///
    /// - Parameters:
    ///   - step: runs the model on a batch: must zero-or-overwrite nothing but ADD its
    ///     gradients to `store.gradients` (the loop zeroes them before the call) and return the
    ///     batch loss; `random` is the loop's stored generator, for stochastic layers.
    ///   - validate: called after each epoch's last step with the 0-based epoch; returns
    ///     validation metrics for the log (nil: no validation).
    public func run(
        step: (TrainingBatch, inout SplitMix64) throws -> TrainingStepResult,
        validate: ((Int) throws -> [String: Double])? = nil
    ) throws -> TrainingOutcome {
        var state: TrainingState
        var log: [EpochRecord]
        var kept: (url: URL, epoch: Int, step: Int)?
        var stopping = false  // a stop was requested with an epoch's last step
        let resumed = try loadCheckpoint()
        if let (saved, savedLog) = resumed {
            state = saved
            log = savedLog
            kept = (checkpoint.url, saved.epoch, saved.step)
            if state.epoch > plan.epochs || (state.epoch == plan.epochs && state.position > 0) {
                throw JAMError("the checkpoint has trained \(state.epoch) epochs (\(state.step) steps), more than the "
                               + "\(plan.epochs) planned; only its last state is kept, so there are no \(plan.epochs)-epoch "
                               + "weights to go back to. Set epochs to \(state.epoch) or more to use it, or rerun with --force "
                               + "to train \(plan.epochs) epochs afresh", file: checkpoint.url.path)
            }
            if state.epoch < plan.epochs && state.position == 0 && state.order.isEmpty {
                // A finished run, continued: the epoch-end save stores no next order.
                state.order = order(epoch: state.epoch)
                observer.message("continuing the finished run in \(checkpoint.url.lastPathComponent) (\(state.epoch) epochs, "
                                 + "\(state.step) steps) to \(plan.epochs) epochs")
            } else if state.epoch < plan.epochs {
                observer.message("resuming from \(checkpoint.url.lastPathComponent): epoch \(state.epoch + 1), "
                                 + "\(state.position) of \(state.order.count) clips done, \(state.step) steps")
            }
        } else {
            state = initialState()
            log = []
        }
        let totalSteps = plan.epochs * stepsPerEpoch
        var stepsRun = 0
        let runStart = Date()
        observer.progress(state.step, totalSteps)

        var communicationSeconds = 0.0
        while state.epoch < plan.epochs {
            if stopping { throw StoppedOnRequest(reason: StopRequest.reason, checkpoint: checkpoint.url, epoch: state.epoch, step: state.step) }
            let epochStart = Date()
            let epochSteps = state.step
            communicationSeconds = 0
            let rate = plan.schedule.rate(epoch: state.epoch)
            while state.position < state.order.count {
                let end = min(state.position + plan.batchSize, state.order.count)
                let batch = TrainingBatch(epoch: state.epoch, step: state.step, clips: Array(state.order[state.position..<end]))
                store.zeroGradients()
                let result: TrainingStepResult
                if communicator.isDistributed {
                    result = try DataParallel.step(batch, store: store, random: &state.random, communicator: communicator,
                                                   communicationSeconds: &communicationSeconds, step)
                } else {
                    result = try step(batch, &state.random)
                }
                func diverged(_ detail: String) -> TrainingDiverged {
                    TrainingDiverged(epoch: state.epoch, step: state.step, detail: detail, keptCheckpoint: kept)
                }
                guard result.loss.isFinite else { throw diverged("the loss is \(result.loss)") }
                if let bad = store.firstNonFinite() { throw diverged(bad.description) }
                optimizer.update(store, learningRate: rate)
                if let bad = store.firstNonFinite() { throw diverged("after the update, \(bad.description)") }

                for name in result.metrics.keys.sorted() {
                    state.running[name] = (state.running[name] ?? MetricSum(total: 0, weight: 0)) + result.metrics[name]!
                }
                state.step += 1
                state.position = end
                stepsRun += 1
                observer.progress(state.step, totalSteps)
                if stopRequested() {
                    guard state.position == state.order.count else {
                        try save(state, log)
                        throw StoppedOnRequest(reason: StopRequest.reason, checkpoint: checkpoint.url, epoch: state.epoch, step: state.step)
                    }
                    stopping = true  // the epoch ends with this step: its checkpoint (after validation) comes first
                }
                if plan.logEverySteps > 0 && state.step % plan.logEverySteps == 0 {
                    observer.message(StepLogLine(epoch: state.epoch, epochs: plan.epochs, step: state.step, totalSteps: totalSteps,
                                                 running: state.running, stepsRun: stepsRun,
                                                 seconds: Date().timeIntervalSince(runStart)).text)
                }
                if plan.checkpointEvery > 0 && state.step % plan.checkpointEvery == 0 && state.position < state.order.count {
                    try save(state, log)
                    kept = (checkpoint.url, state.epoch, state.step)
                }
            }

            let validation = try validate?(state.epoch) ?? [:]
            let record = EpochRecord(
                epoch: state.epoch, learningRate: Double(rate), steps: state.step,
                seconds: Date().timeIntervalSince(epochStart),
                train: state.running.mapValues(\.mean), validation: validation)
            log.append(record)
            observer.message(record.line)
            if communicator.isDistributed && state.step > epochSteps {
                observer.message(String(format: "data-parallel over %d ranks: all-reduce %.2f ms per step (%d parameters)",
                                        communicator.size, 1000 * communicationSeconds / Double(state.step - epochSteps),
                                        store.totalCount))
            }
            state.epoch += 1
            state.position = 0
            state.running = [:]
            state.order = state.epoch < plan.epochs ? order(epoch: state.epoch) : []
            try save(state, log)
            kept = (checkpoint.url, state.epoch, state.step)
            if let logURL = checkpoint.logURL, communicator.isWriter { try TrainingLoop.writeLog(log, to: logURL) }
        }
        return TrainingOutcome(resumedFrom: resumed?.0, state: state, log: log, stepsRun: stepsRun)
    }

    /// Writes the checkpoint (rank 0 only: the other ranks hold the same state).
    private func save(_ state: TrainingState, _ log: [EpochRecord]) throws {
        guard communicator.isWriter else { return }
        let header = ArtifactHeader(kind: checkpoint.kind, producer: checkpoint.producer,
                                    configDigest: checkpoint.configDigest, config: checkpoint.config,
                                    source: checkpoint.source)
        try TrainingCheckpoint(store: store, optimizer: optimizer, state: state, log: log)
            .write(to: checkpoint.url, header: header)
    }

    /// Writes the log as a JSON array of `EpochRecord`s (snake_case keys), atomically.
    public static func writeLog(_ log: [EpochRecord], to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        try AtomicFile.write(encoder.encode(log), to: url)
    }
}
