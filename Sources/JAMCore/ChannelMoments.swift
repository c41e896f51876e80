// shapes: values channels last, [..., C].

/// Per-channel Σ x and Σ x² over a set of channels-last values, accumulated in Double in a
/// fixed order (so a sum over the same files is bit-identical on every run).
public struct ChannelMoments: Sendable, Hashable {
    public private(set) var sums: [Double]
    public private(set) var squares: [Double]
    /// Values seen per channel.
    public private(set) var count: Int

    public init(channels: Int) {
        sums = [Double](repeating: 0, count: channels)
        squares = sums
        count = 0
    }

    public var channels: Int { sums.count }

    /// Adds whole pixels of `channels` values each.
    public mutating func add<C: Collection<Float>>(_ values: C) {
        let channels = self.channels
        precondition(channels > 0 && values.count % channels == 0,
                     "ChannelMoments: \(values.count) values are not whole \(channels)-channel pixels")
        var c = 0
        for x in values {
            let v = Double(x)
            sums[c] += v
            squares[c] += v * v
            c += 1
            if c == channels { c = 0 }
        }
        count += values.count / channels
    }
}
