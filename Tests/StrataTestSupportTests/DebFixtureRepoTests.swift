import Foundation
import StrataCore
import StrataTestSupport
import Testing

@Suite("Debian fixture archive", .timeLimit(.minutes(2)))
struct DebFixtureRepoTests {
    @Test("the standard archive has the Debian layout: pool, Packages{,.gz,.xz}, by-hash, Release, signatures")
    func layout() async throws {
        let repo = try await DebFixtureRepo.standard()
        let fm = FileManager.default
        for package in repo.packages {
            #expect(fm.fileExists(atPath: "\(repo.root)/\(package.path)"), "\(package.path)")
        }
        #expect(repo.package("editor-vim")?.path == "pool/main/e/editor-vim/editor-vim_9.0.1378-2_amd64.deb")
        #expect(repo.package("libc-mini")?.path == "pool/main/libc/libc-mini/libc-mini_2.36-9_amd64.deb")
        #expect(
            repo.package("mail-transport-agent")?.path
                == "pool/contrib/m/mail-transport-agent/mail-transport-agent_1.0_all.deb")

        for (suite, component) in [("stable", "main"), ("stable", "contrib"), ("stable-updates", "main")] {
            let dir = "\(repo.root)/dists/\(suite)/\(component)/binary-amd64"
            for name in ["Packages", "Packages.gz", "Packages.xz"] {
                #expect(fm.fileExists(atPath: "\(dir)/\(name)"), "\(dir)/\(name)")
            }
            let plain = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/Packages"))
            let gunzipped = try await Shell.run("gzip", ["-dc", "\(dir)/Packages.gz"]).stdout
            let unxzed = try await Shell.run("xz", ["-dc", "\(dir)/Packages.xz"]).stdout
            #expect(gunzipped == plain)
            #expect(unxzed == plain)
            let digest = SHA256Digest.of(plain)
            #expect(fm.fileExists(atPath: "\(dir)/by-hash/SHA256/\(digest.hex)"))
        }

        let release = try String(contentsOfFile: "\(repo.root)/dists/stable/Release", encoding: .utf8)
        for field in [
            "Origin: Strata Test", "Label: Strata Test", "Suite: stable", "Codename: strata", "Architectures: amd64",
            "Components: main contrib", "Acquire-By-Hash: yes", "MD5Sum:", "SHA256:",
        ] {
            #expect(release.contains(field + "\n"), "\(field)")
        }
        #expect(release.contains(" main/binary-amd64/Packages.xz\n"))
        #expect(
            release.range(of: #"Date: \w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} UTC\n"#, options: .regularExpression)
                != nil)
        let updates = try String(contentsOfFile: "\(repo.root)/dists/stable-updates/Release", encoding: .utf8)
        #expect(updates.contains("Suite: stable-updates\n"))

