// File capabilities: from the text rpm keeps in FILECAPS (libcap's cap_to_text form, such as
// `cap_net_raw=ep`) to the `security.capability` extended attribute the kernel reads on exec.
//
// The text grammar is cap_from_text(3)'s, parsed the way libcap 2.66's cap_text.c does it:
// whitespace-separated clauses, each a comma-separated list of capability names or numbers
// (`all`, or an empty list before `=`, meaning every capability), then one or more operators
// `=`, `+`, `-` each followed by flags from `e`, `i`, `p`. Names are case-insensitive.
// `all` is capabilities 0 to 40 (cap_checkpoint_restore, Linux 5.9 and later): libcap takes the
// running kernel's last capability, but a template must not depend on the host it is built on.
//
// The attribute is the kernel's `struct vfs_cap_data` revision 2 (include/uapi/linux/capability.h):
// 20 bytes, little-endian: magic_etc = 0x02000000 | VFS_CAP_FLAGS_EFFECTIVE (bit 0) when the
// effective set is not empty, then permitted[0], inheritable[0], permitted[1], inheritable[1]
// (capabilities 0-31, then 32-63). As libcap's cap_set_file does, we refuse an effective set
// that is neither empty nor covers the permitted and inheritable ones: the kernel has a single
// effective bit, so it could not be stored.
import StrataCore

/// A file capability set.
struct FileCapabilities: Equatable, Sendable {
    /// Permitted capabilities, bit n for capability n.
    var permitted: UInt64 = 0
    /// Inheritable capabilities.
    var inheritable: UInt64 = 0
    /// Effective capabilities (only empty, or a superset of the other two, can be stored).
    var effective: UInt64 = 0

    /// Capability names by number, as libcap names them (linux/capability.h's order).
    static let names = [
        "cap_chown", "cap_dac_override", "cap_dac_read_search", "cap_fowner", "cap_fsetid", "cap_kill",
        "cap_setgid", "cap_setuid", "cap_setpcap", "cap_linux_immutable", "cap_net_bind_service",
        "cap_net_broadcast", "cap_net_admin", "cap_net_raw", "cap_ipc_lock", "cap_ipc_owner", "cap_sys_module",
        "cap_sys_rawio", "cap_sys_chroot", "cap_sys_ptrace", "cap_sys_pacct", "cap_sys_admin", "cap_sys_boot",
        "cap_sys_nice", "cap_sys_resource", "cap_sys_time", "cap_sys_tty_config", "cap_mknod", "cap_lease",
        "cap_audit_write", "cap_audit_control", "cap_setfcap", "cap_mac_override", "cap_mac_admin",
        "cap_syslog", "cap_wake_alarm", "cap_block_suspend", "cap_audit_read", "cap_perfmon", "cap_bpf",
        "cap_checkpoint_restore",
    ]

    private static let numbers: [String: Int] = Dictionary(
        uniqueKeysWithValues: names.enumerated().map { ($0.element, $0.offset) })

    /// Every named capability (what `all` means).
    static let all: UInt64 = (1 << UInt64(names.count)) - 1

