import JAMConfig
import JAMNN
import JAMTraining

// What jam-c3d and jam-lstm build the same way from their settings sections.

extension TrainingSettings {
    /// Adam or SGD with momentum over `parameterCount` parameters.
    func makeOptimizer(parameterCount: Int) -> TrainingOptimizer {
        optimizer == .adam
            ? .adam(parameterCount: parameterCount)
            : .sgd(parameterCount: parameterCount, momentum: Float(momentum))
    }

    /// Epochs, batch, learning-rate schedule, checkpoint interval and seed.
    var trainingPlan: TrainingPlan {
        TrainingPlan(
            epochs: epochs, batchSize: batch,
            schedule: LearningRateSchedule(initial: Float(learningRate), decayFactor: Float(lrDecay),
                                           decayEveryEpochs: lrDecayEvery),
            checkpointEvery: checkpointEvery, seed: UInt64(seed))
    }
}

/// Epoch summaries as log lines on `progress`, and a step counter on its own progress line.
func trainingObserver(stage: String, label: String, progress: ProgressReporter) -> (TrainingObserver, ProgressReporter) {
    let steps = ProgressReporter(label: "\(stage) \(label) training")
    var started = false
    let observer = TrainingObserver(
        message: { progress.log("\(label): \($0)") },
        progress: { done, total in
            if !started {
                steps.start(total: total - done, skipped: done)
                started = true
            } else {
                steps.advance(failed: false)
            }
        })
    return (observer, steps)
}
