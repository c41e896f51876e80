import Foundation

/// Writing files so that a reader sees either the old file or the complete new one, never a
/// torn one, even after `kill -9` or a power cut: write to a temporary sibling
/// `<name>.tmp-<pid>-<random>` in the same folder, fsync it, rename it over `<name>`, fsync the
/// folder. A killed writer leaves at most a `*.tmp-*` file, which no reader mistakes for a result
/// (`isTemporaryName`) and which `removeStaleTemporaries(in:)` clears.
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

    /// A fresh temporary sibling of `url`: `<folder>/<name>.tmp-<pid>-<random hex>`.
    public static func temporaryURL(for url: URL) -> URL {
        let random = String(UInt64.random(in: 0...UInt64.max), radix: 16)
        return url.deletingLastPathComponent().appendingPathComponent(
            "\(url.lastPathComponent)\(temporaryMarker)\(getpid())-\(random)")
    }

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
    /// running. Returns the removed files. A temporary of a live process is left alone; one of
    /// a zombie (exited, not yet reaped) is removed (`SystemError.isRunning`).
    @discardableResult
    public static func removeStaleTemporaries(in folder: URL) -> [URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        var removed: [URL] = []
        for name in names {
            guard let range = name.range(of: temporaryMarker, options: .backwards) else { continue }
            let pidText = name[range.upperBound...].prefix { $0 != "-" }
            if let pid = Int32(pidText), pid == getpid() || SystemError.isRunning(pid: pid) { continue }
            let url = folder.appendingPathComponent(name)
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
