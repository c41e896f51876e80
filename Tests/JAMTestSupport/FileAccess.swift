import Foundation

/// Runs `body` on this thread without root's right to ignore file permissions, so that a
/// permission test means the same as root as for a user: as root, the thread's file-system user
/// becomes `nobody`. setfsuid acts on the calling thread only (Linux), and moving it away from 0
/// drops CAP_DAC_OVERRIDE for that thread alone, so tests running meanwhile keep their rights.
/// Not root: `body` runs as is.
public func withoutFileAccessPrivileges(_ body: () throws -> Void) throws {
    guard geteuid() == 0 else { return try body() }
    typealias SetFSUID = @convention(c) (UInt32) -> Int32
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "setfsuid") else {
        throw FileAccessError(description: "setfsuid not found: cannot test permissions as root")
    }
    let setfsuid = unsafeBitCast(symbol, to: SetFSUID.self)
    _ = setfsuid(65534)
    defer { _ = setfsuid(0) }
    try body()
}

public struct FileAccessError: Error, CustomStringConvertible {
    public var description: String
}
