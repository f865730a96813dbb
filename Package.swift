// swift-tools-version: 6.0
// strata: container OS templates from distribution packages. See README.md and DESIGN.md.
import PackageDescription

let package = Package(
    name: "strata",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "strata", targets: ["strata"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.0"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.29.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.25.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.0"),
    ],
    targets: [
        // C libraries, each touched by exactly one Swift module.
        .systemLibrary(
            name: "CSolv", pkgConfig: "libsolvext",
            providers: [.apt(["libsolv-dev", "libsolvext-dev"])]),
        .systemLibrary(
            name: "CArchive", pkgConfig: "libarchive",
            providers: [.apt(["libarchive-dev"])]),
        .systemLibrary(
            name: "CRpm", pkgConfig: "rpm",
            providers: [.apt(["librpm-dev"])]),
        // Syscalls Swift's Glibc module does not export (xattrs), each wrapped as strata_….
        .target(name: "CStrataShim"),

        // The data path, in DESIGN.md's order.
        .target(
            name: "StrataCore",
            dependencies: [
                "CStrataShim",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        .target(name: "StrataTemplate", dependencies: ["StrataCore", "Yams"]),
        .target(name: "StrataStore", dependencies: ["StrataCore", "CStrataShim"]),
        .target(
            name: "StrataFetch",
            dependencies: [
                "StrataCore", "StrataStore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]),
        .target(name: "StrataArchive", dependencies: ["StrataCore", "CArchive"]),
        .target(name: "StrataSolver", dependencies: ["StrataCore", "CSolv"]),
        // The packager seam: what every package format shares, and the protocol each implements.
        .target(
            name: "StrataPackaging",
            dependencies: ["StrataCore", "StrataStore", "StrataArchive", "StrataSolver", "StrataTemplate"]),
        .target(
            name: "StrataDeb",
            dependencies: [
                "StrataCore", "StrataSolver", "StrataStore", "StrataArchive", "StrataPackaging", "StrataTemplate",
            ]),
        .target(
            name: "StrataRPM",
            dependencies: [
                "StrataCore", "StrataSolver", "StrataStore", "StrataArchive", "StrataPackaging", "StrataTemplate",
                "CRpm",
            ]),
        // The pipeline: the same stages for every packager; it names none of them.
        .target(
            name: "StrataBuild",
            dependencies: [
                "StrataCore", "StrataTemplate", "StrataPackaging", "StrataStore", "StrataFetch", "StrataArchive",
                "CStrataShim",
            ]),
        .target(
            name: "StrataProxy",
            dependencies: [
                "StrataCore", "StrataStore", "StrataDeb", "StrataRPM", "StrataArchive", "Yams",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]),
        .executableTarget(
            name: "strata",
            dependencies: [
                "StrataCore", "StrataBuild", "StrataTemplate", "StrataStore", "StrataFetch", "StrataProxy",
                "StrataPackaging", "StrataDeb", "StrataRPM",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]),

        // Test support: fixture repositories built with real tools, a gpg key, a loopback server.
        .target(
            name: "StrataTestSupport",
            dependencies: [
                "StrataCore", "CStrataShim",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]),
        .testTarget(
            name: "StrataCoreTests",
            dependencies: [
                "StrataCore", "StrataStore", "StrataArchive", "StrataDeb",
                .product(name: "Logging", package: "swift-log"),
            ]),
        .testTarget(name: "StrataStoreTests", dependencies: ["StrataStore", "StrataCore"]),
        .testTarget(
            name: "StrataArchiveTests", dependencies: ["StrataArchive", "StrataCore", "StrataTestSupport"]),
        .testTarget(name: "StrataTemplateTests", dependencies: ["StrataTemplate", "StrataCore"]),
        .testTarget(name: "StrataTestSupportTests", dependencies: ["StrataTestSupport", "StrataCore"]),
        .testTarget(
            name: "StrataRPMTests",
            dependencies: [
                "StrataRPM", "StrataSolver", "StrataStore", "StrataFetch", "StrataCore", "StrataArchive",
                "StrataTestSupport", "StrataPackaging",
            ]),
        .testTarget(
            name: "StrataProxyTests",
            dependencies: [
                "StrataProxy", "StrataTestSupport", "StrataCore", "StrataStore", "StrataDeb", "StrataFetch",
                .product(name: "NIOCore", package: "swift-nio"),
            ]),
        .testTarget(
            name: "StrataBuildTests",
            dependencies: [
                "StrataBuild", "StrataTestSupport", "StrataCore", "StrataStore", "StrataFetch", "StrataTemplate",
                "StrataDeb", "StrataRPM", "StrataSolver", "StrataArchive", "StrataProxy", "StrataPackaging",
            ]),
    ]
)
