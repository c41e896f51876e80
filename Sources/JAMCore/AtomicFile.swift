import Foundation

/// Writing files so that a reader sees either the old file or the complete new one, never a
/// torn one, even after `kill -9` or a power cut: write to a temporary sibling
/// `<name>.tmp-<host>-<pid>-<random>` in the same folder, fsync it, rename it over `<name>`, fsync
/// the folder. A killed writer leaves at most a `*.tmp-*` file, which no reader mistakes for a
/// result (`isTemporaryName`) and which `removeStaleTemporaries(in:)` clears.
///
/// The host is in the name because a folder may be shared by several machines (NFS, Lustre):
/// a pid says whether a writer is alive only on its own host (`hostName`).
///
/// For large artifacts written by a library (HDF5), use `temporaryURL(for:)` for the path to
/// write and `commit(temporary:to:)` to publish it.
public enum AtomicFile {
    /// The marker between a file's name and the writer's pid and random suffix.
    public static let temporaryMarker = ".tmp-"

    /// Writes `data` to `url` atomically (see the type's doc). Creates missing parent folders.
    /// Throws a `JAMError` naming `url` on failure, leaving no temporary file behind.
    public static func write(_ data: Data, to url: URL) throws {
        try SystemError.createFolder(url.deletingLastPathComponent())
        let temporary = temporaryURL(for: url)
        let fd = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw failure("cannot write it (creating its temporary \(temporary.lastPathComponent) failed)", url) }
        var ok = false
        defer {
            if !ok { unlink(temporary.path) }
        }
        do {
            defer { close(fd) }
            try data.withUnsafeBytes { (buffer: UnsafeRawBufferPointer) in
                var offset = 0
                while offset < buffer.count {
                    let n = Foundation.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                    if n < 0 {
                        if errno == EINTR { continue }
                        throw failure("cannot write it", url)
                    }
                    offset += n
                }
            }
            guard fsync(fd) == 0 else { throw failure("fsync failed", url) }
        }
        try commit(temporary: temporary, to: url)
        ok = true
    }

    /// Writes a string as UTF-8, atomically.
    public static func write(_ text: String, to url: URL) throws {
        try write(Data(text.utf8), to: url)
    }

    /// Writes a JSON value in its readable form (`JSONValue.prettyString`), atomically.
    public static func write(_ json: JSONValue, to url: URL) throws {
        try write(Data(json.prettyString.utf8), to: url)
    }

    /// A fresh temporary sibling of `url`: `<folder>/<name>.tmp-<host>-<pid>-<random hex>`
    /// (`hostName`: letters, digits and `_` only, so the three parts split at `-`).
    public static func temporaryURL(for url: URL) -> URL {
        let random = String(UInt64.random(in: 0...UInt64.max), radix: 16)
        return url.deletingLastPathComponent().appendingPathComponent(
            "\(url.lastPathComponent)\(temporaryMarker)\(hostName)-\(getpid())-\(random)")
    }

    /// This machine's name as temporaries carry it: `JAM_HOST` when set (to simulate several
    /// hosts on one machine in tests), else the first label of `gethostname`; every character
    /// but ASCII letters, digits and `_` becomes `_`, so the name holds no `-` or `.`.
    public static var hostName: String {
        if let forced = ProcessInfo.processInfo.environment["JAM_HOST"], !forced.isEmpty { return sanitizedHost(forced) }
        return systemHostName
    }

    private static let systemHostName: String = {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        let name = String(decoding: bytes, as: UTF8.self).split(separator: ".").first.map(String.init) ?? ""
        return name.isEmpty ? "localhost" : sanitizedHost(name)
    }()

    /// `name` with every character but ASCII letters, digits and `_` replaced by `_`.
    public static func sanitizedHost(_ name: String) -> String {
        String(name.unicodeScalars.map { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_")
            ? Character($0) : "_" })
    }

    /// The writer a temporary's name records: its host (nil for the older `<name>.tmp-<pid>-<random>`,
    /// written before names carried the host) and pid; nil when the name is no temporary or
    /// does not parse.
    public static func writer(ofTemporary name: String) -> (host: String?, pid: Int32)? {
        guard let range = name.range(of: temporaryMarker, options: .backwards) else { return nil }
        let parts = name[range.upperBound...].split(separator: "-", omittingEmptySubsequences: false)
        switch parts.count {
        case 2: return Int32(parts[0]).map { (nil, $0) }
        case 3: return parts[0].isEmpty ? nil : Int32(parts[1]).map { (String(parts[0]), $0) }
        default: return nil
        }
    }

    /// How old (by modification time) another host's temporary must be before this host's
    /// sweep removes it: 24 hours. A writer on another machine cannot be asked whether it is
    /// alive; no artifact takes a day to write, so one untouched for a day is taken as dead.
    public static let foreignTemporaryMaximumAge: TimeInterval = 24 * 3600

    /// Publishes a finished temporary file: fsyncs it, renames it over `url`, and fsyncs the
    /// folder so that the rename itself survives a crash.
    public static func commit(temporary: URL, to url: URL) throws {
        let fd = open(temporary.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw failure("cannot open \(temporary.lastPathComponent)", url) }
        let synced = fsync(fd) == 0
        close(fd)
        guard synced else { throw failure("cannot write it (fsync failed)", url) }
        guard rename(temporary.path, url.path) == 0 else { throw failure("cannot publish it (rename failed)", url) }
        let dir = open(url.deletingLastPathComponent().path, O_RDONLY | O_CLOEXEC)
        if dir >= 0 {
            _ = fsync(dir)  // best effort: some file systems refuse fsync on a folder
            close(dir)
        }
    }

    /// Whether a file name is one of this writer's temporaries (`x.h5.tmp-1234-9f3a`).
    public static func isTemporaryName(_ name: String) -> Bool {
        name.contains(temporaryMarker)
    }

    /// Deletes temporaries left in `folder` (not recursively) by writers that are no longer
    /// running, and returns them. Safe while other processes, on this host or others, write in
    /// the same folder:
    /// - this host's temporary (and one in the older name without a host) is removed when its
    ///   pid is not a running process (`SystemError.isRunning`; a zombie counts as dead) and is
    ///   not this process;
    /// - another host's temporary, or a name that does not parse, is removed only when its
    ///   modification time is more than `foreignTemporaryMaximumAge` (24 h) ago.
    @discardableResult
    public static func removeStaleTemporaries(in folder: URL, now: Date = Date()) -> [URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        let host = hostName
        var removed: [URL] = []
        for name in names where isTemporaryName(name) {
            let url = folder.appendingPathComponent(name)
            if let writer = writer(ofTemporary: name), writer.host == nil || writer.host == host {
                if writer.pid == getpid() || SystemError.isRunning(pid: writer.pid) { continue }
            } else {
                guard let modified = (try? FileManager.default.attributesOfItem(atPath: url.path))?[.modificationDate] as? Date,
                      now.timeIntervalSince(modified) > foreignTemporaryMaximumAge else { continue }
            }
            if (try? FileManager.default.removeItem(at: url)) != nil { removed.append(url) }
        }
        return removed
    }

    /// `"<what>: <errno text>"` about the final file `url` (never its temporary: the user acts on `url`).
    private static func failure(_ what: String, _ url: URL) -> JAMError {
        let code = errno
        var message = "\(what): \(SystemError.text(code))"
        switch code {
        case ENOSPC, EDQUOT: message += "; free space on that disk (it needs at least the file's size again for the temporary)"
        case EACCES, EPERM: message += "; make \(url.deletingLastPathComponent().path) writable for this user"
        case EROFS: message += "; the folder is on a read-only file system: choose another artifacts_root"
        default: break
        }
        return JAMError(message, file: url.path)
    }
}
