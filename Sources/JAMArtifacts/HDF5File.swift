import CHDF5
import Foundation

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

// MARK: - Element types

/// The storage types JAM writes. `float16` is IEEE half precision, stored as HDF5's custom
/// 16-bit float (what h5py writes for `<f2`), and read back as Float.
public enum HDF5StorageType: String, Sendable, CaseIterable {
    case uint8, int32, int64, float16, float32, float64
}

/// A Swift scalar that maps one-to-one onto an HDF5 native type.
public protocol HDF5Element: Sendable {
    static var storageType: HDF5StorageType { get }
    static func nativeType() -> hid_t
    init()
}

extension UInt8: HDF5Element {
    public static var storageType: HDF5StorageType { .uint8 }
    public static func nativeType() -> hid_t { jam_H5T_NATIVE_UINT8() }
}
extension Int32: HDF5Element {
    public static var storageType: HDF5StorageType { .int32 }
    public static func nativeType() -> hid_t { jam_H5T_NATIVE_INT32() }
}
extension Int64: HDF5Element {
    public static var storageType: HDF5StorageType { .int64 }
    public static func nativeType() -> hid_t { jam_H5T_NATIVE_INT64() }
}
extension Float: HDF5Element {
    public static var storageType: HDF5StorageType { .float32 }
    public static func nativeType() -> hid_t { jam_H5T_NATIVE_FLOAT() }
}
extension Double: HDF5Element {
    public static var storageType: HDF5StorageType { .float64 }
    public static func nativeType() -> hid_t { jam_H5T_NATIVE_DOUBLE() }
}

/// IEEE 754 binary16, little-endian: sign bit 15, exponent bits 10–14 (bias 15), mantissa 0–9.
/// HDF5 1.10 has no predefined half type; this is the definition h5py uses, so h5py and
/// `h5dump` read it as a 16-bit float.
func makeFloat16Type() -> hid_t {
    let t = H5Tcopy(jam_H5T_IEEE_F32LE())
    H5Tset_fields(t, 15, 10, 5, 0, 10)
    H5Tset_size(t, 2)
    H5Tset_ebias(t, 15)
    return t
}

/// A new datatype id for `storage`; the caller closes it with `H5Tclose`.
private func makeFileType(for storage: HDF5StorageType) -> hid_t {
    switch storage {
    case .uint8: return H5Tcopy(jam_H5T_NATIVE_UINT8())
    case .int32: return H5Tcopy(jam_H5T_NATIVE_INT32())
    case .int64: return H5Tcopy(jam_H5T_NATIVE_INT64())
    case .float16: return makeFloat16Type()
    case .float32: return H5Tcopy(jam_H5T_NATIVE_FLOAT())
    case .float64: return H5Tcopy(jam_H5T_NATIVE_DOUBLE())
    }
}

// MARK: - Dataset creation options

/// How a dataset is laid out on disk. Chunking is required for compression; chunks of whole
/// frames (`[1, H, W, C]`) keep `h5dump -d name[t]` and partial reads cheap.
public struct DatasetOptions: Sendable {
    /// Storage type on disk; `nil` keeps the element type. Only `.float16` differs from the
    /// element type in practice (Float data stored as half precision).
    public var storage: HDF5StorageType?
    /// Chunk shape; `nil` picks one leading-axis slice per chunk for rank ≥ 2, contiguous otherwise.
    public var chunk: [Int]?
    /// Deflate (gzip) level 0–9, with the byte-shuffle filter in front; 0 = no compression.
    public var deflate: Int

    public init(storage: HDF5StorageType? = nil, chunk: [Int]? = nil, deflate: Int = 0) {
        (self.storage, self.chunk, self.deflate) = (storage, chunk, deflate)
    }
}

// MARK: - Objects with attributes

/// A file's root group, a group or a dataset: anything that carries attributes.
public class HDF5Object: @unchecked Sendable {
    let handle: HDF5Handle
    /// The file this object belongs to, for error messages.
    public let filePath: String
    /// The object's path inside the file (`/`, `/pool4`, ...).
    public let objectPath: String

    init(handle: HDF5Handle, filePath: String, objectPath: String) {
        (self.handle, self.filePath, self.objectPath) = (handle, filePath, objectPath)
    }

    func fail(_ message: String) -> HDF5Error {
        HDF5Error(path: filePath, objectPath == "/" ? message : "\(objectPath): \(message)")
    }

