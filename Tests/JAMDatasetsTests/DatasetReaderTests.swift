import Foundation
import JAMCore
import JAMDatasets
import JAMTestSupport
import Testing

/// A committed fixture tree (`Fixtures/<name>`), copied into the test bundle.
func fixture(_ name: String) throws -> URL {
    let fixtures = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
    return fixtures.appendingPathComponent(name, isDirectory: true)
}

/// `(relativePath, label)` pairs, for compact comparisons.
func pairs(_ entries: [VideoEntry]) -> [String] {
    entries.map { "\($0.relativePath)=\($0.label)" }
}

/// Problems as `file-name:line: reason-prefix`, for compact comparisons.
func summary(_ problems: [DatasetProblem]) -> [String] {
    problems.map { p in
        "\(URL(fileURLWithPath: p.file).lastPathComponent):\(p.line.map(String.init) ?? "-"): \(p.path): \(p.reason)"
    }
}

@Suite struct UCF101ReaderTests {
    // Faults in Fixtures/UCF101 (hand-listed here, the independent route):
    // trainlist01: line 5 `../outside.avi`, line 6 a missing file, line 7 an absolute path; CRLF endings.
    // trainlist02: line 4 label 1 for a Basketball video.  testlist02: labels present; line 4 an
    // unknown class, line 5 no class folder, line 6 a video that is also in trainlist02.
    @Test func splitOne() throws {
        let root = try fixture("UCF101")
        let r = try DatasetReader.read(.ucf101, root: root, split: 1)
        #expect(r.split.classNames == ["ApplyEyeMakeup", "Basketball", "HandstandPushups"])
        #expect(pairs(r.split.train) == [
            "ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi=0", "ApplyEyeMakeup/v_ApplyEyeMakeup_g09_c01.avi=0",
            "Basketball/v_Basketball_g08_c01.avi=1",
            "HandstandPushups/v_HandStandPushups_g08_c01.avi=2",  // label from the folder, not "HandStand"
        ])
        #expect(pairs(r.split.test) == [
            "ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi=0", "Basketball/v_Basketball_g01_c01.avi=1",
            "HandstandPushups/v_HandStandPushups_g01_c01.avi=2",
        ])
        #expect(r.split.test[2].className == "HandstandPushups")
        let s = summary(r.problems)
        try #require(s.count == 3)
        #expect(s[0] == "trainlist01.txt:5: ../outside.avi: path escapes the dataset root ('..')")
        #expect(s[1].hasPrefix("trainlist01.txt:6: Basketball/v_Basketball_g09_c01.avi: file not found: "))
        #expect(s[1].hasSuffix("UCF101/Basketball/v_Basketball_g09_c01.avi (nor a frame folder "
                               + "\(root.path)/Basketball/v_Basketball_g09_c01/ of numbered images)"))
        #expect(s[2] == "trainlist01.txt:7: /etc/passwd: absolute path: listed paths must be relative to the dataset root")
        #expect(r.problems[0].file == root.appendingPathComponent("ucfTrainTestlist/trainlist01.txt").path)
    }

    @Test func splitTwoWithLabelledTestListAndBadLines() throws {
        let r = try DatasetReader.read(.ucf101, root: fixture("UCF101"), split: 2)
        #expect(pairs(r.split.train) == [
            "ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi=0", "Basketball/v_Basketball_g01_c01.avi=1",
            "HandstandPushups/v_HandStandPushups_g01_c01.avi=2",
        ])
        #expect(pairs(r.split.test) == [
            "ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi=0", "Basketball/v_Basketball_g08_c01.avi=1",
            "HandstandPushups/v_HandStandPushups_g08_c01.avi=2",
        ])
        #expect(summary(r.problems) == [
            #"trainlist02.txt:4: Basketball/v_Basketball_g08_c01.avi: listed label 1 disagrees with class folder "Basketball" (label 2)"#,
            #"testlist02.txt:4: Unknown/v_Unknown_g01_c01.avi: class folder "Unknown" is not one of the dataset's classes"#,
            "testlist02.txt:5: v_NoFolder_g01_c01.avi: expected <Class>/<video>: the class folder is missing",
            "testlist02.txt:6: ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi: listed more than once (first at trainlist02.txt:1)",
        ])
    }

    @Test func missingSplitFileThrowsNamingIt() throws {
        let root = try fixture("UCF101")
        #expect {
            try DatasetReader.read(.ucf101, root: root, split: 3)
        } throws: { error in
            "\(error)" == root.appendingPathComponent("ucfTrainTestlist/trainlist03.txt").path + ": split file not found"
        }
    }

    @Test func listsDirectlyInTheRoot() throws {
        let root = try fixture("UCF101Flat")
        #expect(try UCF101Splits.listDirectory(root: root).standardizedFileURL == root.standardizedFileURL)
        let r = try DatasetReader.read(.ucf101, root: root, split: 1)
        #expect(r.split.classNames == ["Walking", "Running"])  // classInd order, not sorted
        #expect(pairs(r.split.train) == ["Walking/v_Walking_g01_c01.avi=0", "Running/v_Running_g01_c01.avi=1"])
        #expect(pairs(r.split.test) == ["Walking/v_Walking_g02_c01.avi=0"])
        #expect(r.problems.isEmpty)
    }

    @Test func noClassIndexThrows() throws {
        _ = try withTemporaryDirectory { dir in
            #expect {
                try DatasetReader.read(.ucf101, root: dir, split: 1)
            } throws: { error in
                "\(error)".contains("no classInd.txt in \(dir.appendingPathComponent("ucfTrainTestlist").path)")
            }
        }
    }

    @Test func malformedClassIndexThrowsWithLine() throws {
        try withTemporaryDirectory { dir in
            let url = dir.appendingPathComponent("classInd.txt")
            try "1 A\n3 C\n".write(to: url, atomically: true, encoding: .utf8)
            #expect(throws: JAMError("class indices must run 1...2 without gaps; 2 is missing", file: url.path)) {
                try UCF101Splits.readClassIndex(url)
            }
            try "1 A\nB\n".write(to: url, atomically: true, encoding: .utf8)
            #expect(throws: JAMError(#"expected "<index> <ClassName>", found "B""#, file: url.path, location: "line 2")) {
                try UCF101Splits.readClassIndex(url)
            }
        }
    }

    @Test func symlinkEscapingTheRootIsRefused() throws {
        try withTemporaryDirectory { dir in
            let root = dir.appendingPathComponent("ds")
            let fm = FileManager.default
            try fm.createDirectory(at: root.appendingPathComponent("A"), withIntermediateDirectories: true)
            try Data().write(to: dir.appendingPathComponent("secret.avi"))
            try Data().write(to: root.appendingPathComponent("A/inside.avi"))
            try fm.createSymbolicLink(atPath: root.appendingPathComponent("A/link.avi").path,
                                      withDestinationPath: dir.appendingPathComponent("secret.avi").path)
            try "1 A\n".write(to: root.appendingPathComponent("classInd.txt"), atomically: true, encoding: .utf8)
            try "A/inside.avi 1\nA/link.avi 1\n".write(
                to: root.appendingPathComponent("trainlist01.txt"), atomically: true, encoding: .utf8)
            try "".write(to: root.appendingPathComponent("testlist01.txt"), atomically: true, encoding: .utf8)
            let r = try DatasetReader.read(.ucf101, root: root, split: 1)
            #expect(pairs(r.split.train) == ["A/inside.avi=0"])
            #expect(r.problems.count == 1 && r.problems[0].line == 2
                && r.problems[0].reason.hasPrefix("path escapes the dataset root through a symlink"))
            // Without file checks only the listing is judged.
            #expect(try DatasetReader.read(.ucf101, root: root, split: 1, checkFiles: false).split.train.count == 2)
        }
    }
}

