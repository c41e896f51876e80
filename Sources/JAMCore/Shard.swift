// Tests: Tests/JAMCoreTests/ShardTests.swift (parsing, the Slurm variables, every unit exactly once, balance, stability)
import Foundation

/// One of `count` disjoint parts of a stage's units, so that a per-video stage can run as `count`
/// processes (the tasks of a Slurm job array, the ranks of an MPI job) over one folder.
///
/// The rule: sort the units by name (byte order of their UTF-8), number them 0, 1, 2, …; shard `i`
/// of `N` takes the units whose number is `i` modulo `N`. Every unit belongs to exactly one
/// shard, shard sizes differ by at most one, and the assignment depends only on the set of
/// unit names — not on the order a split file lists them, the host or the time.
public struct Shard: Sendable, Hashable, CustomStringConvertible {
    /// 0-based.
    public let index: Int
    public let count: Int

    /// All units: a plain, unsharded run.
    public static let whole = Shard(index: 0, count: 1)

    public init(index: Int, count: Int) {
        precondition(count >= 1 && index >= 0 && index < count, "Shard: bad index \(index) of \(count)")
        (self.index, self.count) = (index, count)
    }

    public var isWhole: Bool { count == 1 }

    /// `i/N`, as `--shard` takes it.
    public var description: String { "\(index)/\(count)" }

    /// Parses `--shard i/N` (0-based `i`, `0 <= i < N`).
    public init(parsing text: String) throws {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]) else {
            throw JAMError("--shard \(text): expected i/N, the 0-based shard index and the number of shards (e.g. --shard 0/4)")
        }
        guard n >= 1, i >= 0, i < n else {
            throw JAMError("--shard \(text): the index must be 0 to \(max(n, 1) - 1) and the count at least 1 (e.g. --shard 0/\(max(n, 1)))")
        }
        self.init(index: i, count: n)
    }

    /// The shard of a Slurm array task: `SLURM_ARRAY_TASK_ID` minus `SLURM_ARRAY_TASK_MIN`
    /// (divided by `SLURM_ARRAY_TASK_STEP` when set) of `SLURM_ARRAY_TASK_COUNT`; nil outside
    /// an array job. `sbatch --array=0-2` and `--array=1-3` both make shards 0/3, 1/3, 2/3.
    public static func fromSlurm(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Shard? {
        guard environment["SLURM_ARRAY_TASK_ID"] != nil else { return nil }
        func number(_ key: String, default fallback: Int? = nil) throws -> Int {
            guard let text = environment[key] else {
                if let fallback { return fallback }
                throw JAMError("SLURM_ARRAY_TASK_ID is set but \(key) is not: run the stage from an sbatch --array job, "
                               + "or pass --shard i/N yourself")
            }
            guard let value = Int(text) else { throw JAMError("\(key)=\(text) is not a whole number") }
            return value
        }
        let id = try number("SLURM_ARRAY_TASK_ID")
        let count = try number("SLURM_ARRAY_TASK_COUNT")
        let min = try number("SLURM_ARRAY_TASK_MIN")
        let step = try number("SLURM_ARRAY_TASK_STEP", default: 1)
        guard step >= 1, (id - min) % step == 0, count >= 1, (id - min) / step < count, id >= min else {
            throw JAMError("the Slurm array task \(id) (min \(min), step \(step), \(count) tasks) does not map to a shard: "
                           + "submit the array as --array=0-\(count - 1) (a range with one step), or pass --shard i/N")
        }
        return Shard(index: (id - min) / step, count: count)
    }

    /// `--shard` when given, else the Slurm array's shard, else the whole.
    public static func resolve(option: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Shard {
        if let option { return try Shard(parsing: option) }
        return try fromSlurm(environment) ?? .whole
    }

    /// Whether the unit at position `k` of the name-sorted list is this shard's.
    public func owns(position k: Int) -> Bool { k % count == index }

    /// This shard's items, in name order (see the type's rule).
    public func select<T>(_ items: [T], name: (T) -> String) -> [T] {
        let sorted = items.map { (name($0), $0) }.sorted { Array($0.0.utf8).lexicographicallyPrecedes(Array($1.0.utf8)) }
        return sorted.enumerated().compactMap { owns(position: $0.offset) ? $0.element.1 : nil }
    }

    /// The stage report this shard writes: `stage-report.json` for the whole,
    /// `stage-report.shard-<i>-of-<N>.json` for a shard (readers merge them).
    public var reportFileName: String {
        isWhole ? "stage-report.json" : "stage-report.shard-\(index)-of-\(count).json"
    }
}
