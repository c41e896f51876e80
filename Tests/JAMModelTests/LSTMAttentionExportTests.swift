import JAMCore
import JAMModel
import JAMTestSupport
import Testing

@Suite struct LSTMAttentionExportTests {
    @Test func exportClipsCoverEveryStep() {
        // The training starts, then one clip ending at the last step when they leave a tail.
        #expect(LSTMAttentionExport.clipStarts(frameCount: 5, clipLength: 3, stride: 2) == [0, 2])
        #expect(LSTMAttentionExport.clipStarts(frameCount: 6, clipLength: 3, stride: 2) == [0, 2, 3])
        #expect(LSTMAttentionExport.clipStarts(frameCount: 10, clipLength: 4, stride: 4) == [0, 4, 6])
        // Short videos: the one padded clip.
        #expect(LSTMAttentionExport.clipStarts(frameCount: 2, clipLength: 3, stride: 2) == [0])
        #expect(LSTMAttentionExport.clipStarts(frameCount: 3, clipLength: 3, stride: 5) == [0])
    }

    @Test func frameAverageIsTheMeanOverTheClipsCoveringEachStep() {
        // T = 5, L1 = 3, starts 0 and 2, two locations. Step 2 is read by clip 0 (position 2)
        // and clip 1 (position 0); every other step by one clip.
        let maps: [Float] = [1, 0, 0.5, 0.5, 0.2, 0.8,  // clip 0, positions 0, 1, 2
                             0.6, 0.4, 0.3, 0.7, 0.9, 0.1]  // clip 1
        let average = LSTMAttentionExport.frameAverage(maps: maps, starts: [0, 2], frameCount: 5, clipLength: 3, locations: 2)
        expectClose(average, [1, 0, 0.5, 0.5, 0.4, 0.6, 0.3, 0.7, 0.9, 0.1], rtol: 0, atol: 1e-7, "hand-worked")

        // A padded short clip: T = 2, L1 = 3; positions 1 and 2 both read step 1.
        let padded = LSTMAttentionExport.frameAverage(maps: [1, 0, 0, 1, 0.5, 0.5], starts: [0], frameCount: 2,
                                                      clipLength: 3, locations: 2)
        expectClose(padded, [1, 0, 0.25, 0.75], rtol: 0, atol: 1e-7, "padded")
    }

    @Test func perBranchMapsStackAndAverage() {
        // Two branches, T = 2, two locations.
        let (mean, stacked) = LSTMAttentionExport.interleave([[1, 0, 0.5, 0.5], [0, 1, 0.25, 0.75]], frameCount: 2, locations: 2)
        #expect(stacked == [1, 0, 0, 1, 0.5, 0.5, 0.25, 0.75])  // [T, M, S]
        #expect(mean == [0.5, 0.5, 0.375, 0.625])
    }
}