    /// Names of the attributes on this object: in creation order where the file tracks it
    /// (JAM's files do), else by name.
    public func attributeNames() -> [String] {
        final class Names { var list: [String] = [] }
        let names = Names()
        let collect: H5A_operator2_t = { _, name, _, opData in
            guard let name, let opData else { return -1 }
            Unmanaged<Names>.fromOpaque(opData).takeUnretainedValue().list.append(String(cString: name))
            return 0
        }
        let opaque = Unmanaged.passUnretained(names).toOpaque()
        for order in [H5_INDEX_CRT_ORDER, H5_INDEX_NAME] {
            names.list = []
            var index: hsize_t = 0
            if H5Aiterate2(handle.id, order, H5_ITER_INC, &index, collect, opaque) >= 0 { break }
        }
        return names.list
    }

    public func hasAttribute(_ name: String) -> Bool {
        H5Aexists(handle.id, name) > 0
    }

    private func replaceAttribute(_ name: String) {
        if H5Aexists(handle.id, name) > 0 { H5Adelete(handle.id, name) }
    }

    /// Writes a fixed-length, NUL-terminated UTF-8 string attribute (what `h5dump -A` prints plainly).
    public func setAttribute(_ name: String, _ value: String) throws {
        replaceAttribute(name)
        let bytes = Array(value.utf8)
        let type = H5Tcopy(jam_H5T_C_S1())
        defer { _ = H5Tclose(type) }
        H5Tset_size(type, bytes.count + 1)
        H5Tset_strpad(type, H5T_STR_NULLTERM)
        H5Tset_cset(type, H5T_CSET_UTF8)
        let space = H5Screate(H5S_SCALAR)
        defer { _ = H5Sclose(space) }
        let attr = H5Acreate2(handle.id, name, type, space, jam_H5P_DEFAULT(), jam_H5P_DEFAULT())
        guard attr >= 0 else { throw fail("cannot create attribute \(name)") }
        defer { H5Aclose(attr) }
        var buffer = bytes.map { CChar(bitPattern: $0) } + [0]
        guard H5Awrite(attr, type, &buffer) >= 0 else { throw fail("cannot write attribute \(name)") }
    }

    /// Writes a 1-D array of fixed-length strings, NUL-padded to the longest (numpy's `S`
    /// dtype, as Keras stores `layer_names` and `weight_names`).
    public func setAttribute(_ name: String, strings: [String]) throws {
        replaceAttribute(name)
        let encoded = strings.map { Array($0.utf8) }
        let width = max(1, encoded.map(\.count).max() ?? 1)
        let type = H5Tcopy(jam_H5T_C_S1())
        defer { H5Tclose(type) }
        H5Tset_size(type, width)
        H5Tset_strpad(type, H5T_STR_NULLPAD)
        var dims = [hsize_t(strings.count)]
        let space = H5Screate_simple(1, &dims, nil)
        defer { H5Sclose(space) }
        let attr = H5Acreate2(handle.id, name, type, space, jam_H5P_DEFAULT(), jam_H5P_DEFAULT())
        guard attr >= 0 else { throw fail("cannot create attribute \(name)") }
        defer { H5Aclose(attr) }
        var buffer = [UInt8](repeating: 0, count: width * max(1, strings.count))
        for (i, bytes) in encoded.enumerated() { buffer.replaceSubrange((i * width)..<(i * width + bytes.count), with: bytes) }
        guard H5Awrite(attr, type, buffer) >= 0 else { throw fail("cannot write attribute \(name)") }
    }

