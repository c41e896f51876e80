import Foundation
import JAMArtifacts
import JAMCore
import JAMNN
import JAMTestSupport
import JAMTraining
import Testing

/// A least-squares toy model over "videos" of scalar frames: clip features are the clip's
/// frames, the target is the video's label; loss = mean over clips of (w·x + b − y)², with its
/// gradient written out by hand. Deterministic, so two runs must agree bit for bit.
final class ToyModel {
    let store = ParameterStore()
    let weight: ParameterView
    let bias: ParameterView
    let sampler: ClipSampler
    let frames: [[Float]]
    let labels: [Float]

    init(clipLength: Int = 4) {
        weight = store.add("toy.weight", shape: [clipLength])
        bias = store.add("toy.bias", shape: [1], decays: false)
        var random = SplitMix64(seed: 1)
        frames = (0..<5).map { v in (0..<(9 + 3 * v)).map { _ in Float(random.nextUniform()) } }
        labels = (0..<5).map { Float($0 % 2) }
        sampler = ClipSampler(frameCounts: frames.map(\.count), clipLength: clipLength, stride: 2)
        store.fillHeNormal(weight, fanIn: clipLength, using: &random)
    }

    func step(_ batch: TrainingBatch, _ random: inout SplitMix64) -> TrainingStepResult {
        var loss = 0.0
        let n = Float(batch.clips.count)
        for clip in batch.clips {
            let x = sampler.frameIndices(of: clip).map { frames[clip.video][$0] }
            var y = store.values[bias.offset]
            for i in 0..<x.count { y += store.values[weight.offset + i] * x[i] }
            let r = y - labels[clip.video]
            loss += Double(r * r / n)
            for i in 0..<x.count { store.gradients[weight.offset + i] += 2 * r * x[i] / n }
            store.gradients[bias.offset] += 2 * r / n
        }
        _ = random.next()  // exercise the stored generator
        return TrainingStepResult(loss: loss, metrics: ["loss": MetricSum(total: loss * Double(n), weight: Double(n))])
    }
}

func toyTarget(_ dir: URL, digest: String = "toy0") -> CheckpointTarget {
    CheckpointTarget(url: dir.appendingPathComponent("checkpoint.h5"), kind: .c3dCheckpoint, producer: "toy 1",
                     configDigest: digest, config: "{}", source: "toy", logURL: dir.appendingPathComponent("training-log.json"))
}

struct Interrupted: Error {}

struct TrainingLoopTests {
    let plan = TrainingPlan(epochs: 3, batchSize: 3, schedule: .stepDecay(initial: 0.05, factor: 0.5, everyEpochs: 2),
                            checkpointEvery: 2, seed: 21)