@Suite struct HMDB51ReaderTests {
    // Faults in Fixtures/HMDB51: brush_hair split 1 line 3 tag 0 (unused, not a problem), line 4
    // a missing video; cartwheel split 1 line 3 an escaping path, line 4 tag 5;
    // cartwheel_test_split2.txt is missing. Lines end in a space, as in the real files.
    @Test func splitOne() throws {
        let r = try DatasetReader.read(.hmdb51, root: fixture("HMDB51"), split: 1)
        #expect(r.split.classNames == ["brush_hair", "cartwheel", "chew"])
        #expect(pairs(r.split.train) == [
            "brush_hair/April_09_brush_hair_u_nm_np1_ba_goo_0.avi=0",
            "cartwheel/Acrobacias_de_un_fenomeno_cartwheel_f_cm_np1_ba_bad_8.avi=1",
            "chew/Chewing_Gum_chew_h_nm_np1_fr_med_0.avi=2",
        ])
        #expect(pairs(r.split.test) == [
            "brush_hair/April_09_brush_hair_u_nm_np1_ba_goo_1.avi=0",
            "cartwheel/(Rad)Schlag_die_Bank!!_cartwheel_f_cm_np1_le_med_0.avi=1",
            "chew/Chewing_Gum_chew_h_nm_np1_fr_med_1.avi=2",
        ])
        let s = summary(r.problems)
        try #require(s.count == 3)
        #expect(s[0].hasPrefix("brush_hair_test_split1.txt:4: missing_video.avi: file not found: "))
        #expect(s[1] == "cartwheel_test_split1.txt:3: ../brush_hair/April_09_brush_hair_u_nm_np1_ba_goo_0.avi: path escapes the dataset root ('..')")
        #expect(s[2] == "cartwheel_test_split1.txt:4: bad_tag_video.avi: expected \"<video> <tag>\" with tag 0 (unused), 1 (train) or 2 (test)")
    }

    @Test func missingClassSplitFileThrowsNamingIt() throws {
        let root = try fixture("HMDB51")
        let missing = root.appendingPathComponent("testTrainMulti_7030_splits/cartwheel_test_split2.txt").path
        #expect {
            try DatasetReader.read(.hmdb51, root: root, split: 2)
        } throws: { error in
            "\(error)" == "\(missing): split file not found"
        }
    }

    @Test func wrongLayoutThrows() throws {
        #expect(throws: JAMError.self) { try DatasetReader.read(.hmdb51, root: fixture("UCF101"), split: 1) }
        #expect(throws: JAMError.self) { try DatasetReader.read(.ucf101, root: fixture("HMDB51"), split: 1) }
        #expect(throws: JAMError.self) { try DatasetReader.read(.ucf101, root: fixture("UCF101"), split: 4) }
    }
}
