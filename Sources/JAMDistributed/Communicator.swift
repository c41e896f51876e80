// Tests: Tests/JAMStagesTests/MPICommunicatorTests.swift (2 and 3 ranks under mpirun against a naive sum),
// Tests/JAMStagesTests/MPITrainingTests.swift (training with 2 ranks equals 1 process)
// shapes: buffers are flat [n]; block j of a reduction is elements [d_j, d_j + c_j) with
// c_j = n / R + (j < n % R ? 1 : 0) (the first n % R blocks one longer), d_j = c_0 + … + c_{j-1}.
import Foundation

/// The processes of a data-parallel job, as ranks `0..<size`: what training needs of MPI and
/// nothing more. `SingleProcess` is the plain invocation (rank 0 of 1, every call a no-op);
/// `MPICommunicator` is a job started by `mpirun -np R` or `srun -n R` (see `ProcessGroup`).
///
/// Every call is collective: all ranks make the same calls in the same order, from the thread
/// that joined the group (MPI_THREAD_FUNNELED).
///
/// Sums are in a fixed order: element i of the result is `((x₀ᵢ + x₁ᵢ) + x₂ᵢ) + …`, the ranks'
/// values added left to right in rank order, the same on every rank and independent of timing
/// or of which rank finished first (MPI moves the data; the arithmetic is ours).
public protocol Communicator: AnyObject, Sendable {
    /// 0-based; rank 0 writes the job's files.
    var rank: Int { get }
    var size: Int { get }

    /// Replaces `buffer` on every rank by the sum over ranks, in rank order.
    func sumAllReduce(_ buffer: UnsafeMutableBufferPointer<Float>) throws
    /// Replaces `buffer` on every rank by the sum over ranks, in rank order.
    func sumAllReduce(_ buffer: UnsafeMutableBufferPointer<Double>) throws
    /// The largest of the ranks' values (exact, so order does not matter).
    func maxAllReduce(_ value: Int) throws -> Int
    /// Rank `root`'s bytes, on every rank.
    func broadcast(_ bytes: [UInt8], root: Int) throws -> [UInt8]
    /// Every rank's bytes, in rank order, on every rank.
    func allGather(_ bytes: [UInt8]) throws -> [[UInt8]]
    /// Returns when every rank has called it.
    func barrier() throws
    /// Ends the whole job at once with `code` (a failure on one rank that the others, blocked
    /// in a collective call, would otherwise wait for forever).
    func abort(code: Int32) -> Never
}

extension Communicator {
    /// Whether this rank writes the job's files (checkpoints, logs, reports).
    public var isWriter: Bool { rank == 0 }

    /// Whether another rank exists (a plain invocation: false).
    public var isDistributed: Bool { size > 1 }

    /// Sum over ranks of an array, in rank order.
    public func sumAllReduce(_ values: inout [Float]) throws {
        try values.withUnsafeMutableBufferPointer { try sumAllReduce($0) }
    }

    /// Sum over ranks of an array, in rank order.
    public func sumAllReduce(_ values: inout [Double]) throws {
        try values.withUnsafeMutableBufferPointer { try sumAllReduce($0) }
    }

    /// Whether any rank says true (for agreeing to stop at the same step).
    public func any(_ flag: Bool) throws -> Bool {
        try maxAllReduce(flag ? 1 : 0) > 0
    }

    /// A stop check every rank answers alike: `local` on each rank, true when it is true on
    /// any. One small all-reduce per call; every rank must call it at the same points.
    ///
    ///     loop.stopRequested = loop.communicator.collectiveStop { StopRequest.isRequested }
    public func collectiveStop(_ local: @escaping () -> Bool) -> () -> Bool {
        { [self] in
            guard isDistributed else { return local() }
            do {
                return try any(local())
            } catch {
                FileHandle.standardError.write(Data("rank \(rank): \(error)\n".utf8))
                abort(code: 1)
            }
        }
    }

    /// This rank's contiguous part of `items`: rank r takes `count / R` items, one more when
    /// `r < count % R`, after those of ranks 0…r−1 (so rank 0's part is empty only when `items` is).
    public func slice<T>(_ items: [T]) -> ArraySlice<T> {
        let range = Self.blockRange(count: items.count, block: rank, of: size)
        return items[range]
    }

    /// Elements `[d_j, d_j + c_j)` of block `j` of `R` over `count` elements (see the file's shape legend).
    public static func blockRange(count: Int, block j: Int, of blocks: Int) -> Range<Int> {
        let base = count / blocks, extra = count % blocks
        let start = j * base + min(j, extra)
        return start..<(start + base + (j < extra ? 1 : 0))
    }
}

/// The plain invocation: rank 0 of 1. Reductions leave buffers as they are.
public final class SingleProcess: Communicator {
    public init() {}
    public var rank: Int { 0 }
    public var size: Int { 1 }
    public func sumAllReduce(_ buffer: UnsafeMutableBufferPointer<Float>) {}
    public func sumAllReduce(_ buffer: UnsafeMutableBufferPointer<Double>) {}
    public func maxAllReduce(_ value: Int) -> Int { value }
    public func broadcast(_ bytes: [UInt8], root: Int) -> [UInt8] { bytes }
    public func allGather(_ bytes: [UInt8]) -> [[UInt8]] { [bytes] }
    public func barrier() {}
    public func abort(code: Int32) -> Never { exit(code) }
}

/// An MPI call failed (its error class and message).
public struct CommunicatorError: Error, CustomStringConvertible, Sendable {
    public var call: String
    public var code: Int32
    public var message: String

    public var description: String {
        "\(call) failed with MPI error \(code) (\(message)); the job cannot continue: check that every rank runs "
            + "the same command (mpirun -np R jam-… / srun -n R jam-…) and rerun — training resumes from its checkpoint"
    }
}
