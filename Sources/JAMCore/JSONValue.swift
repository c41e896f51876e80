import Foundation

/// A JSON document as a plain value, with a canonical serialization for stable digests.
///
/// Numbers are `Double`s (as in JSON itself); an integer is a number with no fraction, and
/// `canonicalString` prints it without one (`16`, not `16.0`). Objects are dictionaries: key
/// order in the source does not matter, and the canonical form sorts keys by their UTF-8 bytes.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// An integer value; exact for magnitudes up to 2^53.
    public static func int(_ value: Int) -> JSONValue { .number(Double(value)) }

    // MARK: - Accessors

    /// The value as an `Int` when it is a number with no fraction that fits, else `nil`.
    public var intValue: Int? {
        guard case .number(let x) = self, x.isFinite, x == x.rounded(),
              abs(x) <= 9_007_199_254_740_992 else { return nil }
        return Int(x)
    }

    public var doubleValue: Double? {
        if case .number(let x) = self { return x }
        return nil
    }

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    public var objectValue: [String: JSONValue]? {
        if case .object(let o) = self { return o }
        return nil
    }

    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// Member `key` of an object (`nil` for a missing key or a non-object).
    public subscript(key: String) -> JSONValue? {
        objectValue?[key]
    }

    /// What kind of value this is, for messages: `a string`, `an object`, ...
    public var kindDescription: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .number: return intValue != nil ? "an integer" : "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }

    /// A short rendering for error messages: scalars as JSON (`"big"`, `12`, `true`), containers
    /// by kind (`an array`, `an object`), long strings cut.
    public var shortDescription: String {
        switch self {
        case .array, .object: return kindDescription
        case .string(let s) where s.count > 60:
            return JSONValue.string(String(s.prefix(57)) + "...").canonicalString
        default: return canonicalString
        }
    }

    // MARK: - Merging

    /// `overlay` deep-merged over `self`: objects merge key by key, recursively; any other value
    /// in `overlay` (scalar, array, null) replaces the one in `self`.
    public func merging(_ overlay: JSONValue) -> JSONValue {
        guard case .object(var base) = self, case .object(let top) = overlay else { return overlay }
        for (key, value) in top {
            base[key] = base[key].map { $0.merging(value) } ?? value
        }
        return .object(base)
    }
}

// MARK: - Serialization

extension JSONValue {
    /// The canonical serialization: no whitespace, object keys sorted by their UTF-8 bytes,
    /// integers (up to 2^53) without a fraction, other numbers in Swift's shortest round-trip
    /// form, strings escaped minimally (`"`, `\`, control characters). Equal values give equal
    /// strings, whatever the key order or layout of the source, so its SHA-256 is a stable digest.
    /// Non-finite numbers have no JSON form and are written as `null`.
    public var canonicalString: String {
        var out = ""
        write(to: &out, indent: nil, level: 0)
        return out
    }

    /// A readable serialization (sorted keys, two-space indentation, trailing newline), for
    /// files people open: provenance and failure records. Parses back to an equal value.
    public var prettyString: String {
        var out = ""
        write(to: &out, indent: "  ", level: 0)
        out.append("\n")
        return out
    }

    /// The canonical serialization as UTF-8 bytes.
    public var canonicalData: Data { Data(canonicalString.utf8) }

    private func write(to out: inout String, indent: String?, level: Int) {
        switch self {
        case .null: out.append("null")
        case .bool(let b): out.append(b ? "true" : "false")
        case .number(let x): out.append(JSONValue.format(x))
        case .string(let s): JSONValue.writeString(s, to: &out)
        case .array(let items):
            if items.isEmpty { out.append("[]"); return }
            out.append("[")
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(",") }
                JSONValue.newline(&out, indent, level + 1)
                item.write(to: &out, indent: indent, level: level + 1)
            }
            JSONValue.newline(&out, indent, level)
            out.append("]")
        case .object(let members):
            if members.isEmpty { out.append("{}"); return }
            out.append("{")
            let keys = members.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            for (i, key) in keys.enumerated() {
                if i > 0 { out.append(",") }
                JSONValue.newline(&out, indent, level + 1)
                JSONValue.writeString(key, to: &out)
                out.append(indent == nil ? ":" : ": ")
                members[key]!.write(to: &out, indent: indent, level: level + 1)
            }
            JSONValue.newline(&out, indent, level)
            out.append("}")
        }
    }

    private static func newline(_ out: inout String, _ indent: String?, _ level: Int) {
        guard let indent else { return }
        out.append("\n")
        for _ in 0..<level { out.append(indent) }
    }

    private static func format(_ x: Double) -> String {
        guard x.isFinite else { return "null" }
        if x == x.rounded(), abs(x) <= 9_007_199_254_740_992 {
            return String(Int64(x))
        }
        // Swift's description is the shortest string that round-trips, e.g. 0.1, 1e-05, 1.5e+20;
        // all are valid JSON numbers.
        return "\(x)"
    }

    private static func writeString(_ s: String, to out: inout String) {
        out.append("\"")
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out.append("\\\"")
            case "\\": out.append("\\\\")
            case "\n": out.append("\\n")
            case "\r": out.append("\\r")
            case "\t": out.append("\\t")
            case "\u{08}": out.append("\\b")
            case "\u{0C}": out.append("\\f")
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out.append("\\u" + String(repeating: "0", count: 4 - hex.count) + hex)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out.append("\"")
    }
}

// MARK: - Codable

extension JSONValue: Codable {
    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let b = try? container.decode(Bool.self) {
            self = .bool(b)
        } else if let x = try? container.decode(Double.self) {
            self = .number(x)
        } else if let s = try? container.decode(String.self) {
            self = .string(s)
        } else if let a = try? container.decode([JSONValue].self) {
            self = .array(a)
        } else if let o = try? container.decode([String: JSONValue].self) {
            self = .object(o)
        } else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a JSON value")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let b): try container.encode(b)
        case .number(let x):
            if let i = intValue { try container.encode(i) } else { try container.encode(x) }
        case .string(let s): try container.encode(s)
        case .array(let a): try container.encode(a)
        case .object(let o): try container.encode(o)
        }
    }
}

// MARK: - Literals

extension JSONValue: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral,
    ExpressibleByDictionaryLiteral
{
    public init(nilLiteral: ()) { self = .null }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int) { self = .number(Double(value)) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(stringLiteral value: String) { self = .string(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
}
