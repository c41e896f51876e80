// Tests: Tests/JAMStagesTests/StatusTests.swift (the table's lines, the JSON's keys)
import Foundation
import JAMCore

// jam-status's two outputs: an aligned table for people, and a JSON object for scripts whose keys
// are documented in docs/ARTIFACTS.md ("jam-status --json") and change only with `status_schema`.

extension PipelineStatus {
    /// The version of the `--json` object's layout.
    public static let jsonSchema = 1

    /// The command to run next, with the user's config options (`--config F --profile P` as they
    /// were given, each quoted for a shell when needed); nil when nothing is left to run.
    public func nextCommand(options: [String]) -> String? {
        next.map { ([$0.command] + options.map(Self.shellQuoted)).joined(separator: " ") }
    }

    /// Which shards of the next stage still have pending units, as a sentence; nil when it was
    /// not run sharded.
    public var nextShardNote: String? {
        guard let stage = next, let n = stage.shardCount, !stage.pendingShards.isEmpty else { return nil }
        let list = stage.pendingShards.map { "\($0)/\(n)" }.joined(separator: ", ")
        return "\(stage.command) was last run in \(n) shards; shard(s) \(list) have pending units: rerun those "
            + "(--shard i/N, or their array tasks), or the stage unsharded"
    }

    /// The plain table: one row per stage, a line per split of a trained stage, the failures, the next command.
    public func table(options: [String]) -> String {
        let header = ["STAGE", "STATE", "DONE", "FAILED", "PENDING", "TOTAL", ""]
        var rows: [[String]] = [header]
        var details: [Int: [String]] = [:]
        for stage in stages {
            // Waiting says why; a problem (no split files yet) is then the same cause, said upstream.
            let note = stage.waitingFor.map { "waiting for \($0)" }
                ?? (stage.inProgress > 0 ? "\(stage.inProgress) being written" : stage.problem ?? "")
            rows.append([stage.command, stage.state.rawValue.replacingOccurrences(of: "_", with: " "), "\(stage.done)",
                         "\(stage.failed)", "\(stage.pending)", "\(stage.total)", note])
            if stage.state != .waiting { details[rows.count - 1] = stage.training.map { "  split \($0.split): \($0.summary)" } }
        }
        let widths = (0..<header.count).map { column in rows.map { $0[column].count }.max() ?? 0 }
        var lines: [String] = []
        for (index, row) in rows.enumerated() {
            let cells = row.enumerated().map { column, cell in
                // Names and states left-aligned, counts right-aligned, the note as it is.
                column == row.count - 1 ? cell
                    : column < 2 ? cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
                    : String(repeating: " ", count: widths[column] - cell.count) + cell
            }
            lines.append(cells.joined(separator: "  ").trimmingCharacters(in: .whitespaces))
            lines += details[index] ?? []
        }
        let failures = stages.flatMap { stage in stage.failures.map { (stage.command, $0) } }
        if !failures.isEmpty {
            lines.append("")
            lines.append("Failures (\(failures.count)):")
            for (command, failure) in failures { lines.append("  \(command): \(failure.unit): \(failure.file): \(failure.reason)") }
        }
        for warning in warnings { lines.append("WARNING: \(warning)") }
        lines.append("")
        if let command = nextCommand(options: options) {
            lines.append("Next: \(command)")
            if let note = nextShardNote { lines.append("      (\(note))") }
        } else if complete {
            lines.append("Next: nothing; every stage is done.")
        } else {
            let failed = stages.filter { $0.state == .failed }.map(\.command).joined(separator: ", ")
            lines.append("Next: nothing to run; fix the failed files listed above, then rerun \(failed).")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The `--json` object (docs/ARTIFACTS.md, "jam-status --json").
    public func json(config: String, profile: String?, options: [String]) -> JSONValue {
        func optional(_ value: Int?) -> JSONValue { value.map(JSONValue.int) ?? .null }
        func optional(_ value: String?) -> JSONValue { value.map(JSONValue.string) ?? .null }
        let stageValues: [JSONValue] = stages.map { stage in
            .object([
                "stage": .string(stage.stage), "round": optional(stage.round), "command": .string(stage.command),
                "folder": .string(stage.folder.path), "state": .string(stage.state.rawValue),
                "waiting_for": optional(stage.waitingFor), "problem": optional(stage.problem),
                "total": .int(stage.total), "done": .int(stage.done), "failed": .int(stage.failed),
                "pending": .int(stage.pending), "in_progress": .int(stage.inProgress),
                "shard_count": optional(stage.shardCount), "pending_shards": .array(stage.pendingShards.map(JSONValue.int)),
                "training": .array(stage.training.map { split in
                    .object([
                        "split": .int(split.split), "checkpoint": .string(split.checkpoint.rawValue),
                        "epochs_done": optional(split.epochsDone), "step": optional(split.step), "epochs": .int(split.epochs),
                        "exports": .string(split.exports.rawValue), "export_epochs": optional(split.exportEpochs),
                    ])
                }),
                "failures": .array(stage.failures.map {
                    .object(["unit": .string($0.unit), "file": .string($0.file), "reason": .string($0.reason)])
                }),
            ])
        }
        return .object([
            "status_schema": .int(Self.jsonSchema), "config": .string(config), "profile": optional(profile),
            "complete": .bool(complete), "next_command": optional(nextCommand(options: options)),
            "next_note": optional(nextShardNote), "warnings": .array(warnings.map(JSONValue.string)),
            "stages": .array(stageValues),
        ])
    }

    /// `text` as one shell word: unchanged when it holds only safe characters, else single-quoted.
    static func shellQuoted(_ text: String) -> String {
        let safe = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=,:+@%")
        if !text.isEmpty && text.allSatisfy(safe.contains) { return text }
        return "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}

extension SplitTraining {
    /// `trained 2/3 epochs (step 17); exports: none`.
    public var summary: String {
        var text: String
        switch checkpoint {
        case .notTrained: text = "nothing to train (c3d.middle none)"
        case .absent: text = "not started (no checkpoint)"
        case .training: text = "training: \(epochsDone ?? 0)/\(epochs) epochs done, step \(step ?? 0)"
        case .finished: text = "trained \(epochs) epochs (step \(step ?? 0))"
        case .beyond: text = "checkpoint has \(epochsDone ?? 0) epochs, more than the configured \(epochs): the stage refuses it "
            + "(raise epochs, or --force to retrain)"
        case .unreadable: text = "checkpoint unreadable: the stage removes it and trains afresh"
        }
        switch exports {
        case .none: text += "; exports: none yet"
        case .current: text += "; exports: current"
        case .stale: text += "; exports: stale (of the \(exportEpochs ?? 0)-epoch model, redone after training)"
        }
        return text
    }
}
