import Foundation
import JAMArtifacts
import JAMCore
import JAMTestSupport
import Testing

/// Issue 13, points 1, 6 and 7 at the artifact layer: finished files are verified (quickly, or
/// fully); a full disk and permission problems are said in the system's words, about the file
/// the user must act on.
@Suite(.serialized) struct ArtifactFailureTests {
    func header(_ kind: ArtifactKind) -> ArtifactHeader {
        ArtifactHeader(kind: kind, producer: "jam-test \(jamVersion)", configDigest: "0123456789abcdef",
                       config: "{}", source: "videos/a.avi")
    }

    let expected = [DatasetExpectation("maps", shape: [nil, 4, 4, 2], leadingAxis: "T"),
                    DatasetExpectation("frame_index", shape: [nil], leadingAxis: "T")]

    /// A small features-like artifact: `maps [6, 4, 4, 2]` float32, `frame_index [6]`.
    func writeArtifact(_ url: URL, maps: [Float] = (0..<192).map(Float.init)) throws {
        let writer = try ArtifactWriter(url: url, header: header(.features))
        try writer.file!.write("maps", maps, shape: [6, 4, 4, 2], options: DatasetOptions(deflate: 1))
        try writer.file!.write("frame_index", (0..<6).map(Int32.init), shape: [6])
        try writer.publish()
    }

    @Test func verificationCatchesWhatHappenedToAFinishedFile() throws {
        try withTemporaryDirectory { dir in
            let url = dir.appendingPathComponent("a.h5")
            try writeArtifact(url)
            try ArtifactVerification.verify(url, kind: .features, datasets: expected, depth: .full)

            func problem(_ depth: VerificationDepth = .quick, kind: ArtifactKind = .features,
                         datasets: [DatasetExpectation]? = nil) -> String? {
                do {
                    try ArtifactVerification.verify(url, kind: kind, datasets: datasets ?? expected, depth: depth)
                    return nil
                } catch { return String(describing: error) }
            }
            #expect(problem(kind: .frames)?.contains("expected a 'frames' artifact") == true)
            #expect(problem(datasets: [DatasetExpectation("maps", shape: [nil, 8, 8, 2])])?.contains("has shape [6, 4, 4, 2]") == true)
            #expect(problem(datasets: expected + [DatasetExpectation("conv5_3", shape: [nil])])?.contains("no 'conv5_3'") == true)

            let good = try Data(contentsOf: url)
            for damaged in [good.prefix(good.count / 2), Data(count: good.count), Data()] {
                try damaged.write(to: url)
                let text = problem()
                #expect(text?.hasPrefix(url.path + ": ") == true, "damage not caught: \(text ?? "accepted")")
            }

            // A NaN passes the quick check (values are not read) and fails the full one.
            var maps = (0..<192).map(Float.init)
            maps[40] = .nan
            try writeArtifact(url, maps: maps)
            #expect(problem(.quick) == nil)
            #expect(problem(.full)?.contains("nan at row 1") == true, "\(problem(.full) ?? "accepted")")
        }
    }

    @Test func aFullDiskSaysNoSpaceLeftOnDevice() throws {
        // /dev/full fails every write with ENOSPC: a disk that is full, without filling one.
        do {
            let file = try HDF5File.create(at: URL(fileURLWithPath: "/dev/full"))
            try file.write("values", [Float](repeating: 1, count: 1 << 16), shape: [1 << 16])
            try file.flush()
            Issue.record("writing to /dev/full succeeded")
        } catch {
            #expect(String(describing: error).contains("no space left on device"), "\(error)")
        }
    }

    @Test func permissionProblemsAreSaidAsSuch() throws {
        try withTemporaryDirectory { dir in
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: dir.path)
            let url = dir.appendingPathComponent("a.h5")
            try writeArtifact(url)
            try FileManager.default.setAttributes([.posixPermissions: 0o000], ofItemAtPath: url.path)
            let readOnly = dir.appendingPathComponent("read-only")
            try FileManager.default.createDirectory(at: readOnly, withIntermediateDirectories: false)
            try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: readOnly.path)
            let output = readOnly.appendingPathComponent("b.h5")
            try withoutFileAccessPrivileges {
                #expect {
                    _ = try ArtifactReader(url: url, expecting: .features)
                } throws: { error in
                    let text = String(describing: error)
                    return text.contains("permission denied") && !text.contains("signature")
                }
                do {
                    _ = try ArtifactWriter(url: output, header: header(.features))
                    Issue.record("created a file in a read-only folder")
                } catch {
                    let text = String(describing: error)
                    #expect(text.hasPrefix(output.path + ": "), "names the output: \(text)")
                    #expect(text.contains("permission denied"), "\(text)")
                }
            }
        }
    }
}
