// The fields of a Debian `Packages` index that libsolv does not keep: `Priority`, `Essential`
// and `Size`. The scan splits stanzas exactly as libsolv's repo_add_debpackages does (an empty
// line ends a stanza; stanzas without `Package` are skipped), so the n-th record belongs to the
// n-th solvable libsolv created. Only the canonical field spelling is recognised, as the
// archive writes it.

/// The extra fields of one stanza.
public struct PackagesStanzaExtras: Sendable, Equatable {
    public var name: String
    public var priority: String?
    public var essential: Bool
    public var size: UInt64?
}

public enum PackagesIndex {
    /// Scans an uncompressed `Packages` file.
    public static func scanExtras(_ bytes: [UInt8]) -> [PackagesStanzaExtras] {
        var out = [PackagesStanzaExtras]()
        bytes.withUnsafeBufferPointer { buffer in
            let count = buffer.count
            var name: String?
            var priority: String?
            var essential = false
            var size: UInt64?
            var lineStart = 0
            func finishStanza() {
                if let name { out.append(PackagesStanzaExtras(name: name, priority: priority, essential: essential, size: size)) }
                name = nil
                priority = nil
                essential = false
                size = nil
            }
            func value(from start: Int, to end: Int) -> String {
                var s = start
                while s < end, buffer[s] == 0x20 || buffer[s] == 0x09 { s += 1 }
                var e = end
                while e > s, buffer[e - 1] == 0x20 || buffer[e - 1] == 0x09 || buffer[e - 1] == 0x0d { e -= 1 }
                return String(decoding: UnsafeBufferPointer(rebasing: buffer[s..<e]), as: UTF8.self)
            }
            func hasPrefix(_ prefix: StaticString, at start: Int, end: Int) -> Bool {
                let length = prefix.utf8CodeUnitCount
                guard end - start >= length else { return false }
                let p = prefix.utf8Start
                for i in 0..<length where buffer[start + i] != p[i] { return false }
                return true
            }
            while lineStart < count {
                var lineEnd = lineStart
                while lineEnd < count, buffer[lineEnd] != 0x0a { lineEnd += 1 }
                if lineEnd == lineStart {
                    finishStanza()
                } else {
                    switch buffer[lineStart] {
                    case UInt8(ascii: "P"):
                        if hasPrefix("Package:", at: lineStart, end: lineEnd) {
                            name = value(from: lineStart + 8, to: lineEnd)
                        } else if hasPrefix("Priority:", at: lineStart, end: lineEnd) {
                            priority = value(from: lineStart + 9, to: lineEnd)
                        }
                    case UInt8(ascii: "E"):
                        if hasPrefix("Essential:", at: lineStart, end: lineEnd) {
                            essential = value(from: lineStart + 10, to: lineEnd).lowercased() == "yes"
                        }
                    case UInt8(ascii: "S"):
                        if hasPrefix("Size:", at: lineStart, end: lineEnd) {
                            size = UInt64(value(from: lineStart + 5, to: lineEnd))
                        }
                    default: break
                    }
                }
                lineStart = lineEnd + 1
            }
            finishStanza()
        }
        return out
    }
}
