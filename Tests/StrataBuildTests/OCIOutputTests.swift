// The OCI outputs (Stages/OCIExport.swift) checked with the reference tools: umoci unpacks the
// layout to the tree the tar output holds, skopeo reads the archive, the config's diff_id is the
// sha256 of the plain tar output (the layer is that very tar), and the same lock gives the same
// manifest digest whether the tree is exported by the build or from the store (an unchanged build).
import Foundation
@testable import StrataBuild
import StrataCore
import StrataFetch
import StrataStore
import StrataTemplate
import StrataTestSupport
import Testing

@Suite(
    "OCI image outputs", .enabled(if: BuildFixture.enabled && Command.which("umoci") != nil && Command.which("skopeo") != nil,
        "needs root, the host's Debian mirror, umoci and skopeo"))
struct OCIOutputTests {
    @Test("--format oci: umoci unpacks it to the tar output's tree; diff_id is the tar's sha256; same lock, same manifest digest; oci-archive reads in skopeo")
    func oci() async throws {
        let served = try await LocalMirror.shared.minbase()
        let dir = try TemporaryDirectory.make(prefix: "strata-oci")
        let tar = try await BuildFixture.build(served.localLock, output: "\(dir)/minbase.tar", store: "\(dir)/store")
        let store = try Store(root: "\(dir)/store")
        var builder = Builder(store: store, fetcher: try HTTPFetcher(store: store.blobs), packagers: .testing)
        builder.sbomFormats = [.spdx]
        let spec = try TemplateTree(root: BuildFixture.templates).load(
            target: "debian/12", set: "minbase", architecture: Architecture("amd64"))
        // From the store (the build is unchanged) and from a build run again: one image.
        let fromStore = try await builder.build(spec: spec, lock: served.localLock, output: "\(dir)/a.oci", format: .oci)
        #expect(fromStore.reused)
        let rebuilt = try await builder.build(
            spec: spec, lock: served.localLock, output: "\(dir)/b.oci", format: .oci, rebuild: true)
        #expect(!rebuilt.reused)
        #expect(fromStore.outputDigest != nil && fromStore.outputDigest == rebuilt.outputDigest, "two manifests of one lock")
        #expect(try Data(contentsOf: URL(fileURLWithPath: "\(dir)/a.oci/index.json"))
            == Data(contentsOf: URL(fileURLWithPath: "\(dir)/b.oci/index.json")))

        // The config names the plain tar's digest as the layer's diff_id, and the lock's digest.
        let manifestHex = try #require(fromStore.outputDigest?.hex)
        let manifest = try JSONSerialization.jsonObject(
            with: Data(contentsOf: URL(fileURLWithPath: "\(dir)/a.oci/blobs/sha256/\(manifestHex)"))) as? [String: Any]
        let configDigest = try #require((manifest?["config"] as? [String: Any])?["digest"] as? String)
        let config = try JSONSerialization.jsonObject(
            with: Data(contentsOf: URL(fileURLWithPath: "\(dir)/a.oci/blobs/sha256/\(configDigest.dropFirst(7))"))) as? [String: Any]
        let diffIDs = (config?["rootfs"] as? [String: Any])?["diff_ids"] as? [String]
        #expect(diffIDs == ["sha256:\(try #require(tar.outputDigest).hex)"], "the layer is not the tar output")
        #expect(config?["architecture"] as? String == "amd64" && config?["os"] as? String == "linux")
        let annotations = manifest?["annotations"] as? [String: String]
        #expect(annotations?["strata.lockfile.sha256"] == SHA256Digest.of(try served.localLock.encoded()).hex)

        // The SPDX document rides along as an OCI 1.1 artifact whose subject is the image, the
        // same bytes as the one beside the layout.
        let index = try JSONSerialization.jsonObject(
            with: Data(contentsOf: URL(fileURLWithPath: "\(dir)/a.oci/index.json"))) as? [String: Any]
        let entries = index?["manifests"] as? [[String: Any]] ?? []
        #expect(entries.count == 2, "\(entries)")
        let artifactEntry = try #require(entries.first { $0["artifactType"] as? String == "application/spdx+json" })
        let artifactHex = try #require((artifactEntry["digest"] as? String)?.dropFirst(7))
        let artifact = try JSONSerialization.jsonObject(
            with: Data(contentsOf: URL(fileURLWithPath: "\(dir)/a.oci/blobs/sha256/\(artifactHex)"))) as? [String: Any]
        #expect((artifact?["subject"] as? [String: Any])?["digest"] as? String == "sha256:\(manifestHex)")
        let documentHex = try #require(((artifact?["layers"] as? [[String: Any]])?.first?["digest"] as? String)?.dropFirst(7))
        #expect(
            try Data(contentsOf: URL(fileURLWithPath: "\(dir)/a.oci/blobs/sha256/\(documentHex)"))
                == Data(contentsOf: URL(fileURLWithPath: "\(dir)/a.spdx.json")))

        // umoci unpacks it to the tree the tar holds.
        _ = try await Shell.run("umoci", ["unpack", "--image", "\(dir)/a.oci:12-minbase", "\(dir)/bundle"], timeout: .seconds(300))
        let root = try await BuildFixture.extract(tar.output)
        let unpacked = try await Offload.run { try TreeListing.read(root: "\(dir)/bundle/rootfs") }
        let expected = try await Offload.run { try TreeListing.read(root: root) }
        let differences = unpacked.diff(against: expected, compareModificationTimes: false)
        #expect(differences.isEmpty, "umoci's tree differs from the tar's: \(differences.prefix(10))")

        // The archive form reads in skopeo, as the same image.
        let archive = try await builder.build(spec: spec, lock: served.localLock, output: "\(dir)/c.oci.tar", format: .ociArchive)
        let inspect = try await Shell.run("skopeo", ["inspect", "--raw", "oci-archive:\(dir)/c.oci.tar:12-minbase"], timeout: .seconds(120))
        #expect(SHA256Digest.of(Array(inspect.stdout)).hex == manifestHex, "skopeo reads another manifest from the archive")
        #expect(archive.outputDigest == (try SHA256Digest.of(file: "\(dir)/c.oci.tar")))
    }
}
