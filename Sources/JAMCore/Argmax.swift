// shapes: one row of scores `[C]`.

/// The offset of the largest element of `values`, the LOWEST offset among equal maxima; 0 when
/// `values` is empty.
///
/// Later elements replace the best so far only when strictly greater, so a NaN never replaces
/// it, and a NaN in the first position is returned (every comparison with it is false). This is
/// what JAM's prediction rules and accuracy counts have always done; callers that must not see
/// NaN check for it themselves.
@inlinable
public func argmax<Values: Collection>(_ values: Values) -> Int where Values.Element: Comparable {
    var iterator = values.makeIterator()
    guard var maximum = iterator.next() else { return 0 }
    var best = 0
    var offset = 0
    while let value = iterator.next() {
        offset &+= 1
        if value > maximum {
            maximum = value
            best = offset
        }
    }
    return best
}
