import Foundation
import JAMConfig
import JAMCore
import JAMStages
import JAMTestSupport
import JAMVideo
import Testing

/// jam-synth never writes into a user's own dataset: a dataset is synthetic only when its config
/// says so, and a folder without JAM's manifest is refused (even with --force) with the real fix.
/// (Writing the dataset, and refusing a root made with other synth settings, are in
/// DecodeStageTests and PipelineTests.)
@Suite struct SynthStageTests {
    /// A folder-per-class dataset of the user's own: one "video" per class.
    func makeOwnDataset(in dir: URL) throws -> URL {
        let root = dir.appendingPathComponent("mine")
        for name in ["Walk", "Run"] {
            let folder = root.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try Data("not decoded here".utf8).write(to: folder.appendingPathComponent("\(name.lowercased())1.avi"))
        }
        return root
    }

    func writeConfig(_ dataset: String, in dir: URL) throws -> URL {
        let url = dir.appendingPathComponent("my.json")
        try #"{"dataset": {"name": "mine", "format": "folders", "root": "mine"\#(dataset)}}"#
            .write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    func listing(_ root: URL) throws -> [String] {
        try FileManager.default.subpathsOfDirectory(atPath: root.path).sorted()
    }

    @Test func aDatasetIsSyntheticOnlyWhenItsConfigSaysSo() throws {
        try withTemporaryDirectory { dir in
            let root = try makeOwnDataset(in: dir)
            let before = try listing(root)
            let configURL = try writeConfig("", in: dir)
            let config = try PipelineConfig.load(from: configURL)
            #expect(!config.dataset.synthetic)
            #expect { _ = try SynthStage.run(config: config, policy: RunPolicy()) } throws: {
                "\($0)".contains("$.dataset.synthetic") && "\($0)".contains("dataset.synthetic is false")
            }
            // The command, as the pipeline script runs it: nothing to do, exit 0, folder untouched.
            let run = try runExecutable("jam-synth", ["--config", configURL.path], in: dir)
            #expect(run.status == 0 && run.stdout.contains("nothing to do"), "\(run.stdout)\(run.stderr)")
            #expect(try listing(root) == before)
        }
    }

    @Test func ownVideosAreRefusedWithTheRealFixEvenWithForce() throws {
        try withTemporaryDirectory { dir in
            let root = try makeOwnDataset(in: dir)
            let before = try listing(root)
            let config = try PipelineConfig.load(from: try writeConfig(#", "synthetic": true"#, in: dir))
            for force in [false, true] {
                #expect { _ = try SynthStage.run(config: config, policy: RunPolicy(force: force)) } throws: {
                    "\($0)".hasPrefix(root.path) && "\($0)".contains("not a JAM synthetic dataset")
                        && "\($0)".contains(#"set "synthetic": false"#)
                }
            }
            #expect(try listing(root) == before)
        }
    }

    /// Every video gets its object track beside it, equal to the generator's; a dataset made
    /// before tracks existed (tracks deleted here) gets them on the next run, videos untouched.
    @Test func everyVideoHasItsObjectTrack() throws {
        try withTemporaryDirectory { dir in
            let url = try writeTinyConfig(in: dir, videosPerClass: 3, frames: 6)
            let first = try runExecutable("jam-synth", ["--config", url.path], in: dir)
            try #require(first.status == 0, "\(first.stderr)")
            let root = dir.appendingPathComponent("synth")
            let videos = try listing(root).filter { $0.hasSuffix(".avi") }
            #expect(videos.count == 18)
            let generator = try SyntheticActionGenerator(width: 64, height: 48, frames: 6, fps: 25, classes: 6, seed: 7)
            for path in videos {
                let video = root.appendingPathComponent(path)
                let track = try #require(try ObjectTrack.read(ObjectTrack.sidecarURL(forVideo: video)), "no track for \(path)")
                // v_<Class>_g0<n>_c01.avi is video n-1 of its class.
                let name = video.deletingPathExtension().lastPathComponent
                let className = video.deletingLastPathComponent().lastPathComponent
                let classIndex = try #require(generator.classNames.firstIndex(of: className))
                let videoIndex = try #require(Int(name.split(separator: "_")[2].dropFirst())) - 1
                #expect(track == generator.objectTrack(classIndex: classIndex, videoIndex: videoIndex), "\(path)")
            }
            let stamp = try FileManager.default.attributesOfItem(atPath: root.appendingPathComponent(videos[0]).path)[.modificationDate] as? Date
            for path in videos { try FileManager.default.removeItem(at: ObjectTrack.sidecarURL(forVideo: root.appendingPathComponent(path))) }
            let second = try runExecutable("jam-synth", ["--config", url.path], in: dir)
            try #require(second.status == 0, "\(second.stderr)")
            #expect(try listing(root).filter { $0.hasSuffix(".track.json") }.count == 18)
            #expect(try FileManager.default.attributesOfItem(atPath: root.appendingPathComponent(videos[0]).path)[.modificationDate] as? Date == stamp)
        }
    }
}
