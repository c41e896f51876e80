// Tests: Tests/JAMTrainingTests/TrainingLoopTests.swift (a step line every N steps with its ETA; durations)
import Foundation

/// Wall-clock durations for logs that a person reads: `42 s`, `12m 05s`, `3h 12m`, `2d 04h`.
/// A paper-size training run lasts days; seconds alone would be unreadable.
public func describeDuration(_ seconds: Double) -> String {
    guard seconds.isFinite, seconds >= 0 else { return "unknown" }
    let s = Int(seconds.rounded())
    switch s {
    case ..<60: return "\(s) s"
    case ..<3600: return String(format: "%dm %02ds", s / 60, s % 60)
    case ..<86400: return String(format: "%dh %02dm", s / 3600, s % 3600 / 60)
    default: return String(format: "%dd %02dh", s / 86400, s % 86400 / 3600)
    }
}

/// A rate per second with enough digits for slow stages: `0.0123/s`, or `0.731 steps/s` with
/// `unit` " steps".
public func describeRate(_ perSecond: Double, unit: String = "") -> String {
    guard perSecond.isFinite, perSecond > 0 else { return "0\(unit)/s" }
    return (perSecond >= 10 ? String(format: "%.1f", perSecond) : String(format: "%.3g", perSecond)) + "\(unit)/s"
}

/// The line `TrainingLoop` logs every `TrainingPlan.logEverySteps` steps: where the run is, the
/// epoch's running training metrics, the step rate of this process and the time left.
///
///     epoch 2/30, step 150/4500: loss 1.2345 accuracy 0.4100; 0.731 steps/s, ETA 1h 39m
struct StepLogLine {
    /// 0-based epoch in progress.
    var epoch: Int
    var epochs: Int
    /// Optimizer steps taken in total, and in the whole run.
    var step: Int
    var totalSteps: Int
    /// The epoch's metric sums so far.
    var running: [String: MetricSum]
    /// Steps this process ran and the seconds it took (epoch-end validation included).
    var stepsRun: Int
    var seconds: Double

    var text: String {
        var line = "epoch \(epoch + 1)/\(epochs), step \(step)/\(totalSteps)"
        let shown = ["loss", "accuracy"].filter { running[$0] != nil }
        if !shown.isEmpty {
            line += ": " + shown.map { String(format: "%@ %.4f", $0, running[$0]!.mean) }.joined(separator: " ")
        }
        let rate = seconds > 0 ? Double(stepsRun) / seconds : 0
        let eta = rate > 0 ? Double(totalSteps - step) / rate : .nan
        return line + "; \(describeRate(rate, unit: " steps")), ETA \(describeDuration(eta))"
    }
}