    /// Writes a numeric attribute: a scalar when `values` has one element and `vector` is false,
    /// else a 1-D array.
    public func setAttribute<T: HDF5Element>(_ name: String, _ values: [T], vector: Bool = false) throws {
        replaceAttribute(name)
        var dims = [hsize_t(values.count)]
        let space = values.count == 1 && !vector ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &dims, nil)
        defer { H5Sclose(space) }
        let attr = H5Acreate2(handle.id, name, T.nativeType(), space, jam_H5P_DEFAULT(), jam_H5P_DEFAULT())
        guard attr >= 0 else { throw fail("cannot create attribute \(name)") }
        defer { H5Aclose(attr) }
        let status = values.withUnsafeBufferPointer { H5Awrite(attr, T.nativeType(), $0.baseAddress) }
        guard status >= 0 else { throw fail("cannot write attribute \(name)") }
    }

    public func setAttribute(_ name: String, _ value: Int) throws {
        try setAttribute(name, [Int64(value)])
    }

    public func setAttribute(_ name: String, _ value: Double) throws {
        try setAttribute(name, [value])
    }

    /// Reads a string attribute, fixed- or variable-length (Keras writes both kinds). Returns
    /// `nil` when the attribute does not exist; throws when it exists but is not a string.
    public func stringAttribute(_ name: String) throws -> String? {
        try stringArrayAttribute(name).map { $0.joined(separator: "\n") }
    }

    /// Reads a string or string-array attribute (Keras's `layer_names`, `weight_names`).
    public func stringArrayAttribute(_ name: String) throws -> [String]? {
        guard H5Aexists(handle.id, name) > 0 else { return nil }
        let attr = H5Aopen(handle.id, name, jam_H5P_DEFAULT())
        defer { _ = H5Aclose(attr) }
        guard attr >= 0 else { throw fail("cannot open attribute \(name)") }
        let type = H5Aget_type(attr)
        defer { _ = H5Tclose(type) }
        guard H5Tget_class(type) == H5T_STRING else {
            throw fail("attribute \(name) is not a string")
        }
        let space = H5Aget_space(attr)
        defer { _ = H5Sclose(space) }
        let count = max(1, Int(H5Sget_simple_extent_npoints(space)))
        if H5Tis_variable_str(type) > 0 {
            let memType = H5Tcopy(jam_H5T_C_S1())
            defer { _ = H5Tclose(memType) }
            H5Tset_size(memType, jam_H5T_VARIABLE())
            var pointers = [UnsafeMutablePointer<CChar>?](repeating: nil, count: count)
            guard H5Aread(attr, memType, &pointers) >= 0 else { throw fail("cannot read attribute \(name)") }
            defer { H5Dvlen_reclaim(memType, space, jam_H5P_DEFAULT(), &pointers) }
            return pointers.map { $0.map { String(cString: $0) } ?? "" }
        }
        let size = H5Tget_size(type)
        var buffer = [UInt8](repeating: 0, count: size * count + 1)
        guard H5Aread(attr, type, &buffer) >= 0 else { throw fail("cannot read attribute \(name)") }
        return (0..<count).map { i in
            let slice = buffer[(i * size)..<((i + 1) * size)]
            let end = slice.firstIndex(of: 0) ?? slice.endIndex
            return String(decoding: slice[slice.startIndex..<end], as: UTF8.self)
        }
    }

    /// Reads a numeric attribute as `T` (HDF5 converts between numeric types). `nil` when absent.
    public func numericAttribute<T: HDF5Element>(_ name: String, as: T.Type = T.self) throws -> [T]? {
        guard H5Aexists(handle.id, name) > 0 else { return nil }
        let attr = H5Aopen(handle.id, name, jam_H5P_DEFAULT())
        defer { _ = H5Aclose(attr) }
        guard attr >= 0 else { throw fail("cannot open attribute \(name)") }
        let type = H5Aget_type(attr)
        defer { _ = H5Tclose(type) }
        let cls = H5Tget_class(type)
        guard cls == H5T_INTEGER || cls == H5T_FLOAT else {
            throw fail("attribute \(name) is not numeric")
        }
        let space = H5Aget_space(attr)
        defer { _ = H5Sclose(space) }
        let count = max(1, Int(H5Sget_simple_extent_npoints(space)))
        var values = [T](repeating: T(), count: count)
        let status = values.withUnsafeMutableBufferPointer { H5Aread(attr, T.nativeType(), $0.baseAddress) }
        guard status >= 0 else { throw fail("cannot read attribute \(name)") }
        return values
    }

    /// A scalar integer attribute, or `nil` when absent.
    public func intAttribute(_ name: String) throws -> Int? {
        try numericAttribute(name, as: Int64.self).flatMap { $0.first.map(Int.init) }
    }

    /// A scalar floating-point attribute, or `nil` when absent.
    public func doubleAttribute(_ name: String) throws -> Double? {
        try numericAttribute(name, as: Double.self).flatMap { $0.first }
    }
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
                H5Pset_shuffle(dcpl)
                H5Pset_deflate(dcpl, UInt32(min(options.deflate, 9)))
            }
        }
        let type = makeFileType(for: storage)
        defer { H5Tclose(type) }
        let lcpl = makeLinkCreationList()
        defer { H5Pclose(lcpl) }
        let id = H5Dcreate2(handle.id, name, type, space, lcpl, dcpl, jam_H5P_DEFAULT())
        guard id >= 0 else { throw fail("cannot create dataset \(name) \(shape)") }
        return HDF5Dataset(
            handle: HDF5Handle(id, closer: H5Dclose), filePath: filePath, objectPath: childPath(name))
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
        let id = H5Fcreate(url.path, jam_H5F_ACC_TRUNC(), fcpl, jam_H5P_DEFAULT())
        guard id >= 0 else { throw HDF5Error(path: url.path, "cannot create HDF5 file") }
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
        guard H5Fis_hdf5(url.path) > 0 else {
            throw HDF5Error(path: url.path, "not an HDF5 file (no HDF5 signature)")
        }
        let id = H5Fopen(url.path, writable ? jam_H5F_ACC_RDWR() : jam_H5F_ACC_RDONLY(), jam_H5P_DEFAULT())
        guard id >= 0 else {
            throw HDF5Error(path: url.path, "HDF5 file cannot be opened (truncated or corrupt)")
        }
        return HDF5File(id: id, url: url)
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
