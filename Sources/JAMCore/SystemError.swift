// Tests: Tests/JAMCoreTests/SystemErrorTests.swift (errno texts, folders that cannot be made, zombie writers, free space)
import Foundation

/// The operating system's side of a failure, in words a user can act on: errno texts
/// ("no space left on device", "permission denied", "read-only file system"), folders created
/// with the reason they could not be, free space, and whether a writer process still runs.
/// Foundation's own errors (`Error Domain=NSCocoaErrorDomain Code=513 …`) never reach the user:
/// `SystemError.reason(of:)` turns them into the errno text underneath.
public enum SystemError {
    /// `strerror(code)` with a lower-case first letter, to sit inside a sentence.
    public static func text(_ code: Int32) -> String {
        let raw = String(cString: strerror(code))
        guard let first = raw.first else { return "errno \(code)" }
        // Keep "I/O error" and the like as they are; lower only a capitalised word.
        let second = raw.dropFirst().first
        if second.map({ $0.isLowercase }) ?? true { return first.lowercased() + raw.dropFirst() }
        return raw
    }

    /// The errno behind a Foundation or POSIX error, when there is one.
    public static func errnoCode(of error: Error) -> Int32? {
        let ns = error as NSError
        if ns.domain == NSPOSIXErrorDomain { return Int32(ns.code) }
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return Int32(underlying.code)
        }
        if ns.domain == NSCocoaErrorDomain {
            switch CocoaError.Code(rawValue: ns.code) {
            case .fileWriteNoPermission, .fileReadNoPermission: return EACCES
            case .fileWriteOutOfSpace: return ENOSPC
            case .fileWriteVolumeReadOnly: return EROFS
            case .fileNoSuchFile, .fileReadNoSuchFile: return ENOENT
            case .fileWriteFileExists: return EEXIST
            default: return nil
            }
        }
        return nil
    }

    /// A short reason for `error`: the errno text when the error carries one, its own description
    /// when it is one of JAM's, else a generic phrase (never Foundation's raw `Error Domain=…`).
    public static func reason(of error: Error) -> String {
        if let code = errnoCode(of: error) { return text(code) }
        let described = String(describing: error)
        if !(type(of: error) is NSError.Type) && !(error is CocoaError) && !described.contains("Error Domain=") {
            return described
        }
        let ns = error as NSError
        return "\(ns.domain) error \(ns.code)"
    }

    /// Creates `folder` and any missing parents. On failure throws a `JAMError` naming the
    /// folder that could not be made and the errno text ("permission denied", "read-only file
    /// system", "not a directory"); `purpose` says what the folder is for ("the frames folder").
    public static func createFolder(_ folder: URL, purpose: String? = nil) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory), isDirectory.boolValue { return }
        // Walk down from the deepest existing ancestor, so the message names the exact folder.
        var missing: [URL] = []
        var probe = folder.standardizedFileURL
        while !FileManager.default.fileExists(atPath: probe.path) && probe.path != "/" {
            missing.append(probe)
            probe = probe.deletingLastPathComponent()
        }
        if !FileManager.default.fileExists(atPath: probe.path, isDirectory: &isDirectory) || !isDirectory.boolValue {
            throw folderError(folder, purpose: purpose, failed: probe, code: ENOTDIR)
        }
        for url in missing.reversed() where mkdir(url.path, 0o755) != 0 && errno != EEXIST {
            throw folderError(folder, purpose: purpose, failed: url, code: errno)
        }
    }

    private static func folderError(_ folder: URL, purpose: String?, failed: URL, code: Int32) -> JAMError {
        let what = purpose.map { " (\($0))" } ?? ""
        let parent = failed.deletingLastPathComponent().path
        var message = "cannot create folder\(what): \(text(code))"
        if failed.standardizedFileURL != folder.standardizedFileURL { message += " (at \(failed.path))" }
        switch code {
        case EACCES, EPERM: message += "; make \(parent) writable for this user, or choose another artifacts_root"
        case EROFS: message += "; \(parent) is on a read-only file system: choose another artifacts_root"
        case ENOSPC: message += "; free space on the disk holding \(parent)"
        case ENOTDIR: message += "; \(failed.path) is a file, not a folder: move it away"
        default: break
        }
        return JAMError(message, file: folder.path)
    }

    /// Bytes free for this user on the file system holding `url` (its nearest existing ancestor).
    public static func freeBytes(at url: URL) -> Int64? {
        var probe = url.standardizedFileURL
        while !FileManager.default.fileExists(atPath: probe.path) && probe.path != "/" { probe = probe.deletingLastPathComponent() }
        var info = statvfs()
        guard statvfs(probe.path, &info) == 0 else { return nil }
        return Int64(info.f_bavail) * Int64(info.f_frsize)
    }

    /// A byte count for messages: "12.3 MB".
    public static func byteText(_ bytes: Int64) -> String {
        let units = ["bytes", "kB", "MB", "GB", "TB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1000 && unit < units.count - 1 {
            value /= 1000
            unit += 1
        }
        return unit == 0 ? "\(bytes) bytes" : String(format: "%.1f", value) + " " + units[unit]
    }

    /// Whether process `pid` is still running. `kill(pid, 0)` succeeds on a zombie (a process
    /// that has exited but was not yet reaped by its parent), so its state in `/proc/<pid>/stat`
    /// is read too: `Z` (zombie) and `X` (dead) count as not running.
    public static func isRunning(pid: Int32) -> Bool {
        guard pid > 0 else { return false }
        if kill(pid, 0) != 0 && errno != EPERM { return false }
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else {
            // No /proc (not Linux): trust kill(2).
            return FileManager.default.fileExists(atPath: "/proc/self/stat") ? false : true
        }
        // "pid (comm) S …": the command may hold spaces and parentheses; the state follows the last ')'.
        guard let close = stat.lastIndex(of: ")") else { return true }
        let state = stat[stat.index(after: close)...].drop { $0 == " " }.first
        return state != "Z" && state != "X"
    }
}
