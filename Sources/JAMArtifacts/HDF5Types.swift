// The element and storage types of the HDF5 layer (HDF5File.swift), and how datasets are laid out.
// Tests: Tests/JAMArtifactsTests/HDF5FileTests.swift (every element type, float16, chunking and deflate)
import CHDF5
import Foundation

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
func makeFileType(for storage: HDF5StorageType) -> hid_t {
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
    /// Deflate (gzip) level 0–9; 0 = no compression. Both filters ship with every HDF5 build,
    /// so any reader (h5py, h5dump, MATLAB) decompresses the data without plugins.
    public var deflate: Int
    /// The byte-shuffle filter in front of deflate (groups the bytes of each significance
    /// together, which suits floats); ignored without deflate.
    public var shuffle: Bool
    /// Names of the axes, comma-separated (`"T,H,W,C"`), written as the dataset's `axes`
    /// attribute so that a reader without the code knows what each extent means; nil writes none.
    public var axes: String?

    public init(storage: HDF5StorageType? = nil, chunk: [Int]? = nil, deflate: Int = 0, shuffle: Bool = true,
                axes: String? = nil) {
        (self.storage, self.chunk, self.deflate, self.shuffle, self.axes) = (storage, chunk, deflate, shuffle, axes)
    }

    /// Chunked as `chunk`, compressed as `compression`, with axis names `axes`.
    public init(storage: HDF5StorageType? = nil, chunk: [Int]?, compression: Compression, axes: String? = nil) {
        self.init(storage: storage, chunk: chunk, deflate: compression.deflate, shuffle: compression.shuffle, axes: axes)
    }

    /// Uncompressed, contiguous, with axis names `axes`.
    public static func axes(_ axes: String) -> DatasetOptions { DatasetOptions(axes: axes) }
}

/// Lossless compression of a chunked dataset: deflate at level `deflate` (1–9; 0 = none),
/// behind the byte-shuffle filter when `shuffle` is set.
public struct Compression: Sendable, Hashable, CustomStringConvertible {
    public var deflate: Int
    public var shuffle: Bool

    public init(deflate: Int, shuffle: Bool = false) {
        (self.deflate, self.shuffle) = (deflate, shuffle)
    }

    public static let none = Compression(deflate: 0)

    public var description: String {
        deflate == 0 ? "none" : (shuffle ? "shuffle + deflate \(deflate)" : "deflate \(deflate)")
    }
}

// MARK: - Layout of an existing dataset

extension HDF5Dataset {
    /// The chunk shape, or nil for contiguous (or compact) storage.
    public func chunkShape() throws -> [Int]? {
        let dcpl = H5Dget_create_plist(handle.id)
        guard dcpl >= 0 else { throw fail("cannot read creation properties") }
        defer { _ = H5Pclose(dcpl) }
        guard H5Pget_layout(dcpl) == H5D_CHUNKED else { return nil }
        var dims = [hsize_t](repeating: 0, count: 32)
        let rank = H5Pget_chunk(dcpl, Int32(dims.count), &dims)
        guard rank >= 0 else { throw fail("cannot read chunk shape") }
        return dims.prefix(Int(rank)).map { Int($0) }
    }

    /// The filter pipeline, in order, as `h5dump -p` names them: `"shuffle"`, `"deflate(4)"`, ….
    public func filters() throws -> [String] {
        let dcpl = H5Dget_create_plist(handle.id)
        guard dcpl >= 0 else { throw fail("cannot read creation properties") }
        defer { _ = H5Pclose(dcpl) }
        return (0..<max(0, H5Pget_nfilters(dcpl))).map { i in
            var flags: UInt32 = 0
            var count = 8
            var values = [UInt32](repeating: 0, count: count)
            var config: UInt32 = 0
            let filter = H5Pget_filter2(dcpl, UInt32(i), &flags, &count, &values, 0, nil, &config)
            switch filter {
            case H5Z_FILTER_SHUFFLE: return "shuffle"
            case H5Z_FILTER_DEFLATE: return "deflate(\(count > 0 ? values[0] : 0))"
            default: return "filter \(filter)"
            }
        }
    }
}