    /// Parses libcap's text form.
    ///
    /// - Parameter text: the capabilities, such as `cap_net_raw=ep` or `cap_chown,cap_kill+p`.
    /// - Throws: ``StrataError`` `.invalidInput` naming the text for a syntax error, an unknown
    ///   name, a number of 64 or more, or an effective set the kernel cannot store.
    init(text: String) throws {
        func bad(_ why: String) -> StrataError {
            StrataError(.invalidInput, "file capabilities '\(text)': \(why)")
        }
        let chars = Array(text.utf8)
        var i = 0
        func isSpace(_ c: UInt8) -> Bool { c == 0x20 || (0x09...0x0d).contains(c) }
        func isWord(_ c: UInt8) -> Bool {
            (0x30...0x39).contains(c) || (0x41...0x5a).contains(c) || (0x61...0x7a).contains(c) || c == 0x5f
        }
        func peek() -> UInt8? { i < chars.count ? chars[i] : nil }

        while true {
            while let c = peek(), isSpace(c) { i += 1 }
            guard let first = peek() else { break }

            // The capabilities this clause is about.
            var list: UInt64 = 0
            var listed = false
            if isWord(first) {
                while true {
                    let start = i
                    while let c = peek(), isWord(c) { i += 1 }
                    let word = String(decoding: chars[start..<i], as: UTF8.self).lowercased()
                    if word == "all" {
                        list |= Self.all
                    } else if let number = Self.number(word) {
                        guard number < 64 else { throw bad("'\(word)' is not a capability number below 64") }
                        list |= 1 << UInt64(number)
                    } else if let number = Self.numbers[word] {
                        list |= 1 << UInt64(number)
                    } else {
                        throw bad("unknown capability '\(word)'")
                    }
                    guard peek() == UInt8(ascii: ",") else { break }
                    i += 1
                    guard let c = peek(), isWord(c) else { throw bad("a capability name must follow ','") }
                }
                listed = true
            } else if first == UInt8(ascii: "+") || first == UInt8(ascii: "-") {
                throw bad("'+' and '-' need a list of capabilities before them")
            } else {
                list = Self.all
            }

            // Its first operator; `=+` and `=-` clear the listed capabilities first.
            guard var op = peek() else { throw bad("a clause has no operator") }
            i += 1
            var clearFirst = false
            if op == UInt8(ascii: "="), let next = peek(), next == UInt8(ascii: "+") || next == UInt8(ascii: "-") {
                guard listed else { throw bad("'=\(Character(UnicodeScalar(next)))' needs a list of capabilities") }
                clearFirst = true
                op = next
                i += 1
            } else if op != UInt8(ascii: "+") && op != UInt8(ascii: "-") && op != UInt8(ascii: "=") {
                throw bad("expected '=', '+' or '-' after the capabilities")
            }
            if clearFirst { clear(list, flags: ["e", "i", "p"]) }

            // Its actions: flags after each operator, until the end of the clause.
            var flags: Set<Character> = []
            repeat {
                if let c = peek(), !isSpace(c) {
                    i += 1
                    switch c {
                    case UInt8(ascii: "e"): flags.insert("e")
                    case UInt8(ascii: "i"): flags.insert("i")
                    case UInt8(ascii: "p"): flags.insert("p")
                    default: throw bad("unknown flag '\(Character(UnicodeScalar(c)))' (expected e, i or p)")
                    }
                } else if op != UInt8(ascii: "=") {
                    throw bad("'\(Character(UnicodeScalar(op)))' must be followed by flags")
                }
                switch op {
                case UInt8(ascii: "="):
                    clear(list, flags: ["e", "i", "p"])
                    set(list, flags: flags)
                case UInt8(ascii: "+"): set(list, flags: flags)
                default: clear(list, flags: flags)
                }
                if let c = peek(), c == UInt8(ascii: "+") || c == UInt8(ascii: "-") {
                    guard listed else { throw bad("'+' and '-' need a list of capabilities before them") }
                    flags = []
                    op = c
                    i += 1
                    guard let next = peek(), (0x61...0x7a).contains(next) || (0x41...0x5a).contains(next) else {
                        throw bad("'\(Character(UnicodeScalar(op)))' must be followed by flags")
                    }
                }
            } while peek().map { !isSpace($0) } ?? false
        }

        if effective != 0 && (permitted | inheritable) & ~effective != 0 {
            throw bad("the effective set must be empty or hold every permitted and inheritable capability")
        }
    }

    /// A capability number as strtoul(3) with base 0 reads it (`13`, `0x0d`, `015`), or `nil`
    /// when `word` does not start with a digit.
    private static func number(_ word: String) -> Int? {
        guard let first = word.first, first.isASCII, first.isNumber else { return nil }
        let parsed: Int?
        if word.hasPrefix("0x") {
            parsed = Int(word.dropFirst(2), radix: 16)
        } else if word.hasPrefix("0") && word.count > 1 {
            parsed = Int(word.dropFirst(), radix: 8)
        } else {
            parsed = Int(word, radix: 10)
        }
        return parsed ?? Int.max
    }

    private mutating func set(_ list: UInt64, flags: Set<Character>) {
        if flags.contains("e") { effective |= list }
        if flags.contains("i") { inheritable |= list }
        if flags.contains("p") { permitted |= list }
    }

    private mutating func clear(_ list: UInt64, flags: Set<Character>) {
        if flags.contains("e") { effective &= ~list }
        if flags.contains("i") { inheritable &= ~list }
        if flags.contains("p") { permitted &= ~list }
    }

    /// The `security.capability` value: `struct vfs_cap_data`, revision 2, 20 bytes.
    var xattr: [UInt8] {
        let magic: UInt32 = 0x0200_0000 | (effective != 0 ? 1 : 0)
        var out: [UInt8] = []
        out.reserveCapacity(20)
        for word in [
            magic, UInt32(truncatingIfNeeded: permitted), UInt32(truncatingIfNeeded: inheritable),
            UInt32(truncatingIfNeeded: permitted >> 32), UInt32(truncatingIfNeeded: inheritable >> 32),
        ] {
            withUnsafeBytes(of: word.littleEndian) { out.append(contentsOf: $0) }
        }
        return out
    }
}
