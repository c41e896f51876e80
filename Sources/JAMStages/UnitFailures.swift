// Tests: Tests/JAMStagesTests/FailureMessageTests.swift (the file at fault named once, disk full, permissions, damaged outputs redone)
import Foundation
import JAMArtifacts
import JAMCore
import JAMVideo

// What a failure says: the file the user must act on (the error's own file — a damaged
// upstream artifact, the output that could not be written — rather than always the unit's
// input), named once, and the reason without that name repeated.

extension UnitFailure {
    /// The failure of `unit` (a name for the report) from `error`; `file` is the file blamed when
    /// the error names none. A temporary (`x.h5.tmp-…`) is reported as the output it stands for.
    public init(unit: String, error: Error, file fallback: String) {
        var file = fallback
        var reason: String
        switch error {
        case let e as JAMError:
            file = e.file ?? fallback
            reason = [e.location, e.message].compactMap { $0 }.joined(separator: ": ")
        case let e as VideoError:
            file = e.path
            reason = String(e.description.dropFirst(e.path.count + 2))
        case let e as HDF5Error:
            file = e.path
            reason = e.message
        default:
            reason = SystemError.reason(of: error)
        }
        if let output = AtomicFile.finalURL(forTemporary: URL(fileURLWithPath: file)) {
            file = output.path
            reason = "writing it: \(reason)"
        }
        // Nested errors may still begin with the same path; say it once.
        while reason.hasPrefix(file + ": ") { reason.removeFirst(file.count + 2) }
        self.init(unit: unit, file: file, reason: reason)
    }

    /// Whether the failure is a full disk (or quota), where every later unit would fail the same way.
    var isDiskFull: Bool {
        reason.contains(SystemError.text(ENOSPC)) || reason.contains(SystemError.text(EDQUOT))
    }
}

extension StageRunner {
    /// A full disk, said with what it takes: the output being written, the space left there,
    /// and about how much the stage's remaining units need (the mean size of the outputs already
    /// finished, times the units left).
    static func diskFullAdvice(_ failure: UnitFailure, output: URL, units: [WorkUnit], remaining: Int) -> UnitFailure {
        var failure = failure
        failure.file = output.path
        let sizes = units.compactMap { unit -> Int64? in
            guard let size = try? FileManager.default.attributesOfItem(atPath: unit.output.path)[.size] as? NSNumber
            else { return nil }
            return size.int64Value
        }
        let free = SystemError.freeBytes(at: output.deletingLastPathComponent())
        let saysWriting = failure.reason.hasPrefix("writing it") || failure.reason.hasPrefix("cannot write it")
        var advice = saysWriting ? failure.reason : "writing it: \(failure.reason)"
        if let free { advice += "; \(SystemError.byteText(free)) free there" }
        if !sizes.isEmpty {
            let mean = sizes.reduce(0, +) / Int64(sizes.count)
            advice += "; the finished outputs average \(SystemError.byteText(mean)), so the \(remaining) unfinished "
                + "unit(s) need about \(SystemError.byteText(mean * Int64(max(remaining, 1)))) in all"
        } else {
            advice += "; the \(remaining) unfinished unit(s) need more than that"
        }
        advice += ": free space there or move artifacts_root, then rerun (finished units are kept)"
        failure.reason = advice
        return failure
    }

    /// Why a finished unit's output cannot be trusted, or nil when `verify` accepts it.
    static func problem(verifying unit: WorkUnit, depth: VerificationDepth,
                        with verify: (WorkUnit, VerificationDepth) throws -> Void) -> String? {
        do {
            try verify(unit, depth)
            return nil
        } catch {
            let text = UnitFailure(unit: unit.name, error: error, file: unit.output.path).description
            // The reader's advice ("…; expected a 'features' artifact … Rerun jam-features") is what happens now.
            return text.range(of: "; expected a '").map { String(text[..<$0.lowerBound]) } ?? text
        }
    }
}

extension AtomicFile {
    /// The file a temporary stands for (`x.h5.tmp-12-9f` → `x.h5`), or nil for a plain name.
    public static func finalURL(forTemporary url: URL) -> URL? {
        let name = url.lastPathComponent
        guard let range = name.range(of: temporaryMarker, options: .backwards), range.lowerBound > name.startIndex
        else { return nil }
        return url.deletingLastPathComponent().appendingPathComponent(String(name[..<range.lowerBound]))
    }
}
