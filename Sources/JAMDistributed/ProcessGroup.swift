// Tests: Tests/JAMStagesTests/MPITrainingTests.swift (the executables under mpirun, and plain)
import Foundation

/// The job this process belongs to: `ProcessGroup.world`.
///
/// MPI is used only when a launcher started the process — `mpirun`/`mpiexec` (Open MPI sets
/// `OMPI_COMM_WORLD_SIZE`) or `srun` with PMIx (`PMIX_RANK`; `PMI_RANK` for PMI-2) — and the job
/// has more than one rank. A plain invocation never loads MPI's state and runs as before.
public enum ProcessGroup {
    private static let state = State()

    /// The variables by which a launcher announces the ranks.
    public static let launcherVariables = ["OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK"]

    /// Whether `environment` says a launcher started this process.
    public static func launchedByMPI(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        launcherVariables.contains { environment[$0] != nil }
    }

    /// Joins the job when a launcher started this process (`MPI_Init_thread`, FUNNELED: call it on
    /// the main thread, which then makes every MPI call), else does nothing; idempotent.
    /// MPI is finalized when the process exits.
    @discardableResult
    public static func join(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> any Communicator {
        try state.join(launched: launchedByMPI(environment))
    }

    /// The joined job, or a `SingleProcess` when `join()` was not called or found no launcher.
    public static var world: any Communicator { state.world }

    /// Seconds this process spent in gradient all-reduces so far (0 without MPI).
    public static var reduceSeconds: Double { (state.world as? MPICommunicator)?.reduceSeconds ?? 0 }

    /// Runs a command's body; under MPI an error on any rank ends the whole job (`MPI_Abort`)
    /// after printing it, instead of leaving the other ranks blocked in a collective call.
    /// `ArgumentParser`'s exit requests (clean ends with a status) pass through.
    public static func runCommand(_ body: () throws -> Void, isExitRequest: (Error) -> Bool) throws {
        let world = self.world
        guard world.isDistributed else { return try body() }
        do {
            try body()
        } catch let error where isExitRequest(error) {
            throw error
        } catch {
            FileHandle.standardError.write(Data("Error (rank \(world.rank) of \(world.size)): \(error)\n".utf8))
            world.abort(code: 1)
        }
    }

    private final class State: @unchecked Sendable {
        private let lock = NSLock()
        private var joined: (any Communicator)?

        var world: any Communicator { lock.withLock { joined } ?? SingleProcess() }

        func join(launched: Bool) throws -> any Communicator {
            try lock.withLock {
                if let joined { return joined }
                guard launched else {
                    let single = SingleProcess()
                    joined = single
                    return single
                }
                let mpi = try MPICommunicator()
                atexit { MPICommunicator.finalize() }
                joined = mpi
                return mpi
            }
        }
    }
}
