import CHDF5
import Foundation
import JAMCore

// A small, owning Swift layer over the HDF5 C library: files, groups, N-dimensional numeric
// datasets (row-major, as HDF5 stores them) and scalar/string attributes. Every C handle belongs
// to a Swift object that closes it in `deinit`; every negative return code becomes a thrown
// `HDF5Error` that names the file.

/// An HDF5 call failed. `description` names the file, the object and what was being done.
public struct HDF5Error: Error, CustomStringConvertible, Sendable {
    public var path: String
    public var message: String
    public init(path: String, _ message: String) {
        self.path = path
        self.message = message
    }
    public var description: String { "\(path): \(message)" }
}

/// A Swift string from a C buffer that holds a NUL-terminated name.
func string(fromNulTerminated buffer: [CChar]) -> String {
    let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
    return String(decoding: bytes, as: UTF8.self)
}

/// HDF5's library state is process-global. Debian's libhdf5 is built thread-safe
/// (`H5_HAVE_THREADSAFE`: one library-wide lock), so stages may write artifacts from several
/// threads at once; the calls are serialised inside HDF5. Open it once and keep its own error printing quiet
/// (JAM reports failures through thrown errors instead).
private let hdf5Initialised: Bool = {
    // No library shutdown at exit: the OS reclaims everything, and HDF5's own shutdown pass
    // complains ("infinite loop closing library") about per-thread error stacks of worker threads.
    H5dont_atexit()
    H5open()
    return true
}()

/// Opens the library once, and silences its error printing on the calling thread: in a
/// thread-safe build the automatic error printing is a per-thread setting.
func prepareHDF5() {
    _ = hdf5Initialised
    jam_H5_silence_errors()
}

/// An open HDF5 identifier, closed exactly once when the owner goes away.
final class HDF5Handle: @unchecked Sendable {
    let id: hid_t
    private let closer: (hid_t) -> herr_t
    init(_ id: hid_t, closer: @escaping (hid_t) -> herr_t) {
        self.id = id
        self.closer = closer
    }
    deinit { _ = closer(id) }
}

// MARK: - Groups

/// A group: the file's root or a named group. Creates and opens datasets and subgroups by path
/// (`"branch0/cube"`); intermediate groups are created as needed.
public class HDF5Group: HDF5Object, @unchecked Sendable {
    /// A link-creation property list that creates missing intermediate groups; the caller
    /// closes it with `H5Pclose`.
    private func makeLinkCreationList() -> hid_t {
        let lcpl = H5Pcreate(jam_H5P_LINK_CREATE())
        H5Pset_create_intermediate_group(lcpl, 1)
        return lcpl
    }

    private func childPath(_ name: String) -> String {
        objectPath == "/" ? "/\(name)" : "\(objectPath)/\(name)"
    }

    /// Whether a link `name` (a dataset or group, possibly nested as `a/b`) exists.
    public func contains(_ name: String) -> Bool {
        var prefix = ""
        for part in name.split(separator: "/") {
            prefix += prefix.isEmpty ? String(part) : "/\(part)"
            if H5Lexists(handle.id, prefix, jam_H5P_DEFAULT()) <= 0 { return false }
        }
        return !prefix.isEmpty
    }

    /// Names of this group's direct members, sorted by name.
    public func memberNames() -> [String] {
        var info = H5G_info_t()
        guard H5Gget_info(handle.id, &info) >= 0 else { return [] }
        var names: [String] = []
        for i in 0..<info.nlinks {
            let size = H5Lget_name_by_idx(handle.id, ".", H5_INDEX_NAME, H5_ITER_INC, i, nil, 0, jam_H5P_DEFAULT())
            guard size >= 0 else { continue }
            var buf = [CChar](repeating: 0, count: Int(size) + 1)
            H5Lget_name_by_idx(handle.id, ".", H5_INDEX_NAME, H5_ITER_INC, i, &buf, buf.count, jam_H5P_DEFAULT())
            names.append(string(fromNulTerminated: buf))
        }
        return names
    }

