import Foundation
import JAMCore
import Testing

@Suite struct StrictJSONReaderTests {
    enum Resize: String, CaseIterable { case stretch, crop }

    /// Reads a `decode`-like section the way a config loader would, then finishes.
    private func readDecode(_ text: String) throws -> (size: Int, resize: Resize, splits: [Int]) {
        let root = try JSONObjectReader(JSONValue.parse(text, file: "pipeline.json"), file: "pipeline.json")
        let decode = try root.object("decode")
        let size = try decode.int("size", default: 96, min: 16)
        try decode.require(size % 16 == 0, "size", expected: "a multiple of 16")
        let resize = try decode.choice("resize", default: Resize.stretch)
        _ = try decode.int("every", default: 1, min: 1)
        _ = try decode.int("max_frames", default: 0, min: 0)
        _ = try decode.int("threads", default: 2, min: 1)
        let splits = try root.intArray("splits", default: [1], min: 1, max: 3, unique: true)
        try root.finish()
        return (size, resize, splits)
    }

    private func message(_ text: String) -> String? {
        do {
            _ = try readDecode(text)
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test func defaultsFillMissingKeys() throws {
        let r = try readDecode(#"{"decode": {"resize": "crop"}}"#)
        #expect(r.size == 96 && r.resize == .crop && r.splits == [1])
        let empty = try readDecode("{}")
        #expect(empty.size == 96 && empty.resize == .stretch)
    }

    @Test func unknownKeyListsKnownKeys() {
        #expect(message(#"{"decode": {"sise": 64}}"#)
            == "pipeline.json: $.decode.sise: unknown key (known: every, max_frames, resize, size, threads)")
        #expect(message(#"{"decoder": {}}"#)
            == "pipeline.json: $.decoder: unknown key (known: decode, splits)")
    }

    @Test func wrongTypesNameThePathAndTheValue() {
        #expect(message(#"{"decode": {"size": "big"}}"#)
            == #"pipeline.json: $.decode.size: expected an integer, found "big""#)
        #expect(message(#"{"decode": {"size": 96.5}}"#)
            == "pipeline.json: $.decode.size: expected an integer, found 96.5")
        #expect(message(#"{"decode": {"size": 8}}"#)
            == "pipeline.json: $.decode.size: expected an integer >= 16, found 8")
        #expect(message(#"{"decode": {"size": 100}}"#)
            == "pipeline.json: $.decode.size: expected a multiple of 16, found 100")
        #expect(message(#"{"decode": {"resize": "fit"}}"#)
            == #"pipeline.json: $.decode.resize: expected one of "stretch", "crop", found "fit""#)
        #expect(message(#"{"decode": []}"#)
            == "pipeline.json: $.decode: expected an object, found an array")
        #expect(message(#"{"splits": [1, 4]}"#)
            == "pipeline.json: $.splits[1]: expected an integer in 1...3, found 4")
        #expect(message(#"{"splits": [2, 2]}"#) == "pipeline.json: $.splits[1]: 2 is listed twice")
        #expect(message(#"{"splits": []}"#)
            == "pipeline.json: $.splits: expected a non-empty array of integers, found an array")
    }

    @Test func otherTypedReaders() throws {
        let r = try JSONObjectReader(
            ["b": true, "s": "x", "o": nil, "d": 0.5, "e": ""], file: "f.json", path: JSONPath.root.appending("sec"))
        #expect(try r.bool("b", default: false))
        #expect(try r.string("s", default: "") == "x")
        #expect(try r.optionalString("o", default: "dflt") == nil)
        #expect(try r.optionalString("missing", default: "dflt") == "dflt")
        #expect(try r.double("d", default: 0, min: 0, max: 1) == 0.5)
        #expect(throws: JAMError.self) { try r.string("e", default: "") }
        #expect(throws: JAMError.self) { try r.bool("s", default: false) }
        try r.finish()
    }

    @Test func pathRendering() {
        let p = JSONPath.root.appending("profiles").appending("my profile").appending("splits").appending(index: 0)
        #expect(p.description == #"$.profiles["my profile"].splits[0]"#)
        #expect(JSONPath.root.description == "$")
    }

    @Test func errorDescriptionJoinsPresentParts() {
        #expect(JAMError("bad", file: "f.json", location: "$.a").description == "f.json: $.a: bad")
        #expect(JAMError("bad", file: "f.json").description == "f.json: bad")
        #expect(JAMError("bad").localizedDescription == "bad")
    }
}
