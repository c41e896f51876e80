import Foundation
import JAMNN
import Testing

@Suite struct VectorActivationsTests {
    typealias V = LSTMVectorMath

    /// Every float of a dense grid over [−100, 100] (step 1/1024), 8 at a time, with the worst
    /// error of each function against Double's, relative to the exact value (absolute below
    /// 1e-30, where σ's exact value is a denormal or less).
    static func worstErrors(_ function: (V.Lanes) -> V.Lanes, _ reference: (Double) -> Double) -> (error: Double, at: Float) {
        var worst = (error: 0.0, at: Float(0))
        var x: Float = -100
        while x < 100 {
            var lanes = V.Lanes()
            for l in 0..<8 { lanes[l] = x + Float(l) / 1024 }
            let y = function(lanes)
            for l in 0..<8 {
                let exact = reference(Double(lanes[l]))
                let error = abs(Double(y[l]) - exact) / max(abs(exact), 1e-30)
                if error > worst.error { worst = (error, lanes[l]) }
            }
            x += 8.0 / 1024
        }
        return worst
    }

    @Test func sigmoidAndTanhAreWithinAFewUlpsOfDouble() {
        let sigmoid = Self.worstErrors(V.sigmoid) { 1 / (1 + Foundation.exp(-$0)) }
        let tanh = Self.worstErrors(V.tanh) { Foundation.tanh($0) }
        // 4e-7 is about 3 float32 ulps.
        #expect(sigmoid.error < 4e-7, "σ: \(sigmoid.error) at \(sigmoid.at)")
        #expect(tanh.error < 4e-7, "tanh: \(tanh.error) at \(tanh.at)")
        // Below ln(2⁻¹²⁶) ≈ −87.34 exp returns 2⁻¹²⁶ (checked in `extremesInfinitiesAndNaN`).
        let exp = Self.worstErrors({ (x: V.Lanes) -> V.Lanes in V.expNonPositive(-V.magnitude(x) / 1.26) }) { (x: Double) -> Double in
            Foundation.exp(-Swift.abs(Double(Float(-Swift.abs(x)) / 1.26)))
        }
        #expect(exp.error < 4e-7, "exp: \(exp.error) at \(exp.at)")
    }

    @Test func extremesInfinitiesAndNaN() {
        let x = V.Lanes(-.infinity, -1e30, -90, -1e-30, 0, 1e-30, 90, .infinity)
        let s = V.sigmoid(x), t = V.tanh(x)
        #expect(s[0] >= 0 && s[0] < 1e-37 && s[1] < 1e-37 && s[2] < 1e-37, "\(s)")
        #expect(s[3] == 0.5 && s[4] == 0.5 && s[5] == 0.5 && s[6] == 1 && s[7] == 1, "\(s)")
        #expect(t[0] == -1 && t[1] == -1 && t[2] == -1 && t[6] == 1 && t[7] == 1, "\(t)")
        #expect(t[3] == -1e-30 && t[4] == 0 && t[5] == 1e-30, "\(t)")
        let floor = V.expNonPositive(V.Lanes(repeating: -100))[0]
        #expect(abs(floor - .leastNormalMagnitude) < 1e-5 * .leastNormalMagnitude, "\(floor)")
        let nan = V.Lanes(repeating: .nan)
        #expect(V.sigmoid(nan)[0].isNaN && V.tanh(nan)[0].isNaN && V.expNonPositive(nan)[0].isNaN)
    }

    /// `apply` over counts that leave a partial group gives every element what the 8-lane
    /// function gives it.
    @Test(arguments: [1, 7, 8, 9, 23])
    func applyCoversEveryElement(count: Int) {
        var values = (0..<count).map { Float($0) * 0.37 - 3 }
        let original = values
        values.withUnsafeMutableBufferPointer { V.apply($0.baseAddress!, count: count, V.tanh) }
        for (i, x) in original.enumerated() {
            #expect(values[i] == V.tanh(V.Lanes(repeating: x))[0], "element \(i)")
        }
    }
}
