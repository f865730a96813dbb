#if canImport(Glibc)
    import Glibc
#endif

/// A machine architecture, named as Debian names it (`amd64`, `arm64`, …), with the RPM name beside.
public struct Architecture: Hashable, Sendable, Codable, CustomStringConvertible {
    public let debian: String

    public init(_ debian: String) { self.debian = debian }

    /// RPM's name for the same machine (`amd64` is `x86_64`).
    public var rpm: String {
        switch debian {
        case "amd64": "x86_64"
        case "arm64": "aarch64"
        case "i386": "i686"
        case "armhf": "armv7hl"
        case "ppc64el": "ppc64le"
        default: debian
        }
    }

    /// Parses either naming.
    public static func parse(_ name: String) -> Architecture {
        switch name {
        case "x86_64": Architecture("amd64")
        case "aarch64": Architecture("arm64")
        case "i686", "i586", "i386": Architecture("i386")
        case "armv7hl": Architecture("armhf")
        case "ppc64le": Architecture("ppc64el")
        default: Architecture(name)
        }
    }

    /// The architecture this process runs on.
    public static var host: Architecture {
        var info = utsname()
        uname(&info)
        let machine = withUnsafeBytes(of: &info.machine) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        return parse(machine)
    }

    public var description: String { debian }

    public init(from decoder: any Decoder) throws {
        self.init(try decoder.singleValueContainer().decode(String.self))
    }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(debian)
    }
}
