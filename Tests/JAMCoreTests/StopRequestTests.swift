import Foundation
import JAMCore
import Testing

@Suite(.serialized) struct StopRequestTests {
    @Test func aSignalSetsTheRequestInsteadOfEndingTheProcess() async throws {
        StopRequest.install()
        StopRequest.reset()
        #expect(!StopRequest.isRequested)
        kill(getpid(), SIGUSR1)
        for _ in 0..<200 where !StopRequest.isRequested { try await Task.sleep(nanoseconds: 10_000_000) }
        #expect(StopRequest.reason == "SIGUSR1")
        StopRequest.reset()
        #expect(!StopRequest.isRequested)
    }
}
