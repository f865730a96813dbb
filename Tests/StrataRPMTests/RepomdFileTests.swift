import Foundation
import StrataCore
import StrataRPM
import Testing

@Suite("repomd.xml parsing", .timeLimit(.minutes(1)))
struct RepomdFileTests {
    static let sample = """
        <?xml version="1.0" encoding="UTF-8"?>
        <repomd xmlns="http://linux.duke.edu/metadata/repo" xmlns:rpm="http://linux.duke.edu/metadata/rpm">
          <revision>1700000000</revision>
          <data type="primary">
            <checksum type="sha256">90dcbcb320635cb53f629c1b2a9417bceee9513bf0930d36057d2e2a37ea3612</checksum>
            <open-checksum type="sha256">cf70dc07ad8e99740e3d8d77f4a55209838aed3dd641e4aa5408448456a168b4</open-checksum>
            <location href="repodata/90dc-primary.xml.gz"/>
            <timestamp>1700000001</timestamp>
            <size>586</size>
            <open-size>2084</open-size>
          </data>
          <data type="filelists">
            <checksum type="sha256">d4a09a38362b86c34739cb41aee31176e3ee5cd448111b56b92e7d8b104bc2b1</checksum>
            <location href="repodata/d4a0-filelists.xml.gz"/>
            <size>228</size>
          </data>
        </repomd>
        """

    @Test("createrepo_c's repomd.xml: revision and every field of a data entry")
    func parsesCreaterepoOutput() throws {
        let repomd = try RepomdFile(bytes: Array(Self.sample.utf8), what: "sample")
        #expect(repomd.revision == "1700000000")
        #expect(Set(repomd.entries.keys) == ["primary", "filelists"])
        let primary = try #require(repomd.entries["primary"])
        #expect(primary.location == "repodata/90dc-primary.xml.gz")
        #expect(
            primary.checksum
                == .init(type: "sha256", hex: "90dcbcb320635cb53f629c1b2a9417bceee9513bf0930d36057d2e2a37ea3612"))
        #expect(primary.openChecksum?.hex == "cf70dc07ad8e99740e3d8d77f4a55209838aed3dd641e4aa5408448456a168b4")
        #expect(primary.size == 586)
        #expect(primary.openSize == 2084)
        #expect(primary.timestamp == Date(timeIntervalSince1970: 1_700_000_001))
        #expect(repomd.entries["filelists"]?.openSize == nil)
    }

    @Test(
        "malformed input is refused, naming the file",
        arguments: [
            ("<repomd><data type=\"primary\"><location href=\"repodata/p.xml.gz\"/>", "not a valid repomd.xml"),
            ("<repomd><data type=\"primary\"><size>12</size></data></repomd>", "no <location href>"),
            ("<repomd><data type=\"primary\"><location href=\"../../etc/p.xml.gz\"/></data></repomd>", "leaves"),
            ("<repomd><data type=\"primary\"><location href=\"/p.xml.gz\"/></data></repomd>", "leaves"),
            ("<repomd><data type=\"primary\"><size>big</size></data></repomd>", "not a number"),
            (
                "<repomd><data type=\"primary\"><location xml:base=\"http://elsewhere/\" href=\"p\"/></data></repomd>",
                "xml:base"
            ),
            ("<other/>", "no <repomd>"),
        ])
    func refusesMalformed(text: String, reason: String) throws {
        let error = #expect(throws: StrataError.self) { try RepomdFile(bytes: Array(text.utf8), what: "bad.xml") }
        #expect(error?.code == .invalidInput)
        #expect(error?.message.hasPrefix("bad.xml") == true)
        #expect(error?.message.contains(reason) == true, "\(error?.message ?? "")")
    }
}