    /// Creates a (possibly nested) group.
    @discardableResult
    public func createGroup(_ name: String) throws -> HDF5Group {
        let gcpl = H5Pcreate(jam_H5P_GROUP_CREATE())
        defer { _ = H5Pclose(gcpl) }
        H5Pset_obj_track_times(gcpl, false)
        H5Pset_attr_creation_order(gcpl, UInt32(H5P_CRT_ORDER_TRACKED))
        let lcpl = makeLinkCreationList()
        defer { H5Pclose(lcpl) }
        let id = H5Gcreate2(handle.id, name, lcpl, gcpl, jam_H5P_DEFAULT())
        guard id >= 0 else { throw fail("cannot create group \(name)") }
        return HDF5Group(handle: HDF5Handle(id, closer: H5Gclose), filePath: filePath, objectPath: childPath(name))
    }

    public func openGroup(_ name: String) throws -> HDF5Group {
        guard contains(name) else { throw fail("has no group \(name)") }
        let id = H5Gopen2(handle.id, name, jam_H5P_DEFAULT())
        guard id >= 0 else { throw fail("\(name) is not a group") }
        return HDF5Group(handle: HDF5Handle(id, closer: H5Gclose), filePath: filePath, objectPath: childPath(name))
    }

    /// Writes `data` (row-major, `shape`) as a new dataset.
    @discardableResult
    public func write<T: HDF5Element>(
        _ name: String, _ data: [T], shape: [Int], options: DatasetOptions = DatasetOptions()
    ) throws -> HDF5Dataset {
        try data.withUnsafeBufferPointer { try write(name, buffer: $0, shape: shape, options: options) }
    }

    /// Writes a buffer (row-major, `shape`) as a new dataset.
    @discardableResult
    public func write<T: HDF5Element>(
        _ name: String, buffer: UnsafeBufferPointer<T>, shape: [Int], options: DatasetOptions = DatasetOptions()
    ) throws -> HDF5Dataset {
        let dataset = try createDataset(name, of: T.self, shape: shape, options: options)
        try dataset.write(buffer: buffer, at: Array(repeating: 0, count: shape.count), shape: shape)
        return dataset
    }

    /// Creates a dataset of `shape` to be filled slice by slice with `HDF5Dataset.write(_:at:shape:)`.
    public func createDataset<T: HDF5Element>(
        _ name: String, of: T.Type, shape: [Int], options: DatasetOptions = DatasetOptions()
    ) throws -> HDF5Dataset {
        let count = shape.reduce(1, *)
        guard shape.allSatisfy({ $0 >= 0 }) else { throw fail("dataset \(name): negative extent in \(shape)") }
        let storage = options.storage ?? T.storageType
        if storage == .float16 && T.self != Float.self {
            throw fail("dataset \(name): float16 storage takes Float data")
        }
        var dims = shape.map { hsize_t($0) }
        let space = H5Screate_simple(Int32(shape.count), &dims, nil)
        defer { _ = H5Sclose(space) }
        let dcpl = H5Pcreate(jam_H5P_DATASET_CREATE())
        defer { _ = H5Pclose(dcpl) }
        H5Pset_obj_track_times(dcpl, false)  // no timestamps: identical inputs give identical files
        H5Pset_attr_creation_order(dcpl, UInt32(H5P_CRT_ORDER_TRACKED))
        let chunk = options.chunk ?? (shape.count >= 2 && options.deflate > 0 ? [1] + shape.dropFirst() : nil)
        if let chunk, count > 0 {
            guard chunk.count == shape.count, zip(chunk, shape).allSatisfy({ $0 >= 1 && $0 <= max($1, 1) }) else {
                throw fail("dataset \(name): chunk \(chunk) does not fit shape \(shape)")
            }
            var cdims = chunk.map { hsize_t($0) }
            H5Pset_chunk(dcpl, Int32(chunk.count), &cdims)
            if options.deflate > 0 {
                if options.shuffle { H5Pset_shuffle(dcpl) }
                H5Pset_deflate(dcpl, UInt32(min(options.deflate, 9)))
            }
        }
        let type = makeFileType(for: storage)
        defer { H5Tclose(type) }
        let lcpl = makeLinkCreationList()
        defer { H5Pclose(lcpl) }
        let id = H5Dcreate2(handle.id, name, type, space, lcpl, dcpl, jam_H5P_DEFAULT())
        guard id >= 0 else { throw fail("cannot create dataset \(name) \(shape)") }
        let dataset = HDF5Dataset(handle: HDF5Handle(id, closer: H5Dclose), filePath: filePath, objectPath: childPath(name))
        if let axes = options.axes {
            guard axes.split(separator: ",", omittingEmptySubsequences: false).count == shape.count else {
                throw fail("dataset \(name): axes \"\(axes)\" do not name the \(shape.count) axes of \(shape)")
            }
            try dataset.setAttribute("axes", axes)
        }
        return dataset
    }

