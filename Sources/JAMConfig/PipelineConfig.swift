import Foundation
import JAMCore

/// The typed contents of `pipeline.json`: every stage's settings, the per-stage digests that
/// name its artifacts (`StageDigests.swift`), and where those artifacts live.
///
///     let config = try PipelineConfig.load(from: URL(fileURLWithPath: "pipeline.json"), profile: "paper")
///     let dir = config.stageDirectory("frames", digest: config.decodeDigest)
///
/// The file's root holds the sections `artifacts_root`, `dataset`, `synth`, `decode`, `features`
/// (see the `*Settings` types; keys are snake_case and every setting has a default, so a section
/// may be partial or absent) and optionally `"profiles": {"<name>": {...partial sections...}}`.
/// A chosen profile is deep-merged over the base (objects merge key by key; scalars and arrays
/// replace) and the result is validated. The base must be valid on its own (it is the
/// configuration used without a profile), and every profile is validated the same way on every load,
/// so a typo in an unused profile is reported too; errors about values that came from a profile
/// point into it (`$.profiles.paper.decode.size`). Several profiles, `"paper,hmdb51"`, merge
/// left to right; an error then points into the rightmost profile that set the value.
///
/// Later sections (`c3d`, `lstm`, `eval`) plug in through `PipelineConfigSection`.
public struct PipelineConfig: Sendable {
    /// The file as named in messages (the path as the caller gave it).
    public var file: String
    /// The folder that relative paths in the file resolve against.
    public var baseDirectory: URL
    /// The profile merged over the base, if any.
    public var profile: String?
    /// The effective document (base with the profile merged in, without `profiles`).
    public var document: JSONValue
    /// The names of the file's profiles, sorted (for `--profile` help and messages).
    public var availableProfiles: [String] = []

    /// `artifacts_root` as written (default `data/artifacts`); see `artifactsRoot`.
    public var artifactsRootSetting: String = "data/artifacts"
    public var dataset = DatasetSettings()
    public var synth = SynthSettings()
    public var decode = DecodeSettings()
    public var features = FeaturesSettings()
    public var c3d = C3DSettings()
    public var lstm = LSTMSettings()

    /// The top-level keys a config file may hold.
    public static let rootKeys = ["artifacts_root", DatasetSettings.key, SynthSettings.key,
                                  DecodeSettings.key, FeaturesSettings.key, C3DSettings.key, LSTMSettings.key,
                                  "profiles"]

    // MARK: - Loading

    /// Reads, merges and validates a config file. `profile` names an entry of the file's
    /// `profiles`; nil uses the base settings. Throws a `JAMError` naming the file, the JSON path
    /// and what was expected (`pipeline.json: $.decode.size: expected a multiple of 16, found 100`).
    /// Does not check that the dataset root or weights file exist: the stages do, when they need them.
    ///
    /// `"include": "other.json"` (a path relative to this file) makes the other file's profiles
    /// available here, applied over this file's base settings; this file's own profiles win over
    /// included ones of the same name. Included files may include others; a cycle is an error.
    public static func load(from url: URL, profile: String? = nil) throws -> PipelineConfig {
        let document = try withIncludedProfiles(url, seen: [])
        return try PipelineConfig(
            document: document, file: url.relativePath,
            baseDirectory: url.absoluteURL.deletingLastPathComponent(), profile: profile)
    }