    @Test func resumingAfterAnInterruptionGivesBitIdenticalWeights() throws {
        try withTemporaryDirectory { dir in
            let reference = ToyModel()
            let full = TrainingLoop(store: reference.store, optimizer: .adam(parameterCount: reference.store.totalCount),
                                    plan: plan, sampler: reference.sampler, checkpoint: toyTarget(dir.appendingPathComponent("a")))
            let outcome = try full.run(step: reference.step)
            #expect(outcome.stepsRun == 3 * full.stepsPerEpoch)
            #expect(outcome.log.count == 3)

            // Interrupt in the middle of epoch 2 (after a mid-epoch checkpoint), then resume
            // in a fresh model whose initial weights are the same.
            let interruptedDir = dir.appendingPathComponent("b")
            let first = ToyModel()
            let loop = TrainingLoop(store: first.store, optimizer: .adam(parameterCount: first.store.totalCount),
                                    plan: plan, sampler: first.sampler, checkpoint: toyTarget(interruptedDir))
            let stopAt = full.stepsPerEpoch + 3
            #expect(throws: Interrupted.self) {
                _ = try loop.run { batch, random in
                    if batch.step == stopAt { throw Interrupted() }
                    return first.step(batch, &random)
                }
            }
            let second = ToyModel()
            let resumed = TrainingLoop(store: second.store, optimizer: .adam(parameterCount: second.store.totalCount),
                                       plan: plan, sampler: second.sampler, checkpoint: toyTarget(interruptedDir))
            let rest = try resumed.run(step: second.step)
            #expect(rest.resumedFrom?.step == stopAt - stopAt % plan.checkpointEvery)
            #expect(rest.stepsRun < outcome.stepsRun)
            #expect(second.store.values == reference.store.values, "max |diff| \(maxAbsDifference(second.store.values, reference.store.values))")
            #expect(resumed.optimizer == full.optimizer)
            #expect(rest.log.map(\.train) == outcome.log.map(\.train))

            // A finished run does nothing when run again.
            let third = ToyModel()
            let again = TrainingLoop(store: third.store, optimizer: .adam(parameterCount: third.store.totalCount),
                                     plan: plan, sampler: third.sampler, checkpoint: toyTarget(interruptedDir))
            let nothing = try again.run { _, _ in Issue.record("no step should run"); return TrainingStepResult(loss: 0, metrics: [:]) }
            #expect(nothing.stepsRun == 0)
            #expect(third.store.values == reference.store.values)

            // The readable log.
            let json = try JSONValue.read(contentsOf: interruptedDir.appendingPathComponent("training-log.json"))
            #expect(json.arrayValue?.count == 3)
            #expect(json.arrayValue?.first?["learning_rate"]?.doubleValue == Double(Float(0.05)))
        }
    }

    @Test func sgdResumesBitIdenticallyToo() throws {
        try withTemporaryDirectory { dir in
            let sgdPlan = TrainingPlan(epochs: 2, batchSize: 2, schedule: .constant(0.02), checkpointEvery: 3, seed: 4)
            let reference = ToyModel()
            _ = try TrainingLoop(store: reference.store, optimizer: .sgd(parameterCount: reference.store.totalCount, momentum: 0.9),
                                 plan: sgdPlan, sampler: reference.sampler, checkpoint: toyTarget(dir.appendingPathComponent("a")))
                .run(step: reference.step)
            let first = ToyModel()
            let target = toyTarget(dir.appendingPathComponent("b"))
            _ = try? TrainingLoop(store: first.store, optimizer: .sgd(parameterCount: first.store.totalCount, momentum: 0.9),
                                  plan: sgdPlan, sampler: first.sampler, checkpoint: target)
                .run { batch, random in
                    if batch.step == 7 { throw Interrupted() }
                    return first.step(batch, &random)
                }
            let second = ToyModel()
            _ = try TrainingLoop(store: second.store, optimizer: .sgd(parameterCount: second.store.totalCount, momentum: 0.9),
                                 plan: sgdPlan, sampler: second.sampler, checkpoint: target).run(step: second.step)
            #expect(second.store.values == reference.store.values)
        }
    }

    @Test func nonFiniteGradientStopsAndKeepsTheLastGoodCheckpoint() throws {
        try withTemporaryDirectory { dir in
            let model = ToyModel()
            let target = toyTarget(dir)
            let loop = TrainingLoop(store: model.store, optimizer: .adam(parameterCount: model.store.totalCount),
                                    plan: plan, sampler: model.sampler, checkpoint: target)
            var caught: TrainingDiverged?
            do {
                _ = try loop.run { batch, random in
                    let result = model.step(batch, &random)
                    if batch.step == 5 { model.store.gradients[model.weight.offset + 2] = .nan }
                    return result
                }
            } catch let error as TrainingDiverged {
                caught = error
            }
            let error = try #require(caught)
            #expect(error.step == 5)
            #expect(error.description.contains("toy.weight"), "\(error)")
            #expect(error.description.contains("gradient"), "\(error)")
            #expect(error.description.contains("step 6"), "\(error)")
            let (saved, _) = try TrainingCheckpoint.read(from: target.url, expecting: .c3dCheckpoint)
            #expect(saved.state.step == 4, "the last checkpoint before the bad step")
            #expect(saved.values.allSatisfy { $0.isFinite })
            #expect(error.keptCheckpoint?.step == 4)

            // A NaN loss is caught as well, before any checkpoint exists.
            let other = ToyModel()
            let otherLoop = TrainingLoop(store: other.store, optimizer: .adam(parameterCount: other.store.totalCount),
                                         plan: plan, sampler: other.sampler, checkpoint: toyTarget(dir.appendingPathComponent("c")))
            #expect(throws: TrainingDiverged.self) {
                _ = try otherLoop.run { _, _ in TrainingStepResult(loss: .infinity, metrics: [:]) }
            }
            #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("c/checkpoint.h5").path))
        }
    }

    @Test func checkpointOfAnotherRunIsRefused() throws {
        try withTemporaryDirectory { dir in
            let model = ToyModel()
            _ = try TrainingLoop(store: model.store, optimizer: .adam(parameterCount: model.store.totalCount),
                                 plan: TrainingPlan(epochs: 1, batchSize: 4, schedule: .constant(0.01), checkpointEvery: 0, seed: 1),
                                 sampler: model.sampler, checkpoint: toyTarget(dir)).run(step: model.step)
            // Other settings digest.
            let other = ToyModel()
            let loop = TrainingLoop(store: other.store, optimizer: .adam(parameterCount: other.store.totalCount),
                                    plan: plan, sampler: other.sampler, checkpoint: toyTarget(dir, digest: "other"))
            #expect { _ = try loop.loadCheckpoint() } throws: { "\($0)".contains("other settings") && "\($0)".contains("--force") }
            // Other parameters.
            let bigger = ToyModel(clipLength: 5)
            let loop2 = TrainingLoop(store: bigger.store, optimizer: .adam(parameterCount: bigger.store.totalCount),
                                     plan: plan, sampler: bigger.sampler, checkpoint: toyTarget(dir))
            #expect { _ = try loop2.loadCheckpoint() } throws: { "\($0)".contains("toy.weight[4]") }
            // Other optimizer.
            let loop3 = TrainingLoop(store: other.store, optimizer: .sgd(parameterCount: other.store.totalCount, momentum: 0),
                                     plan: plan, sampler: other.sampler, checkpoint: toyTarget(dir))
            #expect { _ = try loop3.loadCheckpoint() } throws: { "\($0)".contains("optimizer is adam") }
        }
    }

    /// Raising the epochs of a finished run continues it from its checkpoint: exactly the added
    /// epochs run, and the weights, optimizer and log equal those of a run planned that long
    /// from the start, bit for bit (the schedule decays with the epoch index only). Lowering
    /// them below what the checkpoint has done is refused, naming both counts and the fixes.
    @Test func raisingEpochsContinuesAFinishedRunAsIfPlannedSoLoweringIsRefused() throws {
        try withTemporaryDirectory { dir in
            func plan(epochs: Int) -> TrainingPlan {
                TrainingPlan(epochs: epochs, batchSize: 3, schedule: .stepDecay(initial: 0.05, factor: 0.5, everyEpochs: 2),
                             checkpointEvery: 2, seed: 21)
            }
            let reference = ToyModel()
            let straight = TrainingLoop(store: reference.store, optimizer: .adam(parameterCount: reference.store.totalCount),
                                        plan: plan(epochs: 3), sampler: reference.sampler, checkpoint: toyTarget(dir.appendingPathComponent("a")))
            let full = try straight.run(step: reference.step)

            let target = toyTarget(dir.appendingPathComponent("b"))
            let first = ToyModel()
            let two = try TrainingLoop(store: first.store, optimizer: .adam(parameterCount: first.store.totalCount),
                                       plan: plan(epochs: 2), sampler: first.sampler, checkpoint: target).run(step: first.step)
            #expect(two.state.epoch == 2 && two.state.order.isEmpty)

            let second = ToyModel()
            var messages: [String] = []
            var epochsSeen: Set<Int> = []
            let longer = TrainingLoop(store: second.store, optimizer: .adam(parameterCount: second.store.totalCount),
                                      plan: plan(epochs: 3), sampler: second.sampler, checkpoint: target,
                                      observer: TrainingObserver(message: { messages.append($0) }))
            let three = try longer.run { batch, random in
                epochsSeen.insert(batch.epoch)
                return second.step(batch, &random)
            }
            #expect(three.stepsRun == longer.stepsPerEpoch, "exactly one more epoch")
            #expect(epochsSeen == [2])
            #expect(three.resumedFrom?.epoch == 2)
            #expect(messages.first?.contains("continuing the finished run") == true, "\(messages)")
            #expect(second.store.values == reference.store.values,
                    "max |diff| \(maxAbsDifference(second.store.values, reference.store.values))")
            #expect(longer.optimizer == straight.optimizer)
            #expect(three.log.map(\.train) == full.log.map(\.train))
            #expect(three.log.map(\.learningRate) == [0.05, 0.05, 0.025].map { Double(Float($0)) })

            // Back to 2 epochs: the checkpoint holds only the 3-epoch state.
            let third = ToyModel()
            let shorter = TrainingLoop(store: third.store, optimizer: .adam(parameterCount: third.store.totalCount),
                                       plan: plan(epochs: 2), sampler: third.sampler, checkpoint: target)
            #expect { _ = try shorter.run(step: third.step) } throws: { error in
                let text = "\(error)"
                return text.contains(target.url.path) && text.contains("trained 3 epochs") && text.contains("2 planned")
                    && text.contains("--force")
            }
        }
    }

    /// With `logEverySteps` N, a line every N steps says the epoch, the step of the run, the
    /// epoch's running loss, the rate and the time left.
    @Test func aLineEveryNStepsWithTheRunningLossAndTheTimeLeft() throws {
        try withTemporaryDirectory { dir in
            let model = ToyModel()
            var logged = TrainingPlan(epochs: 2, batchSize: 2, schedule: .constant(0.01), checkpointEvery: 0, seed: 3)
            logged.logEverySteps = 2
            var messages: [String] = []
            let loop = TrainingLoop(store: model.store, optimizer: .adam(parameterCount: model.store.totalCount),
                                    plan: logged, sampler: model.sampler, checkpoint: toyTarget(dir),
                                    observer: TrainingObserver(message: { messages.append($0) }))
            _ = try loop.run(step: model.step)
            let total = 2 * loop.stepsPerEpoch
            let stepLines = messages.filter { $0.contains(", step ") }
            #expect(stepLines.count == total / 2, "\(messages)")
            let pattern = #/epoch [12]/2, step (\d+)/(\d+): loss \d+\.\d{4}; [0-9.e+-]+ steps/s, ETA (\d+ s|\d+m \d\ds)/#
            for line in stepLines {
                let match = try #require(line.wholeMatch(of: pattern), "\(line)")
                #expect(Int(match.1)! % 2 == 0 && Int(match.2)! == total)
            }
            #expect(messages.filter { $0.hasPrefix("epoch ") && $0.contains("lr ") }.count == 2, "the epoch summaries stay")
        }
    }

    @Test func durationsReadLikeAClock() {
        #expect(describeDuration(42.4) == "42 s")
        #expect(describeDuration(725) == "12m 05s")
        #expect(describeDuration(3 * 3600 + 12 * 60 + 5) == "3h 12m")
        #expect(describeDuration(2 * 86400 + 4 * 3600) == "2d 04h")
        #expect(describeDuration(.nan) == "unknown")
        #expect(describeRate(0.012345) == "0.0123/s" && describeRate(0.731, unit: " steps") == "0.731 steps/s")
    }
}
