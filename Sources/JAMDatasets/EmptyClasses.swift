// Tests: Tests/JAMStagesTests/FailureMessageTests.swift (a class with no videos is warned about and noted in the report)
import Foundation

extension DatasetSplit {
    /// Classes of the class list with no video in this split (train or test), and classes with
    /// training videos but no test video. Such a class still counts in the class list: it takes
    /// an output of the classifier and lowers chance to 1/C, though no video can be right or wrong in it.
    public var emptyClasses: (none: [String], noTest: [String]) {
        let trained = Set(train.map(\.label)), tested = Set(test.map(\.label))
        let none = classNames.indices.filter { !trained.contains($0) && !tested.contains($0) }.map { classNames[$0] }
        let noTest = classNames.indices.filter { trained.contains($0) && !tested.contains($0) }.map { classNames[$0] }
        return (none, noTest)
    }

    /// What to tell the user about `emptyClasses` for split `split` (nil when every class has videos).
    public func emptyClassWarning(split: Int, classFile: String) -> String? {
        let (none, noTest) = emptyClasses
        var parts: [String] = []
        if !none.isEmpty {
            parts.append("\(none.count) class(es) of \(classFile) have no video in split \(split): \(none.joined(separator: ", "))")
        }
        if !noTest.isEmpty {
            parts.append("\(noTest.count) class(es) have no test video in split \(split): \(noTest.joined(separator: ", "))")
        }
        guard !parts.isEmpty else { return nil }
        return parts.joined(separator: "; ") + ". They still count in the \(classNames.count)-class list (chance is "
            + "1/\(classNames.count)); remove them from \(classFile) or add their videos"
    }
}
