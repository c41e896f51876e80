import Foundation

/// A one-line progress display on standard error: redrawn in place on a terminal, silent when
/// standard error is not a terminal (logs and CI stay clean). Messages (`log`) always print.
public final class ProgressReporter: @unchecked Sendable {
    public let label: String
    private let interactive: Bool
    private let lock = NSLock()
    private var total = 0
    private var done = 0
    private var failed = 0
    private var skipped = 0
    private var started = Date()
    private var lastDraw = Date.distantPast

    /// `interactive` defaults to whether standard error is a terminal.
    public init(label: String, interactive: Bool? = nil) {
        self.label = label
        self.interactive = interactive ?? (isatty(STDERR_FILENO) == 1)
    }

    public func start(total: Int, skipped: Int) {
        lock.withLock {
            self.total = total
            self.skipped = skipped
            started = Date()
            draw(force: true)
        }
    }

    public func advance(failed unitFailed: Bool) {
        lock.withLock {
            done += 1
            if unitFailed { failed += 1 }
            draw(force: done == total)
        }
    }

    /// Prints a message on its own line (clearing the progress line first).
    public func log(_ message: String) {
        lock.withLock {
            if interactive { writeStandardError("\r\u{1B}[K") }
            writeStandardError("\(label): \(message)\n")
            draw(force: true)
        }
    }

    public func finish() {
        lock.withLock {
            if interactive && total > 0 { writeStandardError("\n") }
        }
    }

    private func draw(force: Bool) {
        guard interactive, total > 0 else { return }
        let now = Date()
        guard force || now.timeIntervalSince(lastDraw) > 0.2 else { return }
        lastDraw = now
        let elapsed = now.timeIntervalSince(started)
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        let eta = rate > 0 ? Double(total - done) / rate : 0
        var line = "\(label): \(done)/\(total)"
        if skipped > 0 { line += " (+\(skipped) already done)" }
        if failed > 0 { line += ", \(failed) failed" }
        line += String(format: ", %.2f/s, ETA %.0f s", rate, eta)
        writeStandardError("\r\u{1B}[K\(line)")
    }
}

/// Writes to standard error unbuffered (safe from any thread).
public func writeStandardError(_ text: String) {
    var bytes = Array(text.utf8)
    bytes.withUnsafeMutableBytes { buffer in
        var offset = 0
        while offset < buffer.count {
            let n = write(STDERR_FILENO, buffer.baseAddress! + offset, buffer.count - offset)
            if n <= 0 { break }
            offset += n
        }
    }
}
