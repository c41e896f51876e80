import Foundation
import JAMCore
import Testing

@Suite struct JSONValueTests {
    @Test func canonicalFormSortsKeysAndDropsWhitespace() throws {
        let a = try JSONValue.parse("""
            { "size": 96, "resize" : "stretch",
              "nested": {"b": [1, 2.5, -0.125, 1e-5], "a": null, "Z": true} }
            """, file: "a.json")
        let b = try JSONValue.parse(
            #"{"nested":{"Z":true,"a":null,"b":[1.0,2.5,-1.25e-1,0.00001]},"resize":"stretch","size":9.6e1}"#,
            file: "b.json")
        #expect(a == b)
        // Hand-written: keys by UTF-8 bytes ("Z" < "a"), integers without fraction.
        #expect(a.canonicalString
            == #"{"nested":{"Z":true,"a":null,"b":[1,2.5,-0.125,1e-05]},"resize":"stretch","size":96}"#)
        #expect(a.canonicalString == b.canonicalString)
    }

    @Test func canonicalStringEscapes() {
        let v: JSONValue = ["k\"\\": "line\nnext\ttab\u{01}é"]
        #expect(v.canonicalString == #"{"k\"\\":"line\nnext\ttab\u0001é"}"#)
    }

    @Test func roundTripsThroughBothForms() throws {
        let v: JSONValue = [
            "s": "x", "i": 16, "neg": -3, "f": 0.1, "big": 1.5e20, "t": true, "n": nil,
            "arr": [1, "two", [3], [:]], "obj": ["inner": []],
        ]
        #expect(try JSONValue.parse(v.canonicalString, file: "t") == v)
        #expect(try JSONValue.parse(v.prettyString, file: "t") == v)
        // Codable agrees with our own parser and writer.
        let encoded = try JSONEncoder().encode(v)
        #expect(try JSONValue.parse(encoded, file: "t") == v)
        #expect(try JSONDecoder().decode(JSONValue.self, from: Data(v.canonicalString.utf8)) == v)
    }

    @Test func integerAccessors() {
        #expect(JSONValue.number(16).intValue == 16)
        #expect(JSONValue.number(16.5).intValue == nil)
        #expect(JSONValue.string("16").intValue == nil)
        #expect(JSONValue.number(-0.0).canonicalString == "0")
    }

    @Test func deepMergeReplacesScalarsAndArraysAndMergesObjects() {
        let base: JSONValue = ["a": ["x": 1, "y": [1, 2]], "b": "keep"]
        let top: JSONValue = ["a": ["y": [3], "z": nil]]
        #expect(base.merging(top) == ["a": ["x": 1, "y": [3], "z": nil], "b": "keep"])
    }

    @Test(arguments: [
        (#"{"a": 1,}"#, "line 1, column 9: expected a key in double quotes"),
        ("{\n  \"a\": 1\n  \"b\": 2\n}", "line 3, column 3: expected ',' or '}' after an object member"),
        (#"{"a": 1, "a": 2}"#, "line 1, column 10: duplicate key \"a\""),
        (#"[01]"#, "line 1, column 2: numbers may not have leading zeros"),
        (#"{"a": tru}"#, "line 1, column 7: invalid literal, expected true"),
        (#""abc"#, "line 1, column 1: unterminated string"),
        (#"{} x"#, "line 1, column 4: unexpected text after the JSON value"),
        ("", "line 1, column 1: unexpected end of file, expected a value"),
    ])
    func syntaxErrorsNameLineAndColumn(text: String, message: String) {
        #expect {
            try JSONValue.parse(text, file: "cfg.json")
        } throws: { error in
            "\(error)" == "cfg.json: \(message)"
        }
    }

    @Test func unicodeEscapes() throws {
        #expect(try JSONValue.parse(#""\u00e9\ud83d\ude00\/""#, file: "t") == .string("é😀/"))
    }
}
