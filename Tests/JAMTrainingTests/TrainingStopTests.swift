import Foundation
import JAMCore
import JAMTestSupport
import JAMTraining
import Testing

/// `TrainingLoop.stopRequested`: a stop request after a step saves that exact state and throws
/// `StoppedOnRequest`; rerunning resumes to the weights of an uninterrupted run, bit for bit.
/// (The request is injected per loop: the process-wide `StopRequest` would reach other tests
/// running alongside. Tests/JAMStagesTests/StopOnSignalTests.swift sends real signals.)
struct TrainingStopTests {
    let plan = TrainingPlan(epochs: 3, batchSize: 3, schedule: .stepDecay(initial: 0.05, factor: 0.5, everyEpochs: 2),
                            checkpointEvery: 0, seed: 21)

    func loop(_ model: ToyModel, _ dir: URL) -> TrainingLoop {
        TrainingLoop(store: model.store, optimizer: .adam(parameterCount: model.store.totalCount), plan: plan,
                     sampler: model.sampler, checkpoint: toyTarget(dir))
    }

    /// Where the stop comes: early in epoch 1, in the middle of epoch 2, or with epoch 1's last step.
    enum When: CaseIterable { case firstStep, midSecondEpoch, endOfFirstEpoch }

    @Test(arguments: When.allCases)
    func aStopAfterAStepSavesItAndTheRerunResumesBitIdentically(when: When) throws {
        try withTemporaryDirectory { dir in
            let reference = ToyModel()
            let full = loop(reference, dir.appendingPathComponent("reference"))
            let outcome = try full.run(step: reference.step)
            let perEpoch = full.stepsPerEpoch
            #expect(perEpoch >= 6, "the cases assume several steps per epoch")
            // Steps done when the request comes.
            let stop = switch when {
            case .firstStep: 1
            case .midSecondEpoch: perEpoch + 4
            case .endOfFirstEpoch: perEpoch
            }

            let folder = dir.appendingPathComponent("stopped")
            let first = ToyModel()
            let stopped = loop(first, folder)
            var asked = 0
            stopped.stopRequested = {
                asked += 1
                return asked >= stop
            }
            let error = #expect(throws: StoppedOnRequest.self) { _ = try stopped.run(step: first.step) }
            #expect(error?.step == stop, "the step it stopped after")
            #expect(error?.epoch == stop / perEpoch, "0-based epoch of the saved state")
            #expect(asked == stop, "asked once per step, and no step ran after the request")
            #expect(error?.description.contains("rerun the same command to resume") == true)
            let (saved, _) = try TrainingCheckpoint.read(from: folder.appendingPathComponent("checkpoint.h5"),
                                                         expecting: .c3dCheckpoint)
            #expect(saved.state.step == stop, "checkpointed at the stop, though checkpoint_every is 0")
            #expect(saved.state.epoch == stop / perEpoch && saved.state.position == (stop % perEpoch == 0 ? 0 : stop % perEpoch * 3))

            let second = ToyModel()
            let resumed = loop(second, folder)
            let rest = try resumed.run(step: second.step)
            #expect(rest.stepsRun == outcome.stepsRun - stop)
            #expect(second.store.values == reference.store.values,
                    "max |diff| \(maxAbsDifference(second.store.values, reference.store.values))")
            #expect(resumed.optimizer == full.optimizer)
            #expect(rest.log.map(\.train) == outcome.log.map(\.train))
        }
    }

    @Test func aRequestWithTheLastStepLetsTrainingFinish() throws {
        try withTemporaryDirectory { dir in
            let model = ToyModel()
            let last = loop(model, dir)
            var asked = 0
            last.stopRequested = {
                asked += 1
                return asked == 3 * last.stepsPerEpoch
            }
            // Nothing is left to stop before: the run completes (the stage's export then stops).
            let outcome = try last.run(step: model.step)
            #expect(outcome.state.epoch == 3 && outcome.stepsRun == 3 * last.stepsPerEpoch)
        }
    }
}
