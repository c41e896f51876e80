import Foundation
import JAMConfig
import JAMCore
import JAMTestSupport
import Testing

// The storage settings of features and cubes (issue 14, point 8): lossless compression is in
// no digest (changing it invalidates nobody's cache); float16 cubes are, and float32 — the
// default — leaves the c3d digest as it was before the setting existed.

@Suite struct StorageSettingsTests {
    private func config(_ text: String) throws -> PipelineConfig {
        try PipelineConfig(document: JSONValue.parse(text, file: "t.json"), file: "t.json",
                           baseDirectory: URL(fileURLWithPath: "/project"))
    }

    @Test func defaultsCompressFeaturesAndCubesLosslesslyAndKeepCubesFloat32() throws {
        let c = try config("{}")
        #expect(c.features.compression == .deflate && c.features.deflateLevel == 1)
        #expect(c.c3d.cubeCompression == .deflate && c.c3d.cubeDeflateLevel == 1)
        #expect(c.c3d.cubeStorage == .float32)
        let none = try config(#"{"features": {"compression": "none"}, "c3d": {"cube_compression": "none"}}"#)
        #expect(none.features.deflateLevel == 0 && none.c3d.cubeDeflateLevel == 0)
        let nine = try config(#"{"features": {"compression_level": 9}, "c3d": {"cube_compression_level": 6}}"#)
        #expect(nine.features.deflateLevel == 9 && nine.c3d.cubeDeflateLevel == 6)
        let shuffled = try config(#"{"features": {"compression": "shuffle_deflate"}}"#)
        #expect(shuffled.features.compression == .shuffleDeflate && shuffled.features.deflateLevel == 1)
    }

    @Test func compressionIsInNoDigestAndFloat16CubesAre() throws {
        let base = try config("{}")
        let features = try base.featuresDigest(weightsDigest: nil)
        let cubes = try base.c3dDigest(featuresDigest: features)
        for text in [#"{"features": {"compression": "none"}}"#, #"{"features": {"compression_level": 9}}"#,
                     #"{"c3d": {"cube_compression": "none"}}"#, #"{"c3d": {"cube_compression_level": 9}}"#,
                     #"{"c3d": {"cube_storage": "float32"}}"#] {
            let other = try config(text)
            #expect(try other.featuresDigest(weightsDigest: nil) == features, "\(text)")
            #expect(try other.c3dDigest(featuresDigest: features) == cubes, "\(text)")
        }
        // Digests made before these settings existed stay valid: no cube_ key in the default's.
        #expect(!(try base.c3dStage(featuresDigest: features).canonicalJSON.contains("cube_")))
        let half = try config(#"{"c3d": {"cube_storage": "float16"}}"#)
        #expect(try half.c3dDigest(featuresDigest: features) != cubes)
        #expect(try half.c3dStage(featuresDigest: features).canonicalJSON.contains(#""cube_storage":"float16""#))
        let pooled = try config(#"{"c3d": {"middle": "none"}}"#)
        let pooledHalf = try config(#"{"c3d": {"middle": "none", "cube_storage": "float16"}}"#)
        #expect(try pooled.c3dDigest(featuresDigest: features) != pooledHalf.c3dDigest(featuresDigest: features))
    }

    @Test func badValuesNameTheirPath() throws {
        #expect { _ = try config(#"{"c3d": {"cube_compression": "lzf"}}"#) } throws: { "\($0)".contains("$.c3d.cube_compression") }
        #expect { _ = try config(#"{"c3d": {"cube_storage": "int8"}}"#) } throws: { "\($0)".contains("$.c3d.cube_storage") }
        #expect { _ = try config(#"{"features": {"compression_level": 0}}"#) } throws: {
            "\($0)".contains("$.features.compression_level")
        }
    }
}
