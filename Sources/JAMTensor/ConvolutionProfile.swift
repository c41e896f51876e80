// shapes: none; seconds per (worker, phase), each worker's slots on a 64-byte line of their own.
// Tests: Tests/JAMTensorTests/Convolution3x3Tests.swift (a profiled forward gives the same bits and records every phase)

import Foundation

/// Where a convolution's time goes, filled in by the kernels while a `ConvolutionWorkspace`
/// carries one (`workspace.profile`): CPU-seconds of each phase (each worker's thread CPU clock,
/// summed over the workers; thread CPU time rather than wall time so that another process
/// taking the core does not count). Opt-in, for `jam-bench vgg --profile`: two clock reads per
/// chunk of tiles cost little, but nothing reads them in production.
///
/// Not safe for two kernel calls at once (like the workspace carrying it).
public final class ConvolutionProfile: @unchecked Sendable {
    /// The phases of a convolution. For im2col, the patch gather counts as the input transform
    /// and the bias + ReLU pass as the output transform.
    public enum Phase: Int, CaseIterable, Sendable {
        case inputTransform, gemm, outputTransform
    }

    private static let slotsPerWorker = 8  // 64 bytes: workers never share a cache line
    private var slots = UnsafeMutablePointer<Double>.allocate(capacity: 0)
    private var workerCapacity = 0

    public init() {}

    deinit { slots.deallocate() }

    /// Makes room for `workers` workers, keeping what was recorded. Call before the parallel part.
    func prepare(workers: Int) {
        guard workers > workerCapacity else { return }
        let grown = UnsafeMutablePointer<Double>.allocate(capacity: workers * Self.slotsPerWorker)
        grown.initialize(repeating: 0, count: workers * Self.slotsPerWorker)
        grown.update(from: slots, count: workerCapacity * Self.slotsPerWorker)
        slots.deallocate()
        slots = grown
        workerCapacity = workers
    }

    /// Adds the time since `start` (a `now()` reading) to `phase` of `worker`; returns the
    /// current reading, the start of the next phase.
    @inline(__always)
    func record(_ phase: Phase, worker: Int, since start: UInt64) -> UInt64 {
        let end = Self.now()
        slots[worker &* Self.slotsPerWorker &+ phase.rawValue] += Double(end &- start) * 1e-9
        return end
    }

    /// The calling thread's CPU clock, in nanoseconds.
    @inline(__always) static func now() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return UInt64(time.tv_sec) &* 1_000_000_000 &+ UInt64(time.tv_nsec)
    }

    /// Seconds recorded for `phase`, summed over workers.
    public func seconds(_ phase: Phase) -> Double {
        (0..<workerCapacity).reduce(0) { $0 + slots[$1 * Self.slotsPerWorker + phase.rawValue] }
    }

    /// Forgets everything recorded.
    public func reset() {
        slots.update(repeating: 0, count: workerCapacity * Self.slotsPerWorker)
    }
}