    public func openDataset(_ name: String) throws -> HDF5Dataset {
        guard contains(name) else { throw fail("has no dataset \(name)") }
        let id = H5Dopen2(handle.id, name, jam_H5P_DEFAULT())
        guard id >= 0 else { throw fail("\(name) is not a dataset") }
        return HDF5Dataset(handle: HDF5Handle(id, closer: H5Dclose), filePath: filePath, objectPath: childPath(name))
    }

    /// Reads a whole dataset as `T` (float16 storage is widened to Float).
    public func read<T: HDF5Element>(_ name: String, as: T.Type = T.self) throws -> (data: [T], shape: [Int]) {
        let dataset = try openDataset(name)
        let shape = try dataset.shape()
        return (try dataset.read(as: T.self), shape)
    }
}

// MARK: - Files

/// An open HDF5 file; also its root group (`/`).
public final class HDF5File: HDF5Group, @unchecked Sendable {
    public let url: URL

    private init(id: hid_t, url: URL) {
        self.url = url
        super.init(handle: HDF5Handle(id, closer: H5Fclose), filePath: url.path, objectPath: "/")
    }

    /// Creates (or truncates) a file for writing.
    public static func create(at url: URL) throws -> HDF5File {
        prepareHDF5()
        let fcpl = H5Pcreate(jam_H5P_FILE_CREATE())
        defer { _ = H5Pclose(fcpl) }
        H5Pset_attr_creation_order(fcpl, UInt32(H5P_CRT_ORDER_TRACKED))
        // The root group's object header would otherwise carry its creation times: with them
        // off (as for every group and dataset), identical content gives identical bytes.
        H5Pset_obj_track_times(fcpl, false)
        let id = H5Fcreate(url.path, jam_H5F_ACC_TRUNC(), fcpl, jam_H5P_DEFAULT())
        guard id >= 0 else { throw HDF5Error(path: url.path, withHDF5Cause("cannot create HDF5 file")) }
        closeOnExec(id)
        return HDF5File(id: id, url: url)
    }

    /// Opens an existing file. A missing, empty, truncated or non-HDF5 file throws an error
    /// that says which.
    public static func open(at url: URL, writable: Bool = false) throws -> HDF5File {
        prepareHDF5()
        let fm = FileManager.default
        guard fm.fileExists(atPath: url.path) else { throw HDF5Error(path: url.path, "no such file") }
        let size = (try? fm.attributesOfItem(atPath: url.path)[.size] as? Int) ?? 0
        guard size > 0 else { throw HDF5Error(path: url.path, "file is empty (zero bytes)") }
        // HDF5 reports a file it may not read as "not HDF5": ask the system first.
        let fd = Foundation.open(url.path, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC)
        guard fd >= 0 else { throw HDF5Error(path: url.path, "cannot open it: \(SystemError.text(errno))") }
        close(fd)
        guard H5Fis_hdf5(url.path) > 0 else {
            throw HDF5Error(path: url.path, "not an HDF5 file (no HDF5 signature)")
        }
        let id = H5Fopen(url.path, writable ? jam_H5F_ACC_RDWR() : jam_H5F_ACC_RDONLY(), jam_H5P_DEFAULT())
        guard id >= 0 else {
            throw HDF5Error(path: url.path, withHDF5Cause("HDF5 file cannot be opened (truncated or corrupt)"))
        }
        closeOnExec(id)
        return HDF5File(id: id, url: url)
    }

