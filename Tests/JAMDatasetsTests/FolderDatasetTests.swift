import Foundation
import JAMCore
import JAMDatasets
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
}
