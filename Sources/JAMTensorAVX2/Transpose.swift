// shapes: source [rows, n] (row stride ldSource), destination [n, rows] (dense), row-major Float;
// this kernel writes the destination rows `columns`.
// Tests: Tests/JAMTensorTests/SkinnyGEMMTests.swift (against index arithmetic, sizes not multiples of 8)

/// `destination[j, i] = source[i, j]` for j in `columns`: 8×8 tiles loaded as 8 row vectors and
/// stored as 8 column vectors; the rows and columns past the last whole tile go one by one.
@inline(never)
public func avx2Transpose(
    _ destination: UnsafeMutablePointer<Float>,
    _ source: UnsafePointer<Float>, ldSource: Int, rows: Int, columns: Range<Int>
) {
    let wholeRows = rows & ~7
    let wholeEnd = columns.lowerBound + (columns.count & ~7)
    var i = 0
    while i < wholeRows {
        var j = columns.lowerBound
        while j < wholeEnd {
            let p = source + (i &* ldSource + j)
            let r0 = lanes(p), r1 = lanes(p + ldSource), r2 = lanes(p + 2 &* ldSource), r3 = lanes(p + 3 &* ldSource)
            let r4 = lanes(p + 4 &* ldSource), r5 = lanes(p + 5 &* ldSource)
            let r6 = lanes(p + 6 &* ldSource), r7 = lanes(p + 7 &* ldSource)
            let q = destination + (j &* rows + i)
            for c in 0..<8 {
                let column = SIMD8(r0[c], r1[c], r2[c], r3[c], r4[c], r5[c], r6[c], r7[c])
                UnsafeMutableRawPointer(q + c &* rows).storeBytes(of: column, as: SIMD8<Float>.self)
            }
            j &+= 8
        }
        i &+= 8
    }
    // The remaining columns for every row, then the remaining rows for the whole columns.
    for j in wholeEnd..<columns.upperBound {
        for i in 0..<rows { destination[j &* rows &+ i] = source[i &* ldSource &+ j] }
    }
    for j in columns.lowerBound..<wholeEnd {
        for i in wholeRows..<rows { destination[j &* rows &+ i] = source[i &* ldSource &+ j] }
    }
}
