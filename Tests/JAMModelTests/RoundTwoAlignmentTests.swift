import JAMConfig
import JAMCore
import JAMModel
import JAMTraining
import Testing

/// Round 2 regularises cube step j of a training clip towards the previous LSTM round's
/// attention at the same video step. With maps that differ at every step and clips that start
/// after frame 0, any off-by-k (the clip's own step, the step before, the frame instead of the
/// cube step) gives a different value and fails.
@Suite struct RoundTwoAlignmentTests {
    /// Video v's map at cube step j, location l: a value no other (v, j, l) has.
    static func value(_ v: Int, _ j: Int, _ l: Int) -> Float { Float(10_000 * v + 100 * j + l) }

    @Test func clipStepTakesTheVideoMapAtStartPlusStep() {
        let locations = 4
        let rows = [12, 9, 2]  // cube steps of three videos; the last is shorter than a clip
        let attention = rows.enumerated().map { v, n in
            (0..<n).flatMap { j in (0..<locations).map { l in Self.value(v, j, l) } }
        }
        let clips = [Clip(video: 0, start: 0), Clip(video: 0, start: 3), Clip(video: 1, start: 5), Clip(video: 2, start: 0),
                     Clip(video: 0, start: 8)]
        let steps = 4
        let targets = C3DModel.attentionTargets(clips, attention: attention, steps: steps, locations: locations)
        #expect(targets.count == clips.count * steps * locations)
        for (i, clip) in clips.enumerated() {
            for t in 0..<steps {
                let row = min(clip.start + t, rows[clip.video] - 1)  // short videos repeat the last step
                for l in 0..<locations {
                    #expect(targets[(i * steps + t) * locations + l] == Self.value(clip.video, row, l),
                            "clip \(clip) step \(t) location \(l)")
                }
            }
        }
    }

    /// The whole hand-off with temporally valid convolutions (kt = 3, so a clip of 8 frames has 4
    /// cube steps): the LSTM's per-clip maps averaged onto video steps, then read back for 3D-convnet
    /// clips starting at frames 0, 2 and 5.
    @Test func lstmExportToRoundTwoTargetsWithValidTemporalPadding() {
        var s = C3DSettings()
        (s.conv1TemporalPadding, s.conv2TemporalPadding, s.temporalKernel) = (.valid, .valid, 3)
        let frames = 13, clipFrames = 8
        let videoSteps = ConvNet3DBranchGeometry.cubeTime(s, frames: frames)
        let clipSteps = ConvNet3DBranchGeometry.cubeTime(s, frames: clipFrames)
        #expect(videoSteps == 9 && clipSteps == 4)
        // LSTM clips of 4 cube steps every 2: starts 0, 2, 4 and the tail 5.
        let lstmStarts = LSTMAttentionExport.clipStarts(frameCount: videoSteps, clipLength: 4, stride: 2)
        #expect(lstmStarts == [0, 2, 4, 5])
        // Each LSTM clip position p at video step start + p puts mass on location (start + p) % 2
        // scaled by a clip-specific factor, so the averages differ at every step.
        var maps: [Float] = []
        for (c, start) in lstmStarts.enumerated() {
            for p in 0..<4 {
                let j = start + p
                let a = Float(j + 1) / Float(videoSteps + 1) + Float(c) * 0.001
                maps += j % 2 == 0 ? [a, 1 - a] : [1 - a, a]
            }
        }
        let video = LSTMAttentionExport.frameAverage(maps: maps, starts: lstmStarts, frameCount: videoSteps,
                                                     clipLength: 4, locations: 2)
        // The independent route: average, per video step, the maps of the clips covering it.
        var expected = [[Float]](repeating: [0, 0], count: videoSteps)
        var cover = [Float](repeating: 0, count: videoSteps)
        for (c, start) in lstmStarts.enumerated() {
            for p in 0..<4 {
                for l in 0..<2 { expected[start + p][l] += maps[(c * 4 + p) * 2 + l] }
                cover[start + p] += 1
            }
        }
        let clips = [Clip(video: 0, start: 0), Clip(video: 0, start: 2), Clip(video: 0, start: 5)]
        let targets = C3DModel.attentionTargets(clips, attention: [video], steps: clipSteps, locations: 2)
        for (i, clip) in clips.enumerated() {
            for t in 0..<clipSteps {
                let j = clip.start + t  // clip step t is centred on frame start + t + 2, as video step j is on j + 2
                for l in 0..<2 {
                    let want = expected[j][l] / cover[j]
                    #expect(abs(targets[(i * clipSteps + t) * 2 + l] - want) < 1e-6, "clip \(clip) step \(t)")
                }
            }
        }
        #expect(ConvNet3DBranchGeometry.temporalOffset(s) == 2)
    }
}
