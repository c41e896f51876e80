import Foundation
import JAMTensor
import Testing

@Suite struct HugePagesTests {
    @Test func onlyWholeHugePagesInsideTheRangeAreAdvised() {
        let size = HugePages.size
        #expect(HugePages.wholePages(address: 3 * size, byteCount: 2 * size) == 3 * size..<5 * size)
        #expect(HugePages.wholePages(address: 3 * size + 1, byteCount: 3 * size) == 4 * size..<6 * size)
        // Less than one whole page inside: nothing.
        #expect(HugePages.wholePages(address: 3 * size + 1, byteCount: 2 * size - 2) == nil)
        #expect(HugePages.wholePages(address: 3 * size, byteCount: size - 1) == nil)
    }

    /// The machine's transparent huge page mode (`always`, `madvise` or `never`), from sysfs;
    /// nil where there is none.
    static var systemMode: String? {
        guard let text = try? String(contentsOfFile: "/sys/kernel/mm/transparent_hugepage/enabled", encoding: .utf8),
              let open = text.firstIndex(of: "["), let close = text.firstIndex(of: "]"), open < close
        else { return nil }
        return String(text[text.index(after: open)..<close])
    }

    /// The kernel's huge pages under this process's anonymous mapping at `address`, in kB, from
    /// /proc/self/smaps.
    static func anonHugeKB(containing address: Int) throws -> Int {
        // Read to the end: String(contentsOfFile:) stops after the first read of a /proc file.
        let handle = try #require(FileHandle(forReadingAtPath: "/proc/self/smaps"), "cannot open /proc/self/smaps")
        defer { try? handle.close() }
        let smaps = String(decoding: try handle.readToEnd() ?? Data(), as: UTF8.self)
        var inside = false
        for line in smaps.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if let range = fields.first, range.contains("-"), !range.hasSuffix(":") {
                let bounds = range.split(separator: "-").compactMap { Int($0, radix: 16) }
                inside = bounds.count == 2 && bounds[0] <= address && address < bounds[1]
            } else if inside, fields.first == "AnonHugePages:", fields.count >= 2 {
                return Int(fields[1]) ?? 0
            }
        }
        return 0
    }

    /// Advising (with collapse) a 32 MiB buffer keeps every value and, where the kernel has
    /// transparent huge pages, backs it with them.
    @Test func anAdvisedBufferKeepsItsValuesOnHugePages() throws {
        let count = 8 << 20
        var values = (0..<count).map { Float($0 % 1009) }
        let advised = values.withUnsafeMutableBytes { HugePages.advise($0.baseAddress!, byteCount: $0.count, collapse: true) }
        #expect(values.enumerated().allSatisfy { $0.element == Float($0.offset % 1009) })
        let address = values.withUnsafeBytes { Int(bitPattern: $0.baseAddress!) }
        let mode = Self.systemMode
        guard mode != "never" else {
            // The kernel offers none: advising must still be harmless, which is checked above.
            print("HugePagesTests: transparent huge pages are 'never' on this machine; only the values are checked")
            return
        }
        try #require(mode != nil, "no /sys/kernel/mm/transparent_hugepage/enabled: this kernel has no transparent huge pages")
        #expect(advised >= count * 4 - 2 * HugePages.size, "advised \(advised) of \(count * 4) bytes")
        let huge = try Self.anonHugeKB(containing: address + count * 2)
        #expect(huge >= 2048, "AnonHugePages \(huge) kB in the buffer's mapping (mode \(mode ?? "?"))")
    }
}
