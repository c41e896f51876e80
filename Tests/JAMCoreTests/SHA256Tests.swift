import Foundation
import JAMCore
import JAMTestSupport
import Testing

@Suite struct SHA256Tests {
    // FIPS 180-4 / NIST example vectors.
    @Test func fipsVectors() {
        #expect(SHA256.hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex([UInt8]()) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")
            == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(SHA256.hex(Array(repeating: UInt8(ascii: "a"), count: 1_000_000))
            == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test func streamingInOddPiecesMatchesOneShot() {
        var rng = SystemRandomNumberGenerator()
        let bytes = (0..<10_000).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let whole = SHA256.hex(bytes)
        // Piece sizes straddle the 64-byte block and the 56-byte padding boundary.
        for piece in [1, 7, 55, 56, 63, 64, 65, 1000] {
            var h = SHA256()
            var i = 0
            while i < bytes.count {
                let j = min(i + piece, bytes.count)
                h.update(bytes[i..<j])
                i = j
            }
            #expect(h.finalizeHex() == whole, "piece size \(piece)")
        }
        // finalize() does not consume: feeding more afterwards continues the same stream.
        var h = SHA256()
        h.update(bytes[0..<5000])
        _ = h.finalize()
        h.update(bytes[5000...])
        #expect(h.finalizeHex() == whole)
        // A non-contiguous sequence takes the copying route.
        #expect(SHA256.hex(bytes.lazy.map { $0 }) == whole)
    }

    @Test func fileDigestMatchesSha256sum() throws {
        try withTemporaryDirectory { dir in
            // Lengths around the block size and across several read chunks.
            for length in [0, 55, 64, 119, 3 * 4096 + 17] {
                let url = dir.appendingPathComponent("blob-\(length).bin")
                let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 7) }
                try Data(bytes).write(to: url)
                let expected = try sha256sum(url)
                #expect(try SHA256.hex(ofFile: url, chunkSize: 4096) == expected, "length \(length)")
                #expect(try SHA256.hex(ofFile: url) == expected)
                #expect(SHA256.hex(bytes) == expected)
            }
        }
    }

    @Test func missingFileNamesTheFile() {
        let url = URL(fileURLWithPath: "/nonexistent/jam/weights.h5")
        #expect {
            try SHA256.hex(ofFile: url)
        } throws: { error in
            "\(error)".hasPrefix("/nonexistent/jam/weights.h5: cannot open for hashing: No such file")
        }
    }

    @Test func hexEncoding() {
        #expect(SHA256.hexEncoded([0x00, 0x0f, 0xa0, 0xff]) == "000fa0ff")
    }

    /// The digest printed by coreutils' `sha256sum`, an independent implementation.
    private func sha256sum(_ url: URL) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["sha256sum", url.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let out = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0)
        return String(String(decoding: out, as: UTF8.self).prefix(64))
    }
}
