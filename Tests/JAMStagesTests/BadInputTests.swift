import Foundation
import JAMCore
import JAMTestSupport
import Testing

/// docs/DESIGN.md §3: every bad input is reported with the file and the reason, recorded in the stage
/// report, the other videos go on, and the exit status says something failed.
@Suite(.serialized) struct BadInputTests {
    /// A UCF101-layout dataset under `dir/bad` whose split 1 lists one good video and one of
    /// each kind of bad input; the good video is borrowed from a synthetic dataset.
    func makeBadDataset(in dir: URL) throws -> URL {
        let synthConfig = try writeTinyConfig(in: dir, name: "synth.json", videosPerClass: 3, frames: 12)
        #expect(try runExecutable("jam-synth", ["--config", synthConfig.path], in: dir).status == 0)
        let fm = FileManager.default
        let root = dir.appendingPathComponent("bad")
        for folder in ["bad/MoveRight", "bad/MoveLeft", "bad/ucfTrainTestlist"] {
            try fm.createDirectory(at: dir.appendingPathComponent(folder), withIntermediateDirectories: true)
        }
        let good = dir.appendingPathComponent("synth/MoveRight/v_MoveRight_g01_c01.avi")
        try fm.copyItem(at: good, to: root.appendingPathComponent("MoveRight/good.avi"))
        try fm.copyItem(at: dir.appendingPathComponent("synth/MoveLeft/v_MoveLeft_g01_c01.avi"),
                        to: root.appendingPathComponent("MoveLeft/good.avi"))
        _ = fm.createFile(atPath: root.appendingPathComponent("MoveRight/empty.avi").path, contents: Data())
        _ = fm.createFile(atPath: root.appendingPathComponent("MoveRight/notes.avi").path,
                          contents: Data("these are my notes, not a video\n".utf8))
        let bytes = try Data(contentsOf: good)
        _ = fm.createFile(atPath: root.appendingPathComponent("MoveRight/truncated.avi").path,
                          contents: bytes.prefix(bytes.count / 2))
        _ = fm.createFile(atPath: dir.appendingPathComponent("outside.avi").path, contents: bytes)
        try "1 MoveRight\n2 MoveLeft\n".write(
            to: root.appendingPathComponent("ucfTrainTestlist/classInd.txt"), atomically: true, encoding: .utf8)
        try """
            MoveRight/good.avi 1
            MoveRight/empty.avi 1
            MoveRight/notes.avi 1
            MoveRight/truncated.avi 1
            MoveRight/missing.avi 1
            MoveRight/../../outside.avi 1

            """.write(to: root.appendingPathComponent("ucfTrainTestlist/trainlist01.txt"), atomically: true, encoding: .utf8)
        try "MoveLeft/good.avi\n".write(
            to: root.appendingPathComponent("ucfTrainTestlist/testlist01.txt"), atomically: true, encoding: .utf8)
        return root
    }

    @Test func eachBadInputIsNamedWithItsReasonAndTheOthersGoOn() throws {
        try withTemporaryDirectory { dir in
            _ = try makeBadDataset(in: dir)
            let config = try writeTinyConfig(in: dir, root: "bad", synthetic: false, splits: "[1]")
            let run = try runExecutable("jam-decode", ["--config", config.path], in: dir)
            #expect(run.status == 1, "exit status \(run.status); stderr: \(run.stderr)")
            let expectations: [(String, String)] = [
                ("empty.avi", "zero-length"),
                ("notes.avi", "not a video"),
                ("truncated.avi", "truncated"),
                ("missing.avi", "not found"),
                ("outside.avi", "escapes"),
            ]
            let lines = run.stderr.split(separator: "\n").map(String.init)
            for (file, reason) in expectations {
                let line = lines.first { $0.contains(file) }
                #expect(line != nil, "no message names \(file): \(run.stderr)")
                #expect(line?.contains(reason) == true, "message for \(file) lacks '\(reason)': \(line ?? "")")
            }
            let folder = try stageFolder(dir.appendingPathComponent("artifacts"), "frames")
            #expect(artifactFiles(under: folder) == ["MoveLeft/good.h5", "MoveRight/good.h5"])
            let report = try JSONValue.read(contentsOf: folder.appendingPathComponent("stage-report.json"))
            #expect(report["completed"]?.intValue == 2)
            let failures = report["failures"]?.arrayValue ?? []
            #expect(failures.count == expectations.count, "\(failures)")
            for (file, _) in expectations {
                #expect(failures.contains { $0.canonicalString.contains(file) }, "report lacks \(file)")
            }
        }
    }

    @Test func strictStopsAtTheFirstFailure() throws {
        try withTemporaryDirectory { dir in
            _ = try makeBadDataset(in: dir)
            let config = try writeTinyConfig(in: dir, root: "bad", synthetic: false, splits: "[1]")
            let run = try runExecutable("jam-decode", ["--config", config.path, "--strict", "--threads", "1"], in: dir)
            #expect(run.status == 1)
            #expect(run.stdout.contains("stopped at the first failure"), "\(run.stdout)")
            let folder = try stageFolder(dir.appendingPathComponent("artifacts"), "frames")
            // The split-file problems (missing, escaping) are known before any video is decoded.
            #expect(artifactFiles(under: folder).isEmpty)
        }
    }

    @Test func configErrorsNameThePathAndNothingRuns() throws {
        try withTemporaryDirectory { dir in
            let config = try writeTinyConfig(in: dir, extraDecode: #", "sise": 3"#)
            let run = try runExecutable("jam-decode", ["--config", config.path], in: dir)
            #expect(run.status != 0)
            #expect(run.stderr.contains("$.decode.sise"), "\(run.stderr)")
            #expect(run.stderr.contains("unknown key"), "\(run.stderr)")
            let missing = try runExecutable("jam-decode", ["--config", "nope.json"], in: dir)
            #expect(missing.status != 0)
            #expect(missing.stderr.contains("nope.json"), "\(missing.stderr)")
        }
    }

    @Test func decodingBeforeSynthSaysWhatToRun() throws {
        try withTemporaryDirectory { dir in
            let config = try writeTinyConfig(in: dir)
            let run = try runExecutable("jam-decode", ["--config", config.path], in: dir)
            #expect(run.status != 0)
            #expect(run.stderr.contains("run jam-synth first"), "\(run.stderr)")
        }
    }
}
