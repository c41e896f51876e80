import Foundation
import JAMCore
import JAMDatasets
import JAMTestSupport
import Testing

@Suite struct SplitWriterTests {
    @Test func rotatingSplitsWrittenInUCFLayoutReadBack() throws {
        try withTemporaryDirectory { root in
            let classes = ["Left", "Right"]
            var videos: [VideoEntry] = []
            for (label, name) in classes.enumerated() {
                for g in 1...4 {
                    videos.append(VideoEntry(relativePath: "\(name)/v_\(name)_g0\(g)_c01.avi", label: label, className: name))
                }
            }
            let splits = (1...3).map { DatasetSplit.rotating(classNames: classes, videos: videos, split: $0) }
            // Hand-worked: per class, video index i is tested in split i % 3 + 1 (g01 and g04 in split 1).
            #expect(splits[0].test.map(\.relativePath) == [
                "Left/v_Left_g01_c01.avi", "Left/v_Left_g04_c01.avi", "Right/v_Right_g01_c01.avi", "Right/v_Right_g04_c01.avi",
            ])
            #expect(splits[1].test.map(\.relativePath) == ["Left/v_Left_g02_c01.avi", "Right/v_Right_g02_c01.avi"])
            #expect(splits[2].train.count == 6)

            let lists = root.appendingPathComponent("ucfTrainTestlist")
            try UCF101Splits.write(classNames: classes, splits: splits, to: lists)
            #expect(try String(contentsOf: lists.appendingPathComponent("classInd.txt"), encoding: .utf8) == "1 Left\n2 Right\n")
            #expect(try String(contentsOf: lists.appendingPathComponent("testlist02.txt"), encoding: .utf8)
                == "Left/v_Left_g02_c01.avi\nRight/v_Right_g02_c01.avi\n")
            #expect(try String(contentsOf: lists.appendingPathComponent("trainlist03.txt"), encoding: .utf8)
                .hasPrefix("Left/v_Left_g01_c01.avi 1\nLeft/v_Left_g02_c01.avi 1\nLeft/v_Left_g04_c01.avi 1\nRight/"))
            for split in 1...3 {
                let r = try DatasetReader.read(.ucf101, root: root, split: split, checkFiles: false)
                #expect(r.split == splits[split - 1])
                #expect(r.problems.isEmpty)
            }
            let names = try FileManager.default.contentsOfDirectory(atPath: lists.path)
            #expect(!names.contains { AtomicFile.isTemporaryName($0) })
            #expect(names.count == 7)
        }
    }

    @Test func problemDescriptionNamesFileLineAndPath() {
        let p = DatasetProblem(file: "/d/trainlist01.txt", line: 12, path: "../x.avi", reason: "path escapes the dataset root")
        #expect(p.description == "/d/trainlist01.txt:12: ../x.avi: path escapes the dataset root")
        #expect(DatasetProblem(file: "/d/a", line: nil, path: "x", reason: "r").description == "/d/a: x: r")
    }
}
