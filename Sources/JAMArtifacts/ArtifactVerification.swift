// Tests: Tests/JAMArtifactsTests/ArtifactVerificationTests.swift (truncated, zeroed, wrong kind, wrong shape, NaN on --verify)
import Foundation
import JAMCore

/// How closely a finished artifact is checked before a stage trusts it and skips its unit.
public enum VerificationDepth: Sendable, Equatable {
    /// Opens (which catches a truncated or zeroed file), right kind and schema, the expected
    /// datasets with the expected shapes, and the last slice of each dataset readable (the end of
    /// the file is where a cut-short copy loses data). Milliseconds per file.
    case quick
    /// All of `quick`, then every value read and checked finite (`--verify`).
    case full
}

/// One dataset a finished artifact must hold.
public struct DatasetExpectation: Sendable {
    public var name: String
    /// The expected extents; `nil` leaves an axis free.
    public var shape: [Int?]
    /// Datasets naming the same group must agree on their first axis (frames, steps, clips).
    public var leadingAxis: String?

    public init(_ name: String, shape: [Int?], leadingAxis: String? = nil) {
        (self.name, self.shape, self.leadingAxis) = (name, shape, leadingAxis)
    }
}

public enum ArtifactVerification {
    /// Checks that `url` is a finished artifact of `kind` holding `datasets`; throws an
    /// `ArtifactError` naming the file and what is wrong. `depth` says how much is read.
    public static func verify(_ url: URL, kind: ArtifactKind, datasets: [DatasetExpectation], depth: VerificationDepth) throws {
        let file = try ArtifactReader(url: url, expecting: kind).file
        var leading: [String: (name: String, extent: Int)] = [:]
        for expected in datasets {
            guard file.contains(expected.name) else {
                throw ArtifactError(path: url.path, "'\(kind.name)' artifact has no '\(expected.name)' dataset")
            }
            let dataset = try file.openDataset(expected.name)
            let shape = try dataset.shape()
            let matches = shape.count == expected.shape.count
                && zip(shape, expected.shape).allSatisfy { actual, wanted in wanted.map { $0 == actual } ?? true }
            guard matches else {
                let wanted = expected.shape.map { $0.map(String.init) ?? "·" }.joined(separator: ", ")
                throw ArtifactError(path: url.path, "'\(expected.name)' has shape \(shape), expected [\(wanted)]")
            }
            if let group = expected.leadingAxis, let first = shape.first {
                if let other = leading[group], other.extent != first {
                    throw ArtifactError(path: url.path, "'\(expected.name)' has \(first) rows, '\(other.name)' \(other.extent)")
                }
                leading[group] = (expected.name, first)
            }
            try readBack(dataset, shape: shape, depth: depth, url: url)
        }
    }

    /// Reads the last slice along the first axis (`quick`) or every slice, checking floats are
    /// finite (`full`); a slice at a time, so memory stays at one slice.
    static func readBack(_ dataset: HDF5Dataset, shape: [Int], depth: VerificationDepth, url: URL) throws {
        guard let rows = shape.first, rows > 0, shape.allSatisfy({ $0 > 0 }) else { return }
        let slice = [1] + shape.dropFirst()
        let count = slice.reduce(1, *)
        let range = depth == .full ? 0..<rows : (rows - 1)..<rows
        let storage = try dataset.storageType()
        for row in range {
            let start = [row] + Array(repeating: 0, count: shape.count - 1)
            switch storage {
            case .float16, .float32:
                var values = [Float](repeating: 0, count: count)
                try values.withUnsafeMutableBufferPointer { try dataset.read(into: $0, at: start, shape: slice) }
                if depth == .full, let bad = values.firstIndex(where: { !$0.isFinite }) {
                    throw nonFinite(dataset, row: row, element: bad, value: Double(values[bad]), url: url)
                }
            case .float64:
                var values = [Double](repeating: 0, count: count)
                try values.withUnsafeMutableBufferPointer { try dataset.read(into: $0, at: start, shape: slice) }
                if depth == .full, let bad = values.firstIndex(where: { !$0.isFinite }) {
                    throw nonFinite(dataset, row: row, element: bad, value: values[bad], url: url)
                }
            default:
                var values = [Int64](repeating: 0, count: count)
                try values.withUnsafeMutableBufferPointer { try dataset.read(into: $0, at: start, shape: slice) }
            }
        }
    }

    private static func nonFinite(_ dataset: HDF5Dataset, row: Int, element: Int, value: Double, url: URL) -> ArtifactError {
        ArtifactError(path: url.path, "'\(dataset.objectPath.dropFirst())' holds \(value) at row \(row) (element \(element))")
    }
}
