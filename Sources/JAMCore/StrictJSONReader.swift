import Foundation

/// A location in a JSON document, written as in JSONPath: `$`, `$.decode.size`, `$.dataset.splits[1]`.
public struct JSONPath: Sendable, Hashable, CustomStringConvertible {
    public enum Component: Sendable, Hashable {
        case key(String)
        case index(Int)
    }

    public var components: [Component]

    /// The document itself, `$`.
    public static let root = JSONPath(components: [])

    public init(components: [Component]) {
        self.components = components
    }

    public func appending(_ key: String) -> JSONPath {
        JSONPath(components: components + [.key(key)])
    }

    public func appending(index: Int) -> JSONPath {
        JSONPath(components: components + [.index(index)])
    }

    /// `$.decode.size`; keys that are not plain identifiers are bracketed: `$["my key"]`.
    public var description: String {
        var out = "$"
        for c in components {
            switch c {
            case .index(let i): out += "[\(i)]"
            case .key(let k):
                let plain = !k.isEmpty && k.unicodeScalars.allSatisfy {
                    $0.isASCII && (CharacterSet.alphanumerics.contains($0) || $0 == "_" || $0 == "-")
                }
                out += plain ? ".\(k)" : "[\(JSONValue.string(k).canonicalString)]"
            }
        }
        return out
    }
}

/// Reads the members of one JSON object strictly: every read names the key it wants, wrong types
/// and out-of-range values throw a `JAMError` naming the file and JSON path, and `finish()` then
/// rejects every key nobody asked for, listing the known ones:
///
///     pipeline.json: $.decode.sise: unknown key (known: every, max_frames, resize, size, threads)
///     pipeline.json: $.decode.size: expected an integer, found "big"
///
/// A missing key yields the caller's default, so sections may be partial. Typical use:
///
///     let root = try JSONObjectReader(document, file: "pipeline.json")
///     let decode = try root.object("decode")
///     let size = try decode.int("size", default: 96, min: 16)
///     try root.finish()   // checks `decode` and every other nested reader too
public final class JSONObjectReader {
    /// The file name used in messages.
    public let file: String
    /// Where this object is in the document.
    public let path: JSONPath
    /// The object's members, as read.
    public let members: [String: JSONValue]
    /// Renders a path for messages; the root reader's renderer is inherited by nested readers.
    /// (The config loader uses it to point at a profile's body when a value came from there.)
    private let render: (JSONPath) -> String
    private var known: Set<String> = []
    private var children: [JSONObjectReader] = []

    /// A reader over `value`, which must be an object (else throws "expected an object").
    public init(
        _ value: JSONValue, file: String, path: JSONPath = .root,
        renderPath: @escaping (JSONPath) -> String = { $0.description }
    ) throws {
        self.file = file
        self.path = path
        self.render = renderPath
        guard case .object(let members) = value else {
            throw JAMError("expected an object, found \(value.shortDescription)", file: file, location: renderPath(path))
        }
        self.members = members
    }

    // MARK: - Errors

    /// An error about member `key` of this object (or about the object itself when `key` is nil).
    public func error(at key: String?, _ message: String) -> JAMError {
        JAMError(message, file: file, location: render(key.map { path.appending($0) } ?? path))
    }

    /// An error about an arbitrary path, rendered like this reader's own.
    public func error(atPath path: JSONPath, _ message: String) -> JAMError {
        JAMError(message, file: file, location: render(path))
    }

    /// Throws "expected <expected>, found <value>" for `key` unless `condition` holds. Use it for
    /// checks that the typed readers cannot express (`a multiple of 16`).
    public func require(_ condition: Bool, _ key: String, expected: String) throws {
        guard !condition else { return }
        let found = members[key].map { $0.shortDescription } ?? "nothing (the default)"
        throw error(at: key, "expected \(expected), found \(found)")
    }

    private func mismatch(_ key: String, _ expected: String, _ value: JSONValue) -> JAMError {
        error(at: key, "expected \(expected), found \(value.shortDescription)")
    }

    // MARK: - Raw access

    /// Marks `key` as known and returns its value (nil when absent).
    public func value(_ key: String) -> JSONValue? {
        known.insert(key)
        return members[key]
    }

    /// Marks `key` as known and says whether the object has it.
    public func contains(_ key: String) -> Bool {
        known.insert(key)
        return members[key] != nil
    }

    // MARK: - Typed members

    /// An integer member; `min`/`max` bound it (inclusive).
    public func int(_ key: String, default defaultValue: Int, min: Int? = nil, max: Int? = nil) throws -> Int {
        guard let v = value(key) else { return defaultValue }
        // A wrong type says only what type was wanted; a wrong value also gives the bounds.
        guard let i = v.intValue else { throw mismatch(key, "an integer", v) }
        let expected = JSONObjectReader.describeInteger(min: min, max: max)
        if let min, i < min { throw mismatch(key, expected, v) }
        if let max, i > max { throw mismatch(key, expected, v) }
        return i
    }

