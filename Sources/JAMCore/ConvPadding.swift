/// How one convolution axis is padded (stride is always 1): `c3d.*_padding` in the config and
/// the padding of JAMNN's `Conv3D`. Lives here because JAMConfig and JAMNN do not depend on
/// each other.
public enum ConvPadding: String, Sendable, Hashable, Codable, CaseIterable {
    /// Zero padding that keeps the size: `(k−1)/2` before, the rest after.
    case same
    /// No padding: the output is `n − k + 1` long.
    case valid
}
