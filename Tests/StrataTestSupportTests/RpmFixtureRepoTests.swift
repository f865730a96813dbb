import Foundation
import StrataCore
import StrataTestSupport
import Testing

@Suite("RPM fixture repository", .timeLimit(.minutes(2)))
struct RpmFixtureRepoTests {
    @Test("the standard repository has repomd.xml and primary.xml, and repomd.xml.asc verifies with gpgv")
    func layoutAndSignature() async throws {
        let repo = try await RpmFixtureRepo.standard()
        let repodata = try FileManager.default.contentsOfDirectory(atPath: repo.root + "/repodata")
        #expect(repodata.contains("repomd.xml"))
        #expect(repodata.contains("repomd.xml.asc"))
        let primary = try #require(repodata.first { $0.contains("primary.xml") })
        let repomd = try String(contentsOfFile: repo.repomdPath, encoding: .utf8)
        #expect(repomd.contains("repodata/\(primary)"))

        let key = try #require(repo.key)
        #expect(
            try await TestGPGKey.verify(
                signature: repo.repomdPath + ".asc", data: repo.repomdPath, keyring: key.keyringPath))
        let unrelated = try await TestGPGKey.unrelated()
        #expect(
            try await !TestGPGKey.verify(
                signature: repo.repomdPath + ".asc", data: repo.repomdPath, keyring: unrelated.keyringPath))

        let xml = try await Shell.run(
            primary.hasSuffix(".gz") ? "gzip" : "zstd", ["-dc", "\(repo.root)/repodata/\(primary)"])
        #expect(xml.output.contains("packages=\"\(RpmFixtureRepo.standardPackages.count)\""))
        #expect(xml.output.contains("<rpm:entry name=\"libfoo\" flags=\"GE\" epoch=\"0\" ver=\"1.1\"/>"))
        #expect(xml.output.contains("<rpm:entry name=\"MTA\"/>"))
    }

    @Test("the rpms are real: rpm -qp reads their requires, provides and files")
    func rpmsAreReal() async throws {
        let repo = try await RpmFixtureRepo.standard()
        let tools = try #require(repo.package("foo-tools"))
        let rpmPath = "\(repo.root)/\(tools.path)"
        let requires = try await Shell.run("rpm", ["-qp", "--requires", rpmPath]).output
        #expect(requires.contains("libfoo >= 1.1"))
        #expect(!requires.contains("/bin/sh"))  // AutoReqProv is off
        let files = try await Shell.run("rpm", ["-qpl", rpmPath]).output
        #expect(files == "/usr/bin/foo\n")
        let provides = try await Shell.run(
            "rpm", ["-qp", "--provides", "\(repo.root)/Packages/smtpd-alpha-1.2-1.fc39.noarch.rpm"]
        ).output
        #expect(provides.contains("MTA"))
        #expect(repo.packages.filter { $0.spec.name == "libfoo" }.map(\.spec.version) == ["1.0", "1.1"])
    }
}
