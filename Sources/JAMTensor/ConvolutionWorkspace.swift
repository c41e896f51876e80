// shapes: none; per-worker blocks of floats whose layout each kernel defines.
// Tests: Tests/JAMTensorTests/Convolution3x3Tests.swift (every kernel path through a fresh workspace), Tests/JAMModelTests/VGG16FeatureExtractorTests.swift (one workspace reused across layers and calls)

/// Reusable scratch memory for the convolution kernels: one block per worker thread, grown on
/// demand and kept between calls, so a network run frame after frame allocates nothing after its
/// first frame and its working memory stays bounded by the largest block one layer needs.
///
/// Not safe for two kernel calls at once: give each concurrently running caller its own workspace.
public final class ConvolutionWorkspace: @unchecked Sendable {
    private var blocks: [UnsafeMutableRawPointer] = []
    private var capacities: [Int] = []
    private var shared = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 64)
    private var sharedCapacity = 64

    /// When set, the kernels record their time per phase into it (`jam-bench vgg --profile`).
    public var profile: ConvolutionProfile?

    public init() {}

    deinit {
        for block in blocks { block.deallocate() }
        shared.deallocate()
    }

    /// Bytes currently held.
    public var bytesAllocated: Int { capacities.reduce(sharedCapacity, +) }

    /// Makes sure the block shared by all workers holds at least `floats` floats (64-byte
    /// aligned) and returns it. Earlier contents are not kept.
    func reserveShared(floats: Int) -> UnsafeMutablePointer<Float> {
        let bytes = max(64, floats * MemoryLayout<Float>.stride)
        if sharedCapacity < bytes {
            shared.deallocate()
            shared = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
            sharedCapacity = bytes
        }
        return shared.bindMemory(to: Float.self, capacity: floats)
    }

    /// Makes sure each of `workers` blocks holds at least `floats` floats (64-byte aligned) and
    /// returns their base pointers, one per worker. Earlier contents are not kept.
    func reserve(workers: Int, floats: Int) -> [UnsafeMutablePointer<Float>] {
        let bytes = max(64, floats * MemoryLayout<Float>.stride)
        while blocks.count < workers {
            blocks.append(UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 64))
            capacities.append(64)
        }
        for w in 0..<workers where capacities[w] < bytes {
            blocks[w].deallocate()
            blocks[w] = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
            capacities[w] = bytes
        }
        return (0..<workers).map { blocks[$0].bindMemory(to: Float.self, capacity: floats) }
    }
}
