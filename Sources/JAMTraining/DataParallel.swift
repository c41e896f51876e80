// Tests: Tests/JAMStagesTests/MPITrainingTests.swift (2 ranks vs 1 process: weights, logs, exports, resume with another R)
// shapes: a global batch of B clips; rank r trains on its contiguous slice of n_r clips
// (`Communicator.slice`); `store.gradients` [P] is reduced once per step.
import Foundation
import JAMCore
import JAMDistributed
import JAMNN

/// Data-parallel training over the ranks of a `Communicator`: the rule that makes R ranks take
/// the step one process would have taken on the same global batch.
///
/// Every loss JAM trains is a mean over the batch's clips plus terms that do not depend on the
/// batch (weight decay): L = (1/B) Σᵢ ℓᵢ + Ω. Rank r's step closure returns the gradient of its
/// own slice's loss, gᵣ = (1/nᵣ) Σ_{i∈r} ∇ℓᵢ + ∇Ω, so Σᵣ (nᵣ/B)·gᵣ = (1/B) Σᵢ ∇ℓᵢ + ∇Ω is the
/// gradient of the global batch: each rank scales its gradients by nᵣ/B, then one fixed-order
/// all-reduce of the flat buffer gives every rank the same sum, and every rank applies the same
/// optimizer update to the same weights. The loss is combined the same way; metric sums add.
///
/// The result equals the 1-process step up to float32 summation order: the per-clip terms are
/// added in a different grouping (within each rank, then across ranks in rank order). No step
/// draws random numbers (the loop's generator is passed along unchanged on every rank), so
/// nothing else differs. With one rank nothing here runs: plain runs are bit-identical to before.
public enum DataParallel {
    /// One step of the global `batch` on this rank's slice, combined over the ranks: on return
    /// `store.gradients` holds the global gradient on every rank and the result is the global
    /// loss and metric sums, the same on every rank. A failure on any rank is thrown on every
    /// rank (its own error where it failed, a note naming the rank elsewhere), so that no rank
    /// waits for another that has given up.
    public static func step(
        _ batch: TrainingBatch, store: ParameterStore, random: inout SplitMix64, communicator: any Communicator,
        communicationSeconds: inout Double, _ step: (TrainingBatch, inout SplitMix64) throws -> TrainingStepResult
    ) throws -> TrainingStepResult {
        let mine = Array(communicator.slice(batch.clips))
        var local = RankResult(count: mine.count, loss: 0, metrics: [:], failure: nil)
        var localError: Error?
        if !mine.isEmpty {
            do {
                let result = try step(TrainingBatch(epoch: batch.epoch, step: batch.step, clips: mine), &random)
                local.loss = result.loss
                local.metrics = result.metrics
            } catch {
                localError = error
                local.failure = "\(error)"
            }
        }
        let started = Date()
        defer { communicationSeconds += Date().timeIntervalSince(started) }
        let all = try gather(local, communicator: communicator)
        if let failed = all.firstIndex(where: { $0.failure != nil }) {
            throw localError ?? JAMError("rank \(failed) of \(communicator.size) failed in training step \(batch.step + 1): "
                                         + all[failed].failure!)
        }
        let total = Double(batch.clips.count)
        // gᵣ·(nᵣ/B); with equal slices and B/R a power of two this scaling is exact.
        let share = Float(Double(mine.count) / total)
        store.gradients.withUnsafeMutableBufferPointer { g in
            for i in g.indices { g[i] *= share }
        }
        try store.gradients.withUnsafeMutableBufferPointer { try communicator.sumAllReduce($0) }
        var loss = 0.0
        var metrics: [String: MetricSum] = [:]
        for rank in all where rank.count > 0 {
            loss += Double(rank.count) / total * rank.loss
            for name in rank.metrics.keys.sorted() {
                metrics[name] = (metrics[name] ?? MetricSum(total: 0, weight: 0)) + rank.metrics[name]!
            }
        }
        return TrainingStepResult(loss: loss, metrics: metrics)
    }

    /// Validation metrics over `clips`, each rank evaluating its contiguous slice: every metric
    /// JAM validates is a mean over clips (or over a fixed number of steps per clip), so the
    /// global value is Σᵣ nᵣ·mᵣ / Σᵣ nᵣ, added in rank order. Equal on every rank. With one rank,
    /// `evaluate(clips)` itself.
    public static func evaluate(
        _ clips: [Clip], communicator: any Communicator, _ evaluate: ([Clip]) throws -> [String: Double]
    ) throws -> [String: Double] {
        guard communicator.isDistributed else { return try evaluate(clips) }
        let mine = Array(communicator.slice(clips))
        var local = RankResult(count: mine.count, loss: 0, metrics: [:], failure: nil)
        var localError: Error?
        if !mine.isEmpty {
            do {
                local.metrics = try evaluate(mine).mapValues { MetricSum(total: $0 * Double(mine.count), weight: Double(mine.count)) }
            } catch {
                localError = error
                local.failure = "\(error)"
            }
        }
        let all = try gather(local, communicator: communicator)
        if let failed = all.firstIndex(where: { $0.failure != nil }) {
            throw localError ?? JAMError("rank \(failed) of \(communicator.size) failed in validation: " + all[failed].failure!)
        }
        var sums: [String: MetricSum] = [:]
        for rank in all where rank.count > 0 {
            for name in rank.metrics.keys.sorted() {
                sums[name] = (sums[name] ?? MetricSum(total: 0, weight: 0)) + rank.metrics[name]!
            }
        }
        return sums.mapValues(\.mean)
    }

    /// What one rank reports of a step: its clips, loss, metric sums, or why it failed.
    struct RankResult: Codable {
        var count: Int
        var loss: Double
        var metrics: [String: MetricSum]
        var failure: String?
    }

    /// Every rank's result, in rank order (JSON keeps Doubles exactly; NaN and ±inf as strings).
    static func gather(_ local: RankResult, communicator: any Communicator) throws -> [RankResult] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try communicator.allGather(Array(try encoder.encode(local))).map {
            try decoder.decode(RankResult.self, from: Data($0))
        }
    }
}