    /// The document at `url` without its `include`, its `profiles` extended by those of the files
    /// it includes (its own first). `seen`: the files on the way here, for the cycle check.
    private static func withIncludedProfiles(_ url: URL, seen: [URL]) throws -> JSONValue {
        let document = try JSONValue.read(contentsOf: url)
        guard case .object(var members) = document, let include = members.removeValue(forKey: "include") else { return document }
        guard let path = include.stringValue, !path.isEmpty else {
            throw JAMError("expected the path of another config file, found \(include.shortDescription)",
                           file: url.relativePath, location: "$.include")
        }
        let included = URL(fileURLWithPath: path, relativeTo: url.absoluteURL.deletingLastPathComponent()).standardizedFileURL
        let chain = seen + [url.absoluteURL.standardizedFileURL]
        if chain.contains(included) {
            throw JAMError("includes \(included.path), which includes this file again "
                           + "(\((chain + [included]).map(\.lastPathComponent).joined(separator: " → ")))",
                           file: url.relativePath, location: "$.include")
        }
        guard FileManager.default.fileExists(atPath: included.path) else {
            throw JAMError("the included config \(included.path) does not exist (paths are relative to this file)",
                           file: url.relativePath, location: "$.include")
        }
        var profiles = try withIncludedProfiles(included, seen: chain)["profiles"]?.objectValue ?? [:]
        if let own = members["profiles"] {
            guard case .object(let ownProfiles) = own else { return .object(members) }  // the reader reports it
            profiles.merge(ownProfiles) { _, mine in mine }
        }
        members["profiles"] = .object(profiles)
        return .object(members)
    }

    /// Builds a config from an already parsed document; `file` is used in messages and
    /// `baseDirectory` resolves relative paths. Same rules as `load(from:profile:)`.
    public init(document: JSONValue, file: String, baseDirectory: URL, profile: String? = nil) throws {
        // The base first, with `profiles` counted as known so that a top-level typo lists it.
        let root = try JSONObjectReader(document, file: file)
        _ = root.contains("profiles")
        var base = root.members
        base["profiles"] = nil
        let baseConfig = try PipelineConfig(
            reader: root, effective: .object(base), file: file, baseDirectory: baseDirectory, profile: nil)

        // Then every profile, each merged over the base and validated as a whole.
        var names: [String] = []
        var chosen: PipelineConfig?
        if let p = root.members["profiles"] {
            let reader = try JSONObjectReader(p, file: file, path: JSONPath.root.appending("profiles"))
            names = reader.members.keys.sorted()
            for name in names {
                let body = reader.members[name]!
                _ = try JSONObjectReader(body, file: file, path: reader.path.appending(name))  // an object?
                let config = try PipelineConfig(
                    effective: JSONValue.object(base).merging(body), file: file, baseDirectory: baseDirectory,
                    profile: name, renderPath: PipelineConfig.pathRenderer(profile: name, body: body))
                if name == profile { chosen = config }
            }
        }

        guard let profile else {
            self = baseConfig
            availableProfiles = names
            return
        }
        let requested = try PipelineConfig.profileNames(profile, available: names, file: file)
        if requested.count == 1 {
            self = chosen!
        } else {
            // A composition: each profile was valid over the base alone; the merge is checked
            // as a whole, and an error points into the rightmost profile that set the value.
            let bodies = requested.map { (name: $0, body: root.members["profiles"]!.objectValue![$0]!) }
            let merged = bodies.reduce(JSONValue.object(base)) { $0.merging($1.body) }
            self = try PipelineConfig(
                effective: merged, file: file, baseDirectory: baseDirectory,
                profile: requested.joined(separator: ","),
                renderPath: PipelineConfig.pathRenderer(profiles: bodies))
        }
        availableProfiles = names
    }

