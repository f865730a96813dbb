// Export as an OCI image (docs/outputs.md): an image layout directory (`--format oci`) or a tar of
// one (`--format oci-archive`, what skopeo's `oci-archive:` reads), holding one image of one
// layer: the template's reproducible tar, gzip-compressed (`gzip -n`: no name, no time). The
// config's `diff_ids` name the uncompressed tar's sha256, `created` is the build's date
// (SOURCE_DATE_EPOCH), the index names the image `VERSION-SET` (`12-minbase`) in
// `org.opencontainers.image.ref.name`, and the manifest's annotations name the lockfile's sha256
// and strata's version. Every JSON document is written with sorted keys, so the same tree and
// lock give the same manifest digest.
import Foundation
import StrataArchive
import StrataCore
import StrataPackaging
import StrataStore

#if canImport(Glibc)
    import Glibc
#endif

/// What an OCI image of a template says besides its layer.
struct OCIImage: Sendable {
    /// The OCI (Go) architecture name: `amd64`, `arm64`, `386`, `arm` with a variant, …
    var architecture: String
    var variant: String?
    var created: Int64
    /// `org.opencontainers.image.ref.name` in the index: `12-minbase`.
    var refName: String
    /// The ref the template has in the store (`debian/12/minbase/amd64`), for the history entry.
    var ref: String
    var lockDigest: SHA256Digest?
    /// The template's SPDX document, carried as an artifact that refers to the image.
    var sbom: [UInt8]?

    /// The image of the template whose store ref is `ref` (DISTRO/VERSION/SET/ARCH).
    init(ref: String, created: Int64, lockDigest: SHA256Digest?) {
        let parts = ref.split(separator: "/").map(String.init)
        let debian = parts.last ?? ""
        let set = parts.count >= 2 ? parts[parts.count - 2] : "template"
        let version = parts.count >= 3 ? parts[parts.count - 3] : "latest"
        (architecture, variant) = Self.ociArchitecture(debian)
        self.created = created
        refName = "\(version)-\(set)".replacingOccurrences(of: "+", with: "_")
        self.ref = ref
        self.lockDigest = lockDigest
    }

    /// The OCI platform of a Debian (or RPM) architecture name.
    static func ociArchitecture(_ name: String) -> (String, String?) {
        switch name {
        case "amd64", "x86_64": return ("amd64", nil)
        case "arm64", "aarch64": return ("arm64", "v8")
        case "i386", "i686": return ("386", nil)
        case "armhf", "armv7hl": return ("arm", "v7")
        case "armel": return ("arm", "v5")
        case "ppc64el", "ppc64le": return ("ppc64le", nil)
        case "mips64el": return ("mips64le", nil)
        default: return (name, nil)
        }
    }
}

enum OCIExport {
    static let manifestType = "application/vnd.oci.image.manifest.v1+json"
    static let configType = "application/vnd.oci.image.config.v1+json"
    static let layerType = "application/vnd.oci.image.layer.v1.tar+gzip"
    static let indexType = "application/vnd.oci.image.index.v1+json"
    static let emptyType = "application/vnd.oci.empty.v1+json"

    struct Descriptor: Encodable {
        var mediaType: String
        var digest: String
        var size: Int
        var annotations: [String: String]?
        var platform: Platform?
    }

    struct Platform: Encodable {
        var architecture: String
        var os = "linux"
        var variant: String?
    }

    /// Writes `root` as an OCI image layout in the directory `layout` (new or empty), or, with
    /// `archive`, as a tar of one at `target`.
    /// - Returns: the stats of the layer's tar, with `digest` the manifest's (a layout) or the
    ///   archive's sha256 (an archive).
    @inline(never)  // Swift 6.3.1's optimizer crashed with this inlined into Exporter.export (ExportStage.swift)
    static func export(
        root: String, to target: String, archive: Bool, clampMtime: Int64, hardlinks: Set<String>, image: OCIImage
    ) throws -> ExportStats {
        guard archive else {
            return try Exporter.intoDirectory(target, create: true) { _ in
                try write(root: root, layout: target, clampMtime: clampMtime, hardlinks: hardlinks, image: image)
            }
        }
        let layout = "\(target).strata-oci-\(UInt64.random(in: 0...UInt64.max))"
        defer { Scratch.removeTree(layout) }
        return try Interruption.whileRunning(cleanup: { Scratch.removeTree(layout) }) {
            try FileManager.default.createDirectory(atPath: layout, withIntermediateDirectories: false)
            let stats = try write(root: root, layout: layout, clampMtime: clampMtime, hardlinks: hardlinks, image: image)
            let written = try Exporter.writeTar(to: target) { temp in
                try TarWriter.exportDirectory(layout, to: temp, compression: .none, clampMtime: clampMtime)
            }
            return ExportStats(files: stats.files, bytes: stats.bytes, digest: written.digest)
        }
    }

