import Foundation
import JAMConfig
import JAMCore
import Testing

@Suite struct ArtifactLocationsTests {
    @Test func stageFoldersAndVideoArtifacts() throws {
        let c = try PipelineConfig(
            document: ["artifacts_root": "out", "dataset": ["name": "ucf"]], file: "t.json",
            baseDirectory: URL(fileURLWithPath: "/project"))
        let dir = c.stageDirectory("frames", digest: "0123456789abcdef")
        #expect(dir.path == "/project/out/ucf/frames/0123456789abcdef")
        #expect(dir.hasDirectoryPath)
        let video = PipelineConfig.artifactURL(forVideo: "ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi", in: dir)
        #expect(video.path == "/project/out/ucf/frames/0123456789abcdef/ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.h5")
        #expect(c.artifactURL(forVideo: "a/b.c.mp4", stage: "features", digest: "ff").path
            == "/project/out/ucf/features/ff/a/b.c.h5")
        #expect(PipelineConfig.artifactURL(forVideo: "x/noext", in: dir, pathExtension: "json").lastPathComponent
            == "noext.json")
    }
}