    /// The names in a `--profile` value: one name, or several separated by commas, applied
    /// left to right. Each must be a profile of the file, and none may repeat.
    static func profileNames(_ value: String, available: [String], file: String) throws -> [String] {
        let requested = value.split(separator: ",", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces) }
        let listed = available.map { "\"\($0)\"" }.joined(separator: ", ")
        var seen: Set<String> = []
        for name in requested {
            guard !name.isEmpty else {
                throw JAMError(
                    "--profile \"\(value)\" has an empty name; separate profiles with single commas "
                        + "(e.g. --profile paper,early-fusion)", file: file)
            }
            guard available.contains(name) else {
                throw JAMError(
                    "no profile named \"\(name)\" ("
                        + (available.isEmpty ? "the file has no profiles" : "profiles: \(listed)") + ")",
                    file: file, location: available.isEmpty ? nil : "$.profiles")
            }
            guard seen.insert(name).inserted else {
                throw JAMError("--profile \"\(value)\" names \"\(name)\" twice", file: file)
            }
        }
        return requested
    }

    /// Validates an effective (merged, profile-free) document.
    private init(
        effective: JSONValue, file: String, baseDirectory: URL, profile: String?,
        renderPath: @escaping (JSONPath) -> String
    ) throws {
        let reader = try JSONObjectReader(effective, file: file, renderPath: renderPath)
        try self.init(reader: reader, effective: effective, file: file, baseDirectory: baseDirectory, profile: profile)
    }

    private init(
        reader root: JSONObjectReader, effective: JSONValue, file: String, baseDirectory: URL, profile: String?
    ) throws {
        self.file = file
        self.baseDirectory = baseDirectory
        self.profile = profile
        self.document = effective
        artifactsRootSetting = try root.string("artifacts_root", default: artifactsRootSetting)
        dataset = try DatasetSettings(reading: root.object(DatasetSettings.key))
        synth = try SynthSettings(reading: root.object(SynthSettings.key))
        decode = try DecodeSettings(reading: root.object(DecodeSettings.key))
        features = try FeaturesSettings(reading: root.object(FeaturesSettings.key))
        c3d = try C3DSettings(reading: root.object(C3DSettings.key))
        lstm = try LSTMSettings(reading: root.object(LSTMSettings.key))
        try root.finish()
    }

    /// Renders a path of the merged document as the place the user must edit: inside the
    /// profile's body when the value (or the replaced array/scalar holding it) came from there.
    private static func pathRenderer(profile: String, body: JSONValue) -> (JSONPath) -> String {
        pathRenderer(profiles: [(profile, body)])
    }

    /// The same for profiles applied left to right: the rightmost one that set the value wins.
    private static func pathRenderer(profiles: [(name: String, body: JSONValue)]) -> (JSONPath) -> String {
        return { path in
            for (name, body) in profiles.reversed() where PipelineConfig.sets(body, path) {
                return JSONPath(components: [.key("profiles"), .key(name)] + path.components).description
            }
            return path.description
        }
    }

    /// Whether a profile body supplies the value at `path`: it holds the path, or a non-object
    /// of the body replaced a whole subtree above it.
    private static func sets(_ body: JSONValue, _ path: JSONPath) -> Bool {
        var node: JSONValue? = body
        for (depth, component) in path.components.enumerated() {
            guard case .key(let key) = component, case .object(let members)? = node,
                  let next = members[key] else {
                return depth > 0 && node != nil && node?.objectValue == nil
            }
            node = next
        }
        return true
    }

    // MARK: - Resolved paths

    /// A path setting made absolute: absolute paths stay, `~/` is the home folder, anything else
    /// is relative to the config file's folder.
    public func resolve(_ path: String) -> URL {
        if path.hasPrefix("/") { return URL(fileURLWithPath: path).standardizedFileURL }
        if path == "~" || path.hasPrefix("~/") {
            let home = FileManager.default.homeDirectoryForCurrentUser
            return home.appendingPathComponent(String(path.dropFirst(2))).standardizedFileURL
        }
        return baseDirectory.appendingPathComponent(path).standardizedFileURL
    }

    /// Where all artifacts go: `artifacts_root`, resolved.
    public var artifactsRoot: URL { resolve(artifactsRootSetting) }

    /// The dataset folder: `dataset.root`, resolved.
    public var datasetRoot: URL { resolve(dataset.root) }

    /// The VGG16 weights file: `features.weights`, resolved; nil means He initialisation.
    public var weightsURL: URL? { features.weights.map(resolve) }

    /// Every setting with its effective value (defaults filled in), as a JSON object with the
    /// file's keys: for `--show-config` and for provenance records.
    public var effectiveSettings: JSONValue {
        ["artifacts_root": .string(artifactsRootSetting), DatasetSettings.key: dataset.json,
         SynthSettings.key: synth.json, DecodeSettings.key: decode.json, FeaturesSettings.key: features.json,
         C3DSettings.key: c3d.json, LSTMSettings.key: lstm.json]
    }
}
