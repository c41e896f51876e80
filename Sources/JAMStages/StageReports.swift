// Tests: Tests/JAMStagesTests/StatusTests.swift (shard reports merged; unreadable reports named; failures of finished units dropped)
import Foundation
import JAMCore

/// Every stage report of one stage folder: the whole run's `stage-report.json` and the shards'
/// `stage-report.shard-<i>-of-<N>.json` (`Shard.reportFileName`), read without writing anything,
/// so that jam-status can merge them while stages run.
public struct StageReports: Sendable {
    /// A report and the file it came from.
    public struct Entry: Sendable {
        public var file: URL
        public var report: StageReport
        /// `(i, N)` for a shard's report, nil for the whole run's.
        public var shard: (index: Int, count: Int)?
    }

    public var entries: [Entry]
    /// One line per report file that exists but cannot be read or parsed (named, with the reason).
    public var unreadable: [String]

    /// Reads every `stage-report*.json` in `folder` (temporaries of writers at work are left
    /// alone). A missing folder has no reports; an unreadable file is named in `unreadable`.
    public static func read(in folder: URL) -> StageReports {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        var result = StageReports(entries: [], unreadable: [])
        for name in names.sorted() where !AtomicFile.isTemporaryName(name) {
            let shard = shardOfReport(named: name)
            guard name == Shard.whole.reportFileName || shard != nil else { continue }
            let url = folder.appendingPathComponent(name)
            do {
                let report = try JSONDecoder().decode(StageReport.self, from: Data(contentsOf: url))
                result.entries.append(Entry(file: url, report: report, shard: shard))
            } catch {
                result.unreadable.append("\(url.path): cannot be read as a stage report (\(error.localizedDescription)); "
                                         + "its failures are not listed (the stage rewrites it when it next runs)")
            }
        }
        return result
    }

    /// `(i, N)` of `stage-report.shard-<i>-of-<N>.json`, nil for any other name.
    public static func shardOfReport(named name: String) -> (index: Int, count: Int)? {
        let prefix = "stage-report.shard-", suffix = ".json"
        guard name.hasPrefix(prefix), name.hasSuffix(suffix) else { return nil }
        let middle = name.dropFirst(prefix.count).dropLast(suffix.count)
        let parts = middle.components(separatedBy: "-of-")
        guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]), n >= 1, i >= 0, i < n,
              Shard(index: i, count: n).reportFileName == name else { return nil }
        return (i, n)
    }

    /// The shard count of the most recent sharded run (by the reports' `finished` times), nil
    /// when no shard report exists.
    public var shardCount: Int? {
        entries.filter { $0.shard != nil }.max { $0.report.finished < $1.report.finished }?.shard?.count
    }

    /// The failures of all reports, one per unit (the most recent report's, by `finished`),
    /// leaving out units for which `isDone` says the output now exists: those were redone since.
    /// Sorted by unit name.
    public func mergedFailures(isDone: (String) -> Bool) -> [UnitFailure] {
        var byUnit: [String: (finished: String, failure: UnitFailure)] = [:]
        for entry in entries {
            for failure in entry.report.failures where !isDone(failure.unit) {
                if let known = byUnit[failure.unit], known.finished > entry.report.finished { continue }
                byUnit[failure.unit] = (entry.report.finished, failure)
            }
        }
        return byUnit.values.map(\.failure).sorted { ($0.unit, $0.file) < ($1.unit, $1.file) }
    }
}
