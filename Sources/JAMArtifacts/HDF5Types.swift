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
    /// Deflate (gzip) level 0–9, with the byte-shuffle filter in front; 0 = no compression.
    public var deflate: Int

    public init(storage: HDF5StorageType? = nil, chunk: [Int]? = nil, deflate: Int = 0) {
        (self.storage, self.chunk, self.deflate) = (storage, chunk, deflate)
    }
}
