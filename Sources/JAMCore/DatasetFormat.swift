/// How a dataset's videos and train/test splits are laid out on disk.
///
/// Shared vocabulary: `JAMConfig` reads it from `dataset.format` and `JAMDatasets` reads the
/// matching layout; the two libraries do not depend on each other, so it lives here.
public enum DatasetFormat: String, Sendable, Hashable, CaseIterable, Codable {
    /// `<root>/<Class>/<video>` with `classInd.txt`, `trainlist0N.txt`, `testlist0N.txt` in
    /// `<root>/ucfTrainTestlist/` or in `<root>` itself.
    case ucf101
    /// `<root>/<class>/<video>.avi` with `<root>/testTrainMulti_7030_splits/<class>_test_splitN.txt`.
    case hmdb51
    /// `<root>/<class>/<video>` only; splits from `<root>/splits/` if present, else every third video.
    case folders
}
