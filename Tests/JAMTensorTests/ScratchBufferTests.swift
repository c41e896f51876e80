import JAMTensor
import Testing

@Suite struct ScratchBufferTests {
    @Test func reserveGrowsOnlyWhenNeededAndNeverShrinks() {
        let scratch = ScratchBuffer<Float>()
        let first = scratch.reserve(10)
        #expect(scratch.capacity == 10 && first == scratch.pointer)
        for i in 0..<10 { first[i] = Float(i) }

        // A smaller or equal request keeps the block and its contents.
        let same = scratch.reserve(4)
        #expect(same == first && scratch.capacity == 10)
        #expect(scratch.reserve(10) == first)
        #expect((0..<10).map { first[$0] } == (0..<10).map(Float.init))

        let grown = scratch.reserve(25)
        #expect(scratch.capacity == 25 && grown == scratch.pointer)
        grown[24] = 1  // the whole new block is writable
        scratch.reserve(3)
        #expect(scratch.capacity == 25)
    }

    @Test func reserveZeroedZeroesExactlyTheFirstCount() {
        let scratch = ScratchBuffer<Float>()
        let p = scratch.reserve(12)
        p.update(repeating: 7, count: 12)
        let zeroed = scratch.reserveZeroed(5)
        #expect(zeroed == p, "no growth needed")
        #expect((0..<12).map { zeroed[$0] } == [0, 0, 0, 0, 0, 7, 7, 7, 7, 7, 7, 7])

        // After growth every requested element is zero, whatever the new memory held.
        let big = scratch.reserveZeroed(40)
        #expect(scratch.capacity == 40)
        #expect((0..<40).allSatisfy { big[$0] == 0 })

        scratch.pointer.update(repeating: 3, count: 40)
        scratch.zero(2)
        #expect(scratch.pointer[0] == 0 && scratch.pointer[1] == 0 && scratch.pointer[2] == 3)
    }
}
