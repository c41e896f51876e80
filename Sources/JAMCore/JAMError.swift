// Tests: Tests/JAMCoreTests/StrictJSONReaderTests.swift (the description joins file, location and message)
import Foundation

/// An error whose `description` is written for the person running the pipeline: it names the
/// file, where in it (a JSON path, a line), and what is wrong or what to do.
///
/// Executables print `String(describing: error)` and exit non-zero; nothing else is added, so the
/// description must stand on its own.
public protocol UserFacingError: Error, CustomStringConvertible {}

/// JAM's general user-facing error: `"<file>: <location>: <message>"`, leaving out the parts
/// that are `nil`.
///
///     JAMError("unknown key (known: every, size)", file: "pipeline.json", location: "$.decode.sise")
///     // pipeline.json: $.decode.sise: unknown key (known: every, size)
public struct JAMError: UserFacingError, LocalizedError, Sendable, Equatable {
    /// The file the problem is in or about, as the user would type it (may be `nil`).
    public var file: String?
    /// Where in the file: a JSON path (`$.decode.size`) or `line 12`.
    public var location: String?
    /// What is wrong, and where useful, what was expected and what to do.
    public var message: String

    public init(_ message: String, file: String? = nil, location: String? = nil) {
        (self.message, self.file, self.location) = (message, file, location)
    }

    public var description: String {
        [file, location, message].compactMap { $0 }.joined(separator: ": ")
    }

    public var errorDescription: String? { description }
}
