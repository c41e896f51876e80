import Foundation
import JAMCore
import JAMDatasets
import JAMTestSupport
import Testing

// The scanning and split rules of folder datasets are in DatasetReaderTests; here, the check that
// a split keeps each source on one side.
@Suite struct FolderDatasetTests {
    @Test func theSourceStemDropsOnlyASegmentMarker() {
        #expect(FolderDataset.sourceStem("walk_017_seg2.avi") == "walk_017")
        #expect(FolderDataset.sourceStem("Walk_017-part3.MP4") == "walk_017")
        #expect(FolderDataset.sourceStem("v_Walk_g03_c02.avi") == "v_walk_g03")
        #expect(FolderDataset.sourceStem("run.clip01.mkv") == "run")
        // A bare number numbers sources, and a marker must follow a separator.
        #expect(FolderDataset.sourceStem("walk_017.avi") == "walk_017")
        #expect(FolderDataset.sourceStem("walks2.avi") == "walks2")
    }

    @Test func testVideosCutFromATrainingVideosSourceAreFound() {
        func entry(_ path: String, _ label: Int) -> VideoEntry {
            VideoEntry(relativePath: path, label: label, className: String(path.split(separator: "/")[0]))
        }
        let split = DatasetSplit(
            classNames: ["Run", "Walk"],
            train: [entry("Walk/a_seg1.avi", 1), entry("Walk/b_seg1.avi", 1), entry("Run/a_seg1.avi", 0)],
            test: [entry("Walk/a_seg2.avi", 1), entry("Walk/c_seg1.avi", 1), entry("Run/b_seg2.avi", 0)])
        let shared = FolderDataset.sharedSources(split)
        // Only Walk/a is on both sides; Run/b's source "b" is a Walk training video, another class.
        #expect(shared.map(\.test.relativePath) == ["Walk/a_seg2.avi"])
        #expect(shared.map(\.train.relativePath) == ["Walk/a_seg1.avi"])
    }

    // MARK: - Frame folders (rawframes)

    /// Creates empty files at `paths` under `root` (listing is all the readers look at).
    private func files(_ paths: [String], under root: URL) throws {
        for path in paths {
            let url = root.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            #expect(FileManager.default.createFile(atPath: url.path, contents: Data()))
        }
    }