    /// A number member (integers are numbers too); `min`/`max` bound it (inclusive).
    public func double(_ key: String, default defaultValue: Double, min: Double? = nil, max: Double? = nil) throws -> Double {
        guard let v = value(key) else { return defaultValue }
        var expected = "a number"
        switch (min, max) {
        case let (lo?, hi?): expected += " in \(lo)...\(hi)"
        case let (lo?, nil): expected += " >= \(lo)"
        case let (nil, hi?): expected += " <= \(hi)"
        default: break
        }
        guard case .number(let x) = v else { throw mismatch(key, "a number", v) }
        if let min, x < min { throw mismatch(key, expected, v) }
        if let max, x > max { throw mismatch(key, expected, v) }
        return x
    }

    /// A boolean member.
    public func bool(_ key: String, default defaultValue: Bool) throws -> Bool {
        guard let v = value(key) else { return defaultValue }
        guard case .bool(let b) = v else { throw mismatch(key, "true or false", v) }
        return b
    }

    /// A string member; `nonEmpty` refuses `""`.
    public func string(_ key: String, default defaultValue: String, nonEmpty: Bool = true) throws -> String {
        guard let v = value(key) else { return defaultValue }
        let expected = nonEmpty ? "a non-empty string" : "a string"
        guard case .string(let s) = v, !(nonEmpty && s.isEmpty) else { throw mismatch(key, expected, v) }
        return s
    }

    /// A member that is `null` or a non-empty string.
    public func optionalString(_ key: String, default defaultValue: String?) throws -> String? {
        guard let v = value(key) else { return defaultValue }
        switch v {
        case .null: return nil
        case .string(let s) where !s.isEmpty: return s
        default: throw mismatch(key, "null or a non-empty string", v)
        }
    }

    /// A string member that must be one of an enumeration's raw values:
    /// `expected one of "stretch", "crop", found "fit"`.
    public func choice<E: RawRepresentable & CaseIterable>(_ key: String, default defaultValue: E) throws -> E
    where E.RawValue == String {
        guard let v = value(key) else { return defaultValue }
        let options = E.allCases.map { JSONValue.string($0.rawValue).canonicalString }.joined(separator: ", ")
        guard case .string(let s) = v, let e = E(rawValue: s) else { throw mismatch(key, "one of \(options)", v) }
        return e
    }

    /// An array of integers, each bounded by `min`/`max`; `nonEmpty` and `unique` as named.
    public func intArray(
        _ key: String, default defaultValue: [Int], min: Int? = nil, max: Int? = nil,
        nonEmpty: Bool = true, unique: Bool = false
    ) throws -> [Int] {
        guard let v = value(key) else { return defaultValue }
        guard case .array(let items) = v else { throw mismatch(key, "an array of integers", v) }
        if nonEmpty && items.isEmpty { throw mismatch(key, "a non-empty array of integers", v) }
        let expected = JSONObjectReader.describeInteger(min: min, max: max)
        var out: [Int] = []
        for (n, item) in items.enumerated() {
            let here = path.appending(key).appending(index: n)
            guard let i = item.intValue else {
                throw error(atPath: here, "expected an integer, found \(item.shortDescription)")
            }
            guard i >= (min ?? .min), i <= (max ?? .max) else {
                throw error(atPath: here, "expected \(expected), found \(item.shortDescription)")
            }
            if unique && out.contains(i) { throw error(atPath: here, "\(i) is listed twice") }
            out.append(i)
        }
        return out
    }

    /// A nested object member, read by its own strict reader (an empty one when the key is
    /// absent, so all its settings take their defaults). `finish()` on this reader also finishes it.
    public func object(_ key: String) throws -> JSONObjectReader {
        let v = value(key) ?? .object([:])
        let child = try JSONObjectReader(v, file: file, path: path.appending(key), renderPath: render)
        children.append(child)
        return child
    }

    // MARK: - Completion

    /// Throws for the first member (in sorted order) that no read asked for, in this object and
    /// then in every nested reader made by `object(_:)`:
    /// `unknown key (known: every, max_frames, resize, size, threads)`.
    public func finish() throws {
        let unknown = members.keys.filter { !known.contains($0) }
            .sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        if let first = unknown.first {
            let list = known.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }.joined(separator: ", ")
            throw error(at: first, "unknown key (known: \(list.isEmpty ? "none" : list))")
        }
        for child in children { try child.finish() }
    }

    private static func describeInteger(min: Int?, max: Int?) -> String {
        switch (min, max) {
        case let (lo?, hi?): return "an integer in \(lo)...\(hi)"
        case let (lo?, nil): return "an integer >= \(lo)"
        case let (nil, hi?): return "an integer <= \(hi)"
        default: return "an integer"
        }
    }
}
