// Tests: Tests/JAMArtifactsTests/HDF5DiagnosticsTests.swift (a failed call's cause: permission denied, no space left)
import CHDF5
import Foundation
import JAMCore

// HDF5 keeps, per thread, a stack of what went wrong in the last failed call; its own printing
// of that stack is off (`prepareHDF5`). Instead, a failure's cause is read from the stack here and
// attached to the thrown `HDF5Error`: the system's errno text where the file driver recorded one
// ("errno = 28, error message = 'No space left on device'"), else the innermost description.

/// The cause of the HDF5 call that just failed on this thread: the errno text the file driver
/// recorded (`system`), else the innermost description (`detail`); both nil when the stack is
/// empty. Call it right after the failing call: the next HDF5 call clears the stack.
func hdf5FailureCause() -> (system: String?, detail: String?) {
    final class Collected { var descriptions: [String] = [] }
    let collected = Collected()
    let walker: H5E_walk2_t = { _, entry, data in
        guard let entry, let data, let text = entry.pointee.desc else { return 0 }
        Unmanaged<Collected>.fromOpaque(data).takeUnretainedValue().descriptions.append(String(cString: text))
        return 0
    }
    // H5E_DEFAULT is `(hid_t)0`, the calling thread's current stack; walk from the innermost call out.
    _ = withExtendedLifetime(collected) {
        H5Ewalk2(hid_t(0), H5E_WALK_UPWARD, walker, Unmanaged.passUnretained(collected).toOpaque())
    }
    for description in collected.descriptions {
        if let code = errnoValue(in: description), code != 0 { return (SystemError.text(code), nil) }
    }
    return (nil, collected.descriptions.first)
}

/// The errno a file-driver message records (`…, errno = 28, error message = '…'`).
func errnoValue(in description: String) -> Int32? {
    guard let range = description.range(of: "errno = ") else { return nil }
    return Int32(description[range.upperBound...].prefix { $0.isNumber })
}

/// `message` with the cause of the HDF5 call that just failed: `"<message>: <errno text>"`, or
/// `"<message> (HDF5: <innermost description>)"`, or `message` alone when the stack is empty.
func withHDF5Cause(_ message: String) -> String {
    let cause = hdf5FailureCause()
    if let system = cause.system { return "\(message): \(system)" }
    if let detail = cause.detail { return "\(message) (HDF5: \(detail))" }
    return message
}