    @Test func frameFoldersAreVideosBesideVideoFiles() throws {
        try withTemporaryDirectory { root in
            try files(["Walk/walk1.avi", "Walk/walk2/img_00001.jpg", "Walk/walk2/img_00002.jpg",
                       "Walk/notes/readme.txt",            // a folder without images is no video
                       "Run/run_a/img_00001.png", "Run/.hidden/img_00001.jpg",
                       "Empty/sub/readme.txt"], under: root)
            let (classes, videos) = try FolderDataset.scan(root: root)
            #expect(classes == ["Run", "Walk"])
            #expect(pairs(videos) == ["Run/run_a=0", "Walk/walk1.avi=1", "Walk/walk2=1"])
            #expect(VideoSource.isFrameFolder(root.appendingPathComponent("Walk/walk2")))
            #expect(!VideoSource.isFrameFolder(root.appendingPathComponent("Walk/notes")))
            #expect(!VideoSource.isFrameFolder(root.appendingPathComponent("Walk/walk1.avi")))
            #expect(VideoSource.url(root: root, relativePath: "Walk/walk2").path == root.path + "/Walk/walk2")

            // Split files may list a frame folder by its own name or as the video it came from.
            try FileManager.default.createDirectory(at: root.appendingPathComponent("splits"), withIntermediateDirectories: true)
            try "Walk/walk1.avi\nRun/run_a\n".write(to: root.appendingPathComponent("splits/trainlist01.txt"), atomically: true, encoding: .utf8)
            try "Walk/walk2.avi\nWalk/gone.avi\n".write(to: root.appendingPathComponent("splits/testlist01.txt"), atomically: true, encoding: .utf8)
            let r = try DatasetReader.read(.folders, root: root, split: 1)
            #expect(pairs(r.split.train) == ["Walk/walk1.avi=1", "Run/run_a=0"])
            #expect(pairs(r.split.test) == ["Walk/walk2.avi=1"])
            #expect(summary(r.problems) == ["testlist01.txt:2: Walk/gone.avi: file not found: \(root.path)/Walk/gone.avi "
                                            + "(nor a frame folder \(root.path)/Walk/gone/ of numbered images)"])
        }
    }

    @Test func twoVideosWithOneArtifactNameAreRefused() throws {
        try withTemporaryDirectory { root in
            try files(["Walk/a.avi", "Walk/a/img_00001.jpg", "Walk/b.avi"], under: root)
            #expect(throws: JAMError("a and a.avi would both be stored as a.h5 (artifacts are named without the extension); "
                                     + "rename or remove one", file: root.appendingPathComponent("Walk").path)) {
                try FolderDataset.scan(root: root)
            }
        }
    }

    /// UCF101 as MMAction2 extracts it: the split files list `.avi` files, the root holds
    /// `<Class>/<video>/img_00001.jpg`. Entries keep the listed names (artifacts are named alike).
    @Test func ucf101ListsFindTheFrameFolderOfAListedVideo() throws {
        try withTemporaryDirectory { root in
            try files(["Walk/v_Walk_g01_c01/img_00001.jpg", "Walk/v_Walk_g02_c01.avi", "Walk/v_Walk_g03_c01/readme.txt"], under: root)
            try "1 Walk\n".write(to: root.appendingPathComponent("classInd.txt"), atomically: true, encoding: .utf8)
            try "Walk/v_Walk_g01_c01.avi 1\nWalk/v_Walk_g02_c01.avi 1\n"
                .write(to: root.appendingPathComponent("trainlist01.txt"), atomically: true, encoding: .utf8)
            try "Walk/v_Walk_g03_c01.avi\n".write(to: root.appendingPathComponent("testlist01.txt"), atomically: true, encoding: .utf8)
            let r = try DatasetReader.read(.ucf101, root: root, split: 1)
            #expect(pairs(r.split.train) == ["Walk/v_Walk_g01_c01.avi=0", "Walk/v_Walk_g02_c01.avi=0"])
            #expect(VideoSource.url(root: root, relativePath: "Walk/v_Walk_g01_c01.avi").path == root.path + "/Walk/v_Walk_g01_c01")
            #expect(VideoSource.url(root: root, relativePath: "Walk/v_Walk_g02_c01.avi").path == root.path + "/Walk/v_Walk_g02_c01.avi")
            // A folder without images stands for nothing.
            #expect(r.split.test.isEmpty)
            #expect(summary(r.problems).count == 1 && summary(r.problems)[0].hasPrefix("testlist01.txt:1: Walk/v_Walk_g03_c01.avi: file not found"))
        }
    }

    @Test func hmdb51ListsFindTheFrameFolderOfAListedVideo() throws {
        try withTemporaryDirectory { root in
            try files(["brush_hair/a_brush_hair_u_cm_np1_ba_goo_0/img_00001.jpg", "brush_hair/b.avi"], under: root)
            let lists = root.appendingPathComponent(HMDB51Splits.listFolderName)
            try FileManager.default.createDirectory(at: lists, withIntermediateDirectories: true)
            try "a_brush_hair_u_cm_np1_ba_goo_0.avi 1 \nb.avi 2 \nc.avi 2 \n"
                .write(to: lists.appendingPathComponent("brush_hair_test_split1.txt"), atomically: true, encoding: .utf8)
            let r = try DatasetReader.read(.hmdb51, root: root, split: 1)
            #expect(pairs(r.split.train) == ["brush_hair/a_brush_hair_u_cm_np1_ba_goo_0.avi=0"])
            #expect(pairs(r.split.test) == ["brush_hair/b.avi=0"])
            #expect(summary(r.problems).count == 1 && summary(r.problems).first?.contains("c.avi: file not found") == true)
            #expect(VideoSource.url(root: root, relativePath: "brush_hair/a_brush_hair_u_cm_np1_ba_goo_0.avi").path
                    == root.path + "/brush_hair/a_brush_hair_u_cm_np1_ba_goo_0")
        }
    }
}