    /// Marks the open file's descriptor close-on-exec. HDF5 opens files without `O_CLOEXEC`, so a
    /// program this process starts while a file is open (a test's subprocess, `mpirun`) would
    /// keep the descriptor, and HDF5's lock on the file, for as long as it runs: opening the file
    /// again then failed with "resource temporarily unavailable".
    private static func closeOnExec(_ id: hid_t) {
        guard let fd = descriptor(id) else { return }
        let flags = fcntl(fd, F_GETFD)
        if flags >= 0 { _ = fcntl(fd, F_SETFD, flags | FD_CLOEXEC) }
    }

    /// The file's descriptor flags (`FD_CLOEXEC`), for tests; nil when HDF5 gives no descriptor.
    public var descriptorFlags: Int32? {
        guard let fd = Self.descriptor(handle.id) else { return nil }
        let flags = fcntl(fd, F_GETFD)
        return flags >= 0 ? flags : nil
    }

    /// The descriptor of open file `id`: the default (sec2) driver's handle; nil when HDF5 gives none.
    private static func descriptor(_ id: hid_t) -> Int32? {
        var handle: UnsafeMutableRawPointer?
        guard H5Fget_vfd_handle(id, jam_H5P_DEFAULT(), &handle) >= 0, let handle else { return nil }
        return handle.load(as: Int32.self)
    }

    /// Writes everything buffered to disk.
    public func flush() throws {
        guard H5Fflush(handle.id, H5F_SCOPE_GLOBAL) >= 0 else { throw fail("cannot flush") }
    }
}

// MARK: - Datasets

/// A dataset: an N-dimensional, row-major numeric array.
public final class HDF5Dataset: HDF5Object, @unchecked Sendable {
    public func shape() throws -> [Int] {
        let space = H5Dget_space(handle.id)
        defer { _ = H5Sclose(space) }
        let rank = Int(H5Sget_simple_extent_ndims(space))
        guard rank >= 0 else { throw fail("cannot read shape") }
        var dims = [hsize_t](repeating: 0, count: rank)
        H5Sget_simple_extent_dims(space, &dims, nil)
        return dims.map { Int($0) }
    }

    /// The type stored on disk.
    public func storageType() throws -> HDF5StorageType {
        let type = H5Dget_type(handle.id)
        defer { _ = H5Tclose(type) }
        let size = H5Tget_size(type)
        switch H5Tget_class(type) {
        case H5T_INTEGER:
            let signed = H5Tget_sign(type) == H5T_SGN_2
            switch (size, signed) {
            case (1, false): return .uint8
            case (4, true): return .int32
            case (8, true): return .int64
            default: throw fail("unsupported integer type (\(size) bytes, signed: \(signed))")
            }
        case H5T_FLOAT:
            switch size {
            case 2: return .float16
            case 4: return .float32
            case 8: return .float64
            default: throw fail("unsupported float type (\(size) bytes)")
            }
        default:
            throw fail("not a numeric dataset")
        }
    }

    /// Reads the whole dataset, converted to `T`. Float16 data is widened to Float in Swift.
    public func read<T: HDF5Element>(as: T.Type = T.self) throws -> [T] {
        let count = try shape().reduce(1, *)
        var values = [T](repeating: T(), count: count)
        try values.withUnsafeMutableBufferPointer { try read(into: $0, at: nil, shape: nil) }
        return values
    }

