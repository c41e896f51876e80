import Foundation

/// One labelled video of a dataset.
public struct VideoEntry: Sendable, Hashable, Codable {
    /// Path relative to the dataset root, `/`-separated, class folder first:
    /// `ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi`. Never absolute, never contains `..`.
    public var relativePath: String
    /// 0-based class index into `DatasetSplit.classNames`.
    public var label: Int
    /// The class name, `classNames[label]` (the class folder's name).
    public var className: String

    public init(relativePath: String, label: Int, className: String) {
        (self.relativePath, self.label, self.className) = (relativePath, label, className)
    }

    /// The video file under a dataset root.
    public func url(root: URL) -> URL {
        root.appendingPathComponent(relativePath)
    }
}
