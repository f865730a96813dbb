// A string compared and hashed by its exact UTF-8 bytes. Swift's `String ==` is canonical
// equivalence: `K` (U+212A KELVIN SIGN) equals `K`, and `e` + U+0301 equals `é`, while an
// upstream server treats each spelling as a different file. Every map the proxy keys by a path
// (cache records, remembered 404s, transfers in flight, the index catalog, each loop's route and
// small-file memos) keys by these bytes: the bytes that name the record and go upstream.
#if canImport(Glibc)
    import Glibc
#endif

struct ExactString: Hashable, Sendable, CustomStringConvertible {
    let string: String

    init(_ string: String) { self.string = string }

    static func == (lhs: ExactString, rhs: ExactString) -> Bool { lhs.string.sameBytes(as: rhs.string) }

    func hash(into hasher: inout Hasher) {
        var copy = string  // withUTF8 may make a native copy of a bridged string; ours are native
        copy.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }

    var description: String { string }
}

extension String {
    /// Whether both strings are the same UTF-8 bytes (not merely canonically equivalent).
    func sameBytes(as other: String) -> Bool {
        var (left, right) = (self, other)
        return left.withUTF8 { a in
            right.withUTF8 { b in
                a.count == b.count && (a.count == 0 || memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0)
            }
        }
    }

    /// Whether the string's UTF-8 bytes begin with `prefix`'s (String.hasPrefix compares characters).
    func hasBytePrefix(_ prefix: String) -> Bool {
        utf8.count >= prefix.utf8.count && utf8.prefix(prefix.utf8.count).elementsEqual(prefix.utf8)
    }

    /// Whether the string's UTF-8 bytes contain `byte` (String.contains finds characters, and
    /// `/` followed by a combining mark is one character that is not `/`).
    func containsByte(_ byte: UInt8) -> Bool { utf8.contains(byte) }
}
