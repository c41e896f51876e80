import Foundation
import JAMArtifacts
import JAMCore
import JAMTestSupport
import Testing

@Suite struct ArtifactTests {
    func header(_ kind: ArtifactKind) -> ArtifactHeader {
        ArtifactHeader(kind: kind, producer: "jam-test \(jamVersion)", configDigest: "0123456789abcdef",
                       config: #"{"size":96}"#, source: "videos/a.avi")
    }

    @Test func publishedArtifactCarriesTheRootAttributesThatH5dumpShows() throws {
        try withTemporaryDirectory { dir in
            let url = dir.appendingPathComponent("stage/a.h5")
            let writer = try ArtifactWriter(url: url, header: header(.frames))
            try writer.file!.write("frames", [UInt8](repeating: 7, count: 12), shape: [1, 2, 2, 3])
            #expect(!FileManager.default.fileExists(atPath: url.path), "visible before publish")
            #expect(AtomicFile.isTemporaryName(writer.temporaryURL.lastPathComponent))
            try writer.publish()
            #expect(FileManager.default.fileExists(atPath: url.path))
            #expect(!FileManager.default.fileExists(atPath: writer.temporaryURL.path))

            let dump = try runTool("/usr/bin/h5dump", ["-A", url.path])
            for attribute in ["jam_artifact", "jam_schema_version", "jam_producer", "jam_config_digest",
                              "jam_source", "jam_created"] {
                #expect(dump.contains("ATTRIBUTE \"\(attribute)\""), "h5dump -A lacks \(attribute)")
            }
            #expect(dump.contains("\"frames\""))
            #expect(dump.contains("\"0123456789abcdef\""))

            let reader = try ArtifactReader(url: url, expecting: .frames)
            #expect(reader.header.kind == "frames")
            #expect(reader.header.schemaVersion == ArtifactKind.frames.schemaVersion)
            #expect(reader.header.configDigest == "0123456789abcdef")
            #expect(reader.header.source == "videos/a.avi")
            #expect(try reader.file.read("frames", as: UInt8.self).shape == [1, 2, 2, 3])
        }
    }

    @Test func droppedWriterLeavesNothingBehind() throws {
        try withTemporaryDirectory { dir in
            let url = dir.appendingPathComponent("a.h5")
            var temporary: URL?
            do {
                let writer = try ArtifactWriter(url: url, header: header(.frames))
                temporary = writer.temporaryURL
                #expect(FileManager.default.fileExists(atPath: writer.temporaryURL.path))
            }
            #expect(!FileManager.default.fileExists(atPath: temporary!.path))
            #expect(!FileManager.default.fileExists(atPath: url.path))
        }
    }

    @Test func wrongKindIsRefusedWithWhatWasFoundExpectedAndTheStageToRerun() throws {
        try withTemporaryDirectory { dir in
            let url = dir.appendingPathComponent("f.h5")
            let writer = try ArtifactWriter(url: url, header: header(.features))
            try writer.publish()
            do {
                _ = try ArtifactReader(url: url, expecting: .frames)
                Issue.record("a features artifact was accepted as frames")
            } catch let error as ArtifactError {
                let text = error.description
                #expect(text.contains(url.path))
                #expect(text.contains("found a 'features' artifact"))
                #expect(text.contains("expected a 'frames' artifact"))
                #expect(text.contains("jam-decode"))
            }
        }
    }

    @Test func wrongSchemaVersionIsRefused() throws {
        try withTemporaryDirectory { dir in
            let url = dir.appendingPathComponent("old.h5")
            let future = ArtifactKind(name: "frames", schemaVersion: 99, producedBy: "jam-decode")
            try ArtifactWriter(url: url, header: header(future)).publish()
            do {
                _ = try ArtifactReader(url: url, expecting: .frames)
                Issue.record("schema 99 was accepted")
            } catch let error as ArtifactError {
                #expect(error.description.contains("schema version 99"))
                #expect(error.description.contains("reads version \(ArtifactKind.frames.schemaVersion)"))
                #expect(error.description.contains("Rerun jam-decode"))
            }
        }
    }

    @Test func plainHDF5AndGarbageAreRefused() throws {
        try withTemporaryDirectory { dir in
            let plain = dir.appendingPathComponent("plain.h5")
            _ = try HDF5File.create(at: plain)
            let garbage = dir.appendingPathComponent("garbage.h5")
            _ = FileManager.default.createFile(atPath: garbage.path, contents: Data(repeating: 0xAB, count: 4096))
            for (url, reason) in [(plain, "not a JAM artifact"), (garbage, "not an HDF5 file")] {
                do {
                    _ = try ArtifactReader(url: url, expecting: .features)
                    Issue.record("\(url.lastPathComponent) accepted")
                } catch let error as ArtifactError {
                    #expect(error.description.contains(reason), "\(error)")
                    #expect(error.description.contains("jam-features"), "\(error)")
                }
            }
        }
    }
}
