// Tests: Tests/JAMStagesTests/EpochsTests.swift (raising epochs continues training and redoes the exports; lowering them is refused)
import Foundation
import JAMCore

/// Which trained weights the artifacts in a split's export folder came from:
/// `export.json` in `cubes/<digest>/split<N>/` (jam-c3d) and `attention/<digest>/split<N>/`
/// (jam-lstm).
///
/// `epochs` is not in a trained stage's digest (raising it continues the model in the same
/// folder), so the folder alone does not say which model made its exports. The trained stage
/// writes this record before its first export and, when the record names other epochs, first
/// removes the exports it names, so every export in the folder is of the recorded weights.
/// Readers (jam-lstm of the cubes, jam-c3d of the previous round's attention, jam-eval) check
/// that the record names the epochs their own digest was computed with.
struct ExportRecord: Codable, Equatable, Sendable {
    static let fileName = "export.json"

    /// Epochs the weights were trained (0: nothing is trained, `c3d.middle = none`).
    var epochs: Int
    /// Optimizer steps of the weights (nil when nothing is trained).
    var step: Int?

    /// The record in `folder`, or nil when there is none or it cannot be read.
    static func read(in folder: URL) -> ExportRecord? {
        guard let data = FileManager.default.contents(atPath: folder.appendingPathComponent(fileName).path) else { return nil }
        return try? JSONDecoder().decode(ExportRecord.self, from: data)
    }

    /// Writes the record into `folder`, atomically.
    func write(in folder: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(encoder.encode(self), to: folder.appendingPathComponent(Self.fileName))
    }

    /// Throws unless `folder`'s record says its artifacts came from weights trained `epochs`
    /// epochs. `what` names them in the message ("cubes", "attention"); `rerun` is the command
    /// that makes them for this configuration.
    static func require(epochs: Int, in folder: URL, what: String, setting: String, rerun: String) throws {
        let url = folder.appendingPathComponent(fileName)
        guard let record = read(in: folder) else {
            throw JAMError("no readable \(fileName): the \(what) in this folder were not (or not yet) exported; \(rerun)",
                           file: url.path)
        }
        guard record.epochs == epochs else {
            throw JAMError("the \(what) in this folder come from a model trained \(record.epochs) epochs, this configuration's "
                           + "\(setting) is \(epochs); \(rerun) (it continues or checks that model), or set \(setting) "
                           + "to \(record.epochs)", file: url.path)
        }
    }
}
