// Attributes, the part of the HDF5 layer (HDF5File.swift) that files, groups and datasets share.
// Tests: Tests/JAMArtifactsTests/HDF5FileTests.swift (attributes of every type, errors)
import CHDF5
import Foundation

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

    /// An error about this object, with the cause HDF5 recorded for the call that just failed
    /// (`withHDF5Cause`: "no space left on device" and the like).
    func fail(_ message: String) -> HDF5Error {
        HDF5Error(path: filePath, withHDF5Cause(objectPath == "/" ? message : "\(objectPath): \(message)"))
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

    /// Writes a scalar string attribute: variable-length UTF-8 (`H5T_VARIABLE`, `H5T_CSET_UTF8`),
    /// which h5py returns as `str`; `fixedLength` writes the older fixed-length, NUL-terminated
    /// form (h5py returns `bytes`), which JAM's readers accept as well.
    public func setAttribute(_ name: String, _ value: String, fixedLength: Bool = false) throws {
        try writeStrings(name, [value], scalar: true, fixedLength: fixedLength)
    }

    /// Writes a 1-D array of strings: variable-length UTF-8 by default (h5py returns `str`s);
    /// `fixedLength` NUL-pads them to the longest (numpy's `S` dtype, as Keras stores
    /// `layer_names` and `weight_names`).
    public func setAttribute(_ name: String, strings: [String], fixedLength: Bool = false) throws {
        try writeStrings(name, strings, scalar: false, fixedLength: fixedLength)
    }

    private func writeStrings(_ name: String, _ strings: [String], scalar: Bool, fixedLength: Bool) throws {
        replaceAttribute(name)
        let encoded = strings.map { Array($0.utf8) }
        let type = H5Tcopy(jam_H5T_C_S1())
        defer { _ = H5Tclose(type) }
        // A scalar fixed-length string is NUL-terminated (size = bytes + 1), an array NUL-padded.
        let width = max(1, (encoded.map(\.count).max() ?? 0) + (scalar ? 1 : 0))
        H5Tset_size(type, fixedLength ? width : jam_H5T_VARIABLE())
        // numpy's `S` arrays are NUL-padded ASCII; everything else NUL-terminated UTF-8.
        H5Tset_strpad(type, fixedLength && !scalar ? H5T_STR_NULLPAD : H5T_STR_NULLTERM)
        H5Tset_cset(type, fixedLength && !scalar ? H5T_CSET_ASCII : H5T_CSET_UTF8)
        var dims = [hsize_t(strings.count)]
        let space = scalar ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &dims, nil)
        defer { _ = H5Sclose(space) }
        let attr = H5Acreate2(handle.id, name, type, space, jam_H5P_DEFAULT(), jam_H5P_DEFAULT())
        guard attr >= 0 else { throw fail("cannot create attribute \(name)") }
        defer { _ = H5Aclose(attr) }
        let status: herr_t
        if fixedLength {
            var buffer = [UInt8](repeating: 0, count: width * max(1, strings.count))
            for (i, bytes) in encoded.enumerated() { buffer.replaceSubrange((i * width)..<(i * width + bytes.count), with: bytes) }
            status = H5Awrite(attr, type, buffer)
        } else {
            // Variable-length strings are written as an array of C string pointers.
            let pointers = encoded.map { bytes -> UnsafeMutablePointer<CChar> in
                let p = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count + 1)
                for (i, b) in bytes.enumerated() { p[i] = CChar(bitPattern: b) }
                p[bytes.count] = 0
                return p
            }
            defer { pointers.forEach { $0.deallocate() } }
            var list: [UnsafePointer<CChar>?] = pointers.map { UnsafePointer($0) }
            status = H5Awrite(attr, type, &list)
        }
        guard status >= 0 else { throw fail("cannot write attribute \(name)") }
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
        try readAttribute(name, classes: [H5T_STRING], expected: "a string") { attr, type, space, count in
            if H5Tis_variable_str(type) > 0 {
                let memType = H5Tcopy(jam_H5T_C_S1())
                defer { _ = H5Tclose(memType) }
                H5Tset_size(memType, jam_H5T_VARIABLE())
                H5Tset_cset(memType, H5Tget_cset(type))  // HDF5 converts no character set into another
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
    }

    /// Reads a numeric attribute as `T` (HDF5 converts between numeric types). `nil` when absent.
    public func numericAttribute<T: HDF5Element>(_ name: String, as: T.Type = T.self) throws -> [T]? {
        try readAttribute(name, classes: [H5T_INTEGER, H5T_FLOAT], expected: "numeric") { attr, _, _, count in
            var values = [T](repeating: T(), count: count)
            let status = values.withUnsafeMutableBufferPointer { H5Aread(attr, T.nativeType(), $0.baseAddress) }
            guard status >= 0 else { throw fail("cannot read attribute \(name)") }
            return values
        }
    }

    /// Opens attribute `name` (`nil` when it does not exist), checks that its type is of one of
    /// `classes` (else the error says it is not `expected`), and runs `body` with the open
    /// attribute, its type, its dataspace and its element count (1 for a scalar).
    private func readAttribute<R>(
        _ name: String, classes: [H5T_class_t], expected: String,
        _ body: (_ attribute: hid_t, _ type: hid_t, _ space: hid_t, _ count: Int) throws -> R
    ) throws -> R? {
        guard H5Aexists(handle.id, name) > 0 else { return nil }
        let attr = H5Aopen(handle.id, name, jam_H5P_DEFAULT())
        defer { _ = H5Aclose(attr) }
        guard attr >= 0 else { throw fail("cannot open attribute \(name)") }
        let type = H5Aget_type(attr)
        defer { _ = H5Tclose(type) }
        guard classes.contains(H5Tget_class(type)) else { throw fail("attribute \(name) is not \(expected)") }
        let space = H5Aget_space(attr)
        defer { _ = H5Sclose(space) }
        return try body(attr, type, space, max(1, Int(H5Sget_simple_extent_npoints(space))))
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