    /// Reads the hyperslab starting at `start` with extent `shape` (the whole dataset when both
    /// are nil) into `buffer`, which must hold exactly that many elements.
    public func read<T: HDF5Element>(
        into buffer: UnsafeMutableBufferPointer<T>, at start: [Int]?, shape sliceShape: [Int]?
    ) throws {
        let full = try shape()
        let extent = sliceShape ?? full
        guard buffer.count == extent.reduce(1, *) else {
            throw fail("read buffer holds \(buffer.count) elements, slice \(extent) needs \(extent.reduce(1, *))")
        }
        guard buffer.count > 0 else { return }
        let (memSpace, fileSpace) = try makeSelection(
            start: start ?? Array(repeating: 0, count: full.count), extent: extent, full: full)
        defer { H5Sclose(memSpace); H5Sclose(fileSpace) }
        if try storageType() == .float16 && T.self == Float.self {
            // Read the raw halves and widen them here, so the result does not depend on HDF5's
            // soft-conversion rounding.
            let half = makeFloat16Type()
            defer { _ = H5Tclose(half) }
            var raw = [Float16](repeating: 0, count: buffer.count)
            guard H5Dread(handle.id, half, memSpace, fileSpace, jam_H5P_DEFAULT(), &raw) >= 0 else {
                throw fail("cannot read data (file truncated or corrupt?)")
            }
            let out = UnsafeMutableRawPointer(buffer.baseAddress!).assumingMemoryBound(to: Float.self)
            for i in 0..<raw.count { out[i] = Float(raw[i]) }
            return
        }
        guard H5Dread(handle.id, T.nativeType(), memSpace, fileSpace, jam_H5P_DEFAULT(), buffer.baseAddress) >= 0 else {
            throw fail("cannot read data (file truncated or corrupt?)")
        }
    }

    /// Writes `buffer` into the hyperslab starting at `start` with extent `shape`.
    public func write<T: HDF5Element>(buffer: UnsafeBufferPointer<T>, at start: [Int], shape sliceShape: [Int]) throws {
        let full = try shape()
        guard buffer.count == sliceShape.reduce(1, *) else {
            throw fail("write buffer holds \(buffer.count) elements, slice \(sliceShape) needs \(sliceShape.reduce(1, *))")
        }
        guard buffer.count > 0 else { return }
        let (memSpace, fileSpace) = try makeSelection(start: start, extent: sliceShape, full: full)
        defer { H5Sclose(memSpace); H5Sclose(fileSpace) }
        if try storageType() == .float16 {
            guard T.self == Float.self else { throw fail("float16 storage takes Float data") }
            let half = makeFloat16Type()
            defer { _ = H5Tclose(half) }
            let floats = UnsafeRawPointer(buffer.baseAddress!).assumingMemoryBound(to: Float.self)
            // Round to nearest even here rather than through HDF5's soft conversion.
            let raw = (0..<buffer.count).map { Float16(floats[$0]) }
            guard H5Dwrite(handle.id, half, memSpace, fileSpace, jam_H5P_DEFAULT(), raw) >= 0 else {
                throw fail("cannot write data")
            }
            return
        }
        guard H5Dwrite(handle.id, T.nativeType(), memSpace, fileSpace, jam_H5P_DEFAULT(), buffer.baseAddress) >= 0 else {
            throw fail("cannot write data")
        }
    }

    /// Memory and file dataspaces for a hyperslab; the caller closes both with `H5Sclose`.
    private func makeSelection(start: [Int], extent: [Int], full: [Int]) throws -> (hid_t, hid_t) {
        guard start.count == full.count, extent.count == full.count,
              zip(zip(start, extent), full).allSatisfy({ $0.0 >= 0 && $0.1 >= 0 && $0.0 + $0.1 <= $1 })
        else { throw fail("slice at \(start) of extent \(extent) lies outside shape \(full)") }
        var dims = extent.map { hsize_t($0) }
        let memSpace = H5Screate_simple(Int32(dims.count), &dims, nil)
        let fileSpace = H5Dget_space(handle.id)
        var offset = start.map { hsize_t($0) }
        guard H5Sselect_hyperslab(fileSpace, H5S_SELECT_SET, &offset, nil, &dims, nil) >= 0 else {
            H5Sclose(memSpace)
            H5Sclose(fileSpace)
            throw fail("cannot select slice \(start) + \(extent)")
        }
        return (memSpace, fileSpace)
    }
}
