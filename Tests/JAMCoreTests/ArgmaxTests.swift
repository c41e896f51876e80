import JAMCore
import Testing

@Suite struct ArgmaxTests {
    @Test func tiesGoToTheLowestIndex() {
        #expect(argmax([Float(1), 3, 3, 2]) == 1)
        #expect(argmax([Float(5), 5, 5]) == 0)
        #expect(argmax([Double(-2), -1, 0.5]) == 2)
        #expect(argmax([Float(7)]) == 0)
        #expect(argmax([Float]()) == 0)
    }

    /// As the loops it replaced (`best = 0; if v[j] > v[best] { best = j }`): a NaN never wins
    /// against an earlier value, and a NaN at index 0 is never replaced.
    @Test func nanBehavesAsTheOldLoops() {
        #expect(argmax([Float(1), .nan, 3, 2]) == 2)
        #expect(argmax([Float(1), 4, .nan]) == 1)
        #expect(argmax([Float.nan, 4, 9]) == 0)
        #expect(argmax([-Float.infinity, -Float.infinity, -1]) == 2)
    }

    @Test func worksOnSlicesAndBuffers() {
        let rows: [Float] = [0, 1, 0, /**/ 2, 2, 1]
        #expect(argmax(rows[3..<6]) == 0)
        rows.withUnsafeBufferPointer { p in
            #expect(argmax(UnsafeBufferPointer(rebasing: p[0..<3])) == 1)
        }
    }
}
