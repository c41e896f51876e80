import Foundation
import JAMCore
import Testing

@Suite(.serialized) struct StopRequestTests {
    /// A private listener: the process-wide request must stay unset, since the stage loops of
    /// other tests running in this process ask it (they would stop taking units).
    @Test func aSignalSetsTheRequestInsteadOfEndingTheProcess() throws {
        let listener = StopRequest.Listener()
        listener.install()
        #expect(listener.reason == nil)
        // In the test runner's process many threads that do not block SIGUSR1 already exist, and
        // one of them may take the (ignored) signal before the listener reads it: send it again
        // until the listener has it. Delivery to a stage command, which installs its listener
        // first thing in main, is tested with real processes in StopOnSignalTests.
        let deadline = Date().addingTimeInterval(30)
        var sent = 0
        while listener.reason == nil && Date() < deadline {
            kill(getpid(), SIGUSR1)
            sent += 1
            usleep(50_000)
        }
        #expect(listener.reason == "SIGUSR1", "no SIGUSR1 seen after \(sent) sent")
        #expect(!StopRequest.isRequested, "the process-wide request was not installed here")
        listener.set(nil)
        #expect(listener.reason == nil)
    }
}
