/// How a source frame of any aspect ratio becomes an S×S frame (`decode.resize` in the config).
/// Shared by the config (JAMConfig) and the decoder (JAMVideo), which do not depend on each other.
public enum ResizeMode: String, Sendable, Hashable, Codable, CaseIterable {
    /// Scale both sides to S, distorting the aspect ratio (what `ffmpeg -s SxS` does).
    case stretch
    /// Scale the shorter side to S, keeping the aspect ratio, then keep the central S×S.
    case centerCrop = "crop"
}