    /// The layout's files: the layer, config and manifest blobs, `index.json`, `oci-layout`.
    static func write(root: String, layout: String, clampMtime: Int64, hardlinks: Set<String>, image: OCIImage) throws
        -> ExportStats
    {
        let blobs = "\(layout)/blobs/sha256"
        try FileManager.default.createDirectory(atPath: blobs, withIntermediateDirectories: true)
        // The layer: the reproducible tar, then `gzip -n` (no name, no time: the same bytes each time).
        let tar = "\(blobs)/layer.tar"
        let layer = try TarWriter.exportDirectory(
            root, to: tar, compression: .none, clampMtime: clampMtime, owners: OwnerNames(tree: root), hardlinks: hardlinks)
        let gzip = try Command.runBlocking("/bin/gzip", ["-n", "-6", "--", tar])
        guard gzip.status == 0 else { throw StrataError(.toolFailed, "gzip -n \(tar): \(gzip.stderr)") }
        let compressed = try blob(movingFile: "\(tar).gz", into: blobs)

        var configuration: [String: Any] = [
            "architecture": image.architecture, "os": "linux", "created": date(image.created),
            "config": ["Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], "Cmd": ["/bin/sh"]],
            "rootfs": ["type": "layers", "diff_ids": ["sha256:\(layer.digest.hex)"]],
            "history": [["created": date(image.created), "created_by": "strata \(StrataVersion.string): \(image.ref)"]],
        ]
        if let variant = image.variant { configuration["variant"] = variant }
        let config = try blob(json: configuration, into: blobs)

        var annotations = ["org.opencontainers.image.created": date(image.created), "strata.version": StrataVersion.string]
        if let lock = image.lockDigest { annotations["strata.lockfile.sha256"] = lock.hex }
        let manifest = try blob(
            json: [
                "schemaVersion": 2, "mediaType": manifestType,
                "config": ["mediaType": configType, "digest": "sha256:\(config.digest.hex)", "size": config.size],
                "layers": [["mediaType": layerType, "digest": "sha256:\(compressed.digest.hex)", "size": compressed.size]],
                "annotations": annotations,
            ] as [String: Any], into: blobs)
        var platform: [String: Any] = ["architecture": image.architecture, "os": "linux"]
        if let variant = image.variant { platform["variant"] = variant }
        var manifests: [[String: Any]] = [
            [
                "mediaType": manifestType, "digest": "sha256:\(manifest.digest.hex)", "size": manifest.size,
                "annotations": ["org.opencontainers.image.ref.name": image.refName], "platform": platform,
            ]
        ]
        if let sbom = image.sbom {
            // An OCI 1.1 artifact: an image manifest with an artifactType, the empty config, the
            // document as its one layer and the image as its subject (what `oras discover` and
            // registries' referrers API find).
            let document = try blob(bytes: sbom, into: blobs)
            let empty = try blob(bytes: Array("{}".utf8), into: blobs)
            let artifact = try blob(
                json: [
                    "schemaVersion": 2, "mediaType": manifestType, "artifactType": SBOMFormat.spdx.mediaType,
                    "config": ["mediaType": emptyType, "digest": "sha256:\(empty.digest.hex)", "size": empty.size],
                    "layers": [["mediaType": SBOMFormat.spdx.mediaType, "digest": "sha256:\(document.digest.hex)", "size": document.size]],
                    "subject": ["mediaType": manifestType, "digest": "sha256:\(manifest.digest.hex)", "size": manifest.size],
                    "annotations": ["org.opencontainers.image.created": date(image.created)],
                ] as [String: Any], into: blobs)
            manifests.append([
                "mediaType": manifestType, "digest": "sha256:\(artifact.digest.hex)", "size": artifact.size,
                "artifactType": SBOMFormat.spdx.mediaType,
            ])
        }
        let index: [String: Any] = ["schemaVersion": 2, "mediaType": indexType, "manifests": manifests]
        try FileSystem.writeAtomically(try canonical(index), to: "\(layout)/index.json")
        try FileSystem.writeAtomically(Array(#"{"imageLayoutVersion":"1.0.0"}"#.utf8), to: "\(layout)/oci-layout")
        return ExportStats(files: layer.entries, bytes: layer.bytes, digest: manifest.digest)
    }

    /// `created` as RFC 3339 in UTC.
    static func date(_ seconds: Int64) -> String {
        ISO8601DateFormatter.string(
            from: Date(timeIntervalSince1970: TimeInterval(seconds)), timeZone: .gmt, formatOptions: [.withInternetDateTime])
    }

    static func canonical(_ object: Any) throws -> [UInt8] {
        Array(try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
    }

    static func blob(json object: Any, into blobs: String) throws -> (digest: SHA256Digest, size: Int) {
        try blob(bytes: try canonical(object), into: blobs)
    }

    static func blob(bytes: [UInt8], into blobs: String) throws -> (digest: SHA256Digest, size: Int) {
        let digest = SHA256Digest.of(bytes)
        try FileSystem.writeAtomically(bytes, to: "\(blobs)/\(digest.hex)")
        return (digest, bytes.count)
    }

    static func blob(movingFile path: String, into blobs: String) throws -> (digest: SHA256Digest, size: Int) {
        let digest = try SHA256Digest.of(file: path)
        var st = stat()
        guard stat(path, &st) == 0, rename(path, "\(blobs)/\(digest.hex)") == 0 else {
            throw StrataError(.io, "cannot move \(path) into \(blobs): \(String(cString: strerror(errno)))")
        }
        return (digest, Int(st.st_size))
    }
}
