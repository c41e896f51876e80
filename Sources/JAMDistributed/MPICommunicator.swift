// Tests: Tests/JAMStagesTests/MPICommunicatorTests.swift
import CMPI
import Foundation

/// `MPI_COMM_WORLD` of a job started by `mpirun -np R` or `srun -n R` (Open MPI). Built only by
/// `ProcessGroup.join()`, which decides from the environment whether a launcher started us.
///
/// The fixed-order sum is a reduce-scatter then an all-gather, as a ring all-reduce moves data
/// (each rank sends and receives ≈ 2·(R−1)/R of the buffer): `MPI_Alltoallv` gives rank j block
/// j of every rank, in rank order; rank j adds them left to right; `MPI_Allgatherv` gives every
/// rank every summed block. MPI only moves bytes, so the sums do not depend on MPI's choice of
/// algorithm or on timing.
final class MPICommunicator: Communicator, @unchecked Sendable {
    let rank: Int
    let size: Int
    /// Seconds spent in `sumAllReduce` so far (for the step log and the benchmark).
    private(set) var reduceSeconds = 0.0

    /// `MPI_Init_thread(FUNNELED)`: only the calling thread may use MPI afterwards.
    init() throws {
        var provided: Int32 = 0
        try Self.check(MPI_Init_thread(nil, nil, jam_mpi_thread_funneled(), &provided), "MPI_Init_thread")
        var r: Int32 = 0, s: Int32 = 0
        try Self.check(MPI_Comm_rank(jam_mpi_comm_world(), &r), "MPI_Comm_rank")
        try Self.check(MPI_Comm_size(jam_mpi_comm_world(), &s), "MPI_Comm_size")
        (rank, size) = (Int(r), Int(s))
    }

    static func finalize() {
        var finalized: Int32 = 0
        MPI_Finalized(&finalized)
        if finalized == 0 { MPI_Finalize() }
    }

    static func check(_ code: Int32, _ call: String) throws {
        guard code != jam_mpi_success() else { return }
        var text = [CChar](repeating: 0, count: Int(jam_mpi_max_error_string()) + 1)
        var length: Int32 = 0
        MPI_Error_string(code, &text, &length)
        let bytes = text.prefix(Int(length)).map { UInt8(bitPattern: $0) }
        throw CommunicatorError(call: call, code: code, message: String(decoding: bytes, as: UTF8.self))
    }

    func sumAllReduce(_ buffer: UnsafeMutableBufferPointer<Float>) throws {
        try fixedOrderSum(buffer, type: jam_mpi_float())
    }

    func sumAllReduce(_ buffer: UnsafeMutableBufferPointer<Double>) throws {
        try fixedOrderSum(buffer, type: jam_mpi_double())
    }

    private func fixedOrderSum<T: BinaryFloatingPoint>(_ buffer: UnsafeMutableBufferPointer<T>, type: MPI_Datatype?) throws {
        let start = Date()
        defer { reduceSeconds += Date().timeIntervalSince(start) }
        let n = buffer.count
        guard size > 1, n > 0 else { return }
        precondition(n <= Int(Int32.max), "MPICommunicator: \(n) elements exceed MPI's int counts")
        let blocks = (0..<size).map { Self.blockRange(count: n, block: $0, of: size) }
        let counts = blocks.map { Int32($0.count) }
        let offsets = blocks.map { Int32($0.lowerBound) }
        let mine = blocks[rank]
        // Rank i's copy of my block lands at i·|mine|.
        var received = [T](repeating: 0, count: size * mine.count)
        let receiveCounts = [Int32](repeating: Int32(mine.count), count: size)
        let receiveOffsets = (0..<size).map { Int32($0 * mine.count) }
        try received.withUnsafeMutableBufferPointer { r in
            try Self.check(MPI_Alltoallv(buffer.baseAddress, counts, offsets, type, r.baseAddress, receiveCounts, receiveOffsets,
                                         type, jam_mpi_comm_world()), "MPI_Alltoallv")
            let out = buffer.baseAddress! + mine.lowerBound
            let copies = r.baseAddress!
            for k in 0..<mine.count { out[k] = copies[k] }
            for i in 1..<size {
                let copy = copies + i * mine.count
                for k in 0..<mine.count { out[k] += copy[k] }
            }
        }
        try Self.check(MPI_Allgatherv(jam_mpi_in_place(), 0, type, buffer.baseAddress, counts, offsets, type,
                                      jam_mpi_comm_world()), "MPI_Allgatherv")
    }

    func maxAllReduce(_ value: Int) throws -> Int {
        var local = Int32(clamping: value), result: Int32 = 0
        try Self.check(MPI_Allreduce(&local, &result, 1, jam_mpi_int(), jam_mpi_max(), jam_mpi_comm_world()), "MPI_Allreduce")
        return Int(result)
    }

    func broadcast(_ bytes: [UInt8], root: Int) throws -> [UInt8] {
        var length = Int32(bytes.count)
        try Self.check(MPI_Bcast(&length, 1, jam_mpi_int(), Int32(root), jam_mpi_comm_world()), "MPI_Bcast")
        var data = rank == root ? bytes : [UInt8](repeating: 0, count: Int(length))
        guard length > 0 else { return [] }
        try data.withUnsafeMutableBytes {
            try Self.check(MPI_Bcast($0.baseAddress, length, jam_mpi_byte(), Int32(root), jam_mpi_comm_world()), "MPI_Bcast")
        }
        return data
    }

    func allGather(_ bytes: [UInt8]) throws -> [[UInt8]] {
        var length = Int32(bytes.count)
        var lengths = [Int32](repeating: 0, count: size)
        try Self.check(MPI_Allgather(&length, 1, jam_mpi_int(), &lengths, 1, jam_mpi_int(), jam_mpi_comm_world()),
                       "MPI_Allgather")
        var offsets = [Int32](repeating: 0, count: size)
        for i in 1..<max(size, 1) { offsets[i] = offsets[i - 1] + lengths[i - 1] }
        var all = [UInt8](repeating: 0, count: Int(lengths.reduce(0, +)) + 1)
        try bytes.withUnsafeBytes { send in
            try all.withUnsafeMutableBytes { receive in
                try Self.check(MPI_Allgatherv(send.baseAddress, length, jam_mpi_byte(), receive.baseAddress, lengths, offsets,
                                              jam_mpi_byte(), jam_mpi_comm_world()), "MPI_Allgatherv")
            }
        }
        return (0..<size).map { Array(all[Int(offsets[$0])..<Int(offsets[$0] + lengths[$0])]) }
    }

    func barrier() throws {
        try Self.check(MPI_Barrier(jam_mpi_comm_world()), "MPI_Barrier")
    }

    func abort(code: Int32) -> Never {
        MPI_Abort(jam_mpi_comm_world(), code)
        exit(code)
    }
}