        let key = try #require(repo.key)
        for suite in ["stable", "stable-updates"] {
            let dist = "\(repo.root)/dists/\(suite)"
            #expect(try await TestGPGKey.verify(signature: "\(dist)/InRelease", keyring: key.keyringPath))
            #expect(
                try await TestGPGKey.verify(
                    signature: "\(dist)/Release.gpg", data: "\(dist)/Release",
                    keyring: key.keyringPath))
        }
    }

    @Test("Packages lists each suite's packages with Filename, Size and SHA256 matching the .deb")
    func packagesIndex() async throws {
        let repo = try await DebFixtureRepo.standard()
        let stable = try String(
            contentsOfFile: "\(repo.root)/dists/stable/main/binary-amd64/Packages", encoding: .utf8)
        let updates = try String(
            contentsOfFile: "\(repo.root)/dists/stable-updates/main/binary-amd64/Packages", encoding: .utf8)
        #expect(stable.contains("Package: libc-mini\n"))
        #expect(stable.contains("Version: 2.36-9\n"))
        #expect(!stable.contains("Version: 2.36-9+deb12u1\n"))
        #expect(updates.contains("Version: 2.36-9+deb12u1\n"))
        #expect(!updates.contains("Package: app\n"))
        // Architecture: all packages are listed in binary-amd64.
        #expect(stable.contains("Package: tzdata-mini\n"))
        let updated = try #require(repo.package("libc-mini", version: "2.36-9+deb12u1"))
        #expect(updates.contains("Filename: \(updated.path)\n"))
        #expect(updates.contains("Size: \(updated.size)\n"))
        #expect(updates.contains("SHA256: \(updated.sha256.hex)\n"))
        #expect(stable.contains("Pre-Depends: libc-mini (>= 2.36)\n"))
        #expect(stable.contains("Multi-Arch: same\n"))
        #expect(stable.contains("Essential: yes\n"))
        #expect(
            stable.components(separatedBy: "\n\n").filter { !$0.isEmpty }.count
                == DebFixtureRepo.standardPackages.filter { $0.suites.contains("stable") && $0.component == "main" }
                .count)
    }

    @Test("the .debs are real: dpkg-deb reads their control fields, files, conffiles and scripts")
    func debsAreReal() async throws {
        let repo = try await DebFixtureRepo.standard()
        let base = try #require(repo.package("base-files"))
        let deb = "\(repo.root)/\(base.path)"
        let fields = try await Shell.run("dpkg-deb", ["-f", deb, "Package", "Version", "Essential", "Priority"])
        #expect(fields.output == "Package: base-files\nVersion: 13.1\nEssential: yes\nPriority: required\n")
        let contents = try await Shell.run("dpkg-deb", ["-c", deb]).output
        #expect(contents.contains("root/root"))
        #expect(contents.contains("./etc/strata_version"))
        let control = try TemporaryDirectory.make(prefix: "control")
        try await Shell.run("dpkg-deb", ["-e", deb, control])
        #expect(try String(contentsOfFile: control + "/conffiles", encoding: .utf8) == "/etc/strata_version\n")
        #expect(FileManager.default.isExecutableFile(atPath: control + "/postinst"))
    }

    @Test("a custom unsigned archive: fixed Date, two architectures, no InRelease")
    func customArchive() async throws {
        let repo = try await DebFixtureRepo.build(
            packages: [
                DebPackageSpec(name: "libx1", version: "1.0", multiArch: "same", suites: ["sid"]),
                DebPackageSpec(name: "libx1", version: "1.0", architecture: "i386", multiArch: "same", suites: ["sid"]),
                DebPackageSpec(name: "x-data", version: "1.0", architecture: "all", suites: ["sid"]),
            ],
            suites: [DebSuite(name: "sid", codename: "sid", architectures: ["amd64", "i386"])], key: nil,
            date: Date(timeIntervalSince1970: 1_686_387_227))
        let dist = "\(repo.root)/dists/sid"
        let release = try String(contentsOfFile: "\(dist)/Release", encoding: .utf8)
        #expect(release.contains("Date: Sat, 10 Jun 2023 08:53:47 UTC\n"))
        #expect(release.contains("Architectures: amd64 i386\n"))
        #expect(!FileManager.default.fileExists(atPath: "\(dist)/InRelease"))
        let i386 = try String(contentsOfFile: "\(dist)/main/binary-i386/Packages", encoding: .utf8)
        #expect(i386.contains("Architecture: i386\n"))
        #expect(i386.contains("Package: x-data\n"))
        #expect(!i386.contains("Architecture: amd64\n"))
        #expect(repo.sourcesLine(baseURL: "http://h/") == "deb [trusted=yes] http://h/ sid main")
    }

    @Test("duplicate packages and unknown suites are refused")
    func validation() async throws {
        let spec = DebPackageSpec(name: "x", version: "1")
        await #expect(throws: StrataError.self) {
            try await DebFixtureRepo.build(
                packages: [spec, spec], suites: [DebSuite(name: "s", codename: "c")], key: nil)
        }
        await #expect(throws: StrataError.self) {
            try await DebFixtureRepo.build(
                packages: [DebPackageSpec(name: "x", version: "1", suites: ["other"])],
                suites: [DebSuite(name: "s", codename: "c")], key: nil)
        }
    }
}
