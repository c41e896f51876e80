import Foundation
import JAMCore
import Testing

@Suite(.serialized) struct StopRequestTests {
    /// A private listener: the process-wide request must stay unset, since the stage loops of
    /// other tests running in this process ask it (they would stop taking units).
    @Test func aSignalSetsTheRequestInsteadOfEndingTheProcess() async throws {
        let listener = StopRequest.Listener()
        listener.install()
        #expect(listener.reason == nil)
        kill(getpid(), SIGUSR1)
        for _ in 0..<200 where listener.reason == nil { try await Task.sleep(nanoseconds: 10_000_000) }
        #expect(listener.reason == "SIGUSR1")
        #expect(!StopRequest.isRequested, "the process-wide request was not installed here")
        listener.set(nil)
        #expect(listener.reason == nil)
    }
}
