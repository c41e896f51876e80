// Tests: Tests/JAMStagesTests/ProgressReporterTests.swift (timed lines in a non-terminal log, from a real stage run and in process)
import Dispatch
import Foundation
import JAMTraining

/// Progress on standard error: on a terminal, one line redrawn in place; otherwise (a Slurm or
/// CI log) a plain line every `interval` seconds while work is under way, so a log shows that a
/// days-long stage is alive and when it will end. Both say done/total, the rate and the ETA:
///
///     jam-features: 120/13320 (+40 already done), 0.352/s, ETA 10h 25m
///
/// Messages (`log`) always print. The interval is `JAM_PROGRESS_INTERVAL` (seconds, default
/// 30; 0: no timed lines), read once per reporter.
public final class ProgressReporter: @unchecked Sendable {
    /// The environment variable that sets `interval` for logs.
    public static let intervalVariable = "JAM_PROGRESS_INTERVAL"
    public static let defaultInterval = 30.0

    public let label: String
    /// Seconds between progress lines when not interactive (0: none).
    public let interval: Double
    private let interactive: Bool
    private let lock = NSLock()
    private var total = 0
    private var done = 0
    private var failed = 0
    private var skipped = 0
    private var started = Date()
    private var lastDraw = Date.distantPast
    private var timer: DispatchSourceTimer?

    /// `interactive` defaults to whether standard error is a terminal; `interval` to
    /// `JAM_PROGRESS_INTERVAL`, or 30 s.
    public init(label: String, interactive: Bool? = nil, interval: Double? = nil) {
        self.label = label
        self.interactive = interactive ?? (isatty(STDERR_FILENO) == 1)
        self.interval = max(0, interval ?? Self.environmentInterval(label: label))
    }

    deinit { timer?.cancel() }

    /// A reporter for a part of this one's work (a split's training, its export), shown the same way.
    public func reporter(label: String) -> ProgressReporter {
        ProgressReporter(label: label, interactive: interactive, interval: interval)
    }

    /// `JAM_PROGRESS_INTERVAL` as seconds, or the default (with a warning when it is not a number ≥ 0).
    static func environmentInterval(label: String) -> Double {
        guard let text = ProcessInfo.processInfo.environment[intervalVariable] else { return defaultInterval }
        guard let seconds = Double(text.trimmingCharacters(in: .whitespaces)), seconds.isFinite, seconds >= 0 else {
            writeStandardError("\(label): WARNING: \(intervalVariable)='\(text)' is not a number of seconds ≥ 0; "
                               + "using \(Int(defaultInterval)) s\n")
            return defaultInterval
        }
        return seconds
    }

    public func start(total: Int, skipped: Int) {
        lock.withLock {
            self.total = total
            self.skipped = skipped
            started = Date()
            draw(force: true)
            if !interactive && interval > 0 && total > 0 {
                writeStandardError(line() + "\n")
                startTimer()
            }
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
            timer?.cancel()
            timer = nil
            if interactive && total > 0 { writeStandardError("\n") }
        }
    }

    /// `label: done/total (+skipped already done), failed, rate, ETA`.
    private func line() -> String {
        let elapsed = Date().timeIntervalSince(started)
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        var line = "\(label): \(done)/\(total)"
        if skipped > 0 { line += " (+\(skipped) already done)" }
        if failed > 0 { line += ", \(failed) failed" }
        let eta = done == total ? "done" : "ETA " + describeDuration(rate > 0 ? Double(total - done) / rate : .nan)
        return line + ", \(describeRate(rate)), \(eta)"
    }

    private func draw(force: Bool) {
        guard interactive, total > 0 else { return }
        let now = Date()
        guard force || now.timeIntervalSince(lastDraw) > 0.2 else { return }
        lastDraw = now
        writeStandardError("\r\u{1B}[K\(line())")
    }

    /// A line every `interval` seconds until `finish` (or until the reporter is released).
    private func startTimer() {
        timer?.cancel()
        let timer = DispatchSource.makeTimerSource(queue: DispatchQueue.global(qos: .utility))
        timer.schedule(deadline: .now() + interval, repeating: interval)
        timer.setEventHandler { [weak self] in
            guard let self else { return }
            self.lock.withLock {
                if self.done < self.total { writeStandardError(self.line() + "\n") }
            }
        }
        timer.resume()
        self.timer = timer
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
