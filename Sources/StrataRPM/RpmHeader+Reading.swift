// Reading an rpm's lead, signature header and header with librpm (rpmReadPackageFile), then the
// tags strata needs into an ``RpmHeader``. Signatures are not checked (the caller has checked
// the file's SHA-256 against signed repository metadata, so no keyring is loaded, from the host
// or anywhere), but the header's own digests are: a flipped byte in the header is refused by
// librpm ("Header SHA256 digest: BAD"). Files come through rpmfiles, which also checks that the
// per-file arrays agree in length and works out hard-link sets as rpm's installer does.
import CRpm
import StrataCore

#if canImport(Glibc)
    import Glibc
#endif

/// A package's header as ``RpmArchive`` uses it: the value, and what reading the payload needs.
struct PackageHead: Sendable {
    /// The header value.
    var header: RpmHeader
    /// Where the payload starts in the file.
    var payloadOffset: Int64
    /// `PAYLOADDIGEST`: the SHA-256 (hex) of the payload as stored; `nil` when the header has
    /// none (rpm before 4.14) or uses another algorithm.
    var payloadSHA256: String?
    /// Hard-link sets, each the indices into `header.files` of regular non-ghost files sharing
    /// an inode, in header order (rpm's `rpmfilesFLinks`).
    var hardlinkSets: [[Int]]
}

/// A librpm `Header` and the tag reads ``PackageHead/read(fileDescriptor:what:)`` makes.
final class HeaderHandle {
    let header: Header
    let what: String

    init(_ header: Header, what: String) {
        self.header = header
        self.what = what
    }

    deinit { headerFree(header) }

    func has(_ tag: rpmTagVal) -> Bool { headerIsEntry(header, tag) != 0 }

    /// A string tag, `nil` when absent.
    /// - Throws: ``StrataError`` `.invalidInput` when it is not UTF-8.
    func string(_ tag: rpmTagVal, _ name: String) throws -> String? {
        guard let pointer = headerGetString(header, tag) else { return nil }
        guard let value = String(validatingCString: pointer) else {
            throw StrataError(.invalidInput, "\(what): header tag \(name) is not UTF-8")
        }
        return value
    }

    /// A number tag (of any integer width), `nil` when absent.
    func number(_ tag: rpmTagVal) -> UInt64? {
        has(tag) ? headerGetNumber(header, tag) : nil
    }

    /// Every string of a string or string-array tag; empty when absent.
    func strings(_ tag: rpmTagVal, _ name: String) throws -> [String] {
        try withData(tag) { td in
            var out: [String] = []
            while let pointer = rpmtdNextString(td) {
                guard let value = String(validatingCString: pointer) else {
                    throw StrataError(.invalidInput, "\(what): header tag \(name) is not UTF-8")
                }
                out.append(value)
            }
            return out
        }
    }

    /// Every number of an integer or integer-array tag; empty when absent.
    func numbers(_ tag: rpmTagVal) -> [UInt64] {
        (try? withData(tag) { td in
            var out: [UInt64] = []
            while rpmtdNext(td) >= 0 { out.append(rpmtdGetNumber(td)) }
            return out
        }) ?? []
    }

    private func withData<T>(_ tag: rpmTagVal, _ body: (rpmtd) throws -> [T]) throws -> [T] {
        guard let td = rpmtdNew() else { return [] }
        defer { rpmtdFree(td) }
        guard headerGet(header, tag, td, headerGetFlags(HEADERGET_MINMEM.rawValue)) != 0 else { return [] }
        defer { rpmtdFreeData(td) }
        return try body(td)
    }
}

@available(*, unavailable)
extension HeaderHandle: Sendable {}

/// `rpmTag_e` constants as the `rpmTagVal` librpm's functions take.
func tag(_ value: rpmTag_e) -> rpmTagVal { rpmTagVal(value.rawValue) }

extension PackageHead {
    /// Reads the lead, signature and header of the package open as `fileDescriptor`, leaving
    /// its file offset at the start of the payload.
    ///
    /// - Parameters:
    ///   - fileDescriptor: the package, open for reading at offset 0. Not closed.
    ///   - what: names the package in errors.
    /// - Throws: ``StrataError`` `.invalidInput` with librpm's words for a file that is not an
    ///   rpm, a header whose digest does not match, inconsistent file lists, a source package,
    ///   a file path that is not absolute and normalised; `.io` when the file cannot be read.
    static func read(fileDescriptor: Int32, what: String) throws -> PackageHead {
        try RpmLibrary.serially { takeMessages in
            func failure(_ summary: String) -> StrataError {
                let words = takeMessages()
                return StrataError(
                    .invalidInput, "\(what): \(summary)\(words.isEmpty ? "" : ": ")\(words.joined(separator: "; "))")
            }
            guard let rpmfd = fdDup(fileDescriptor) else {
                throw StrataError(.io, "\(what): cannot duplicate the descriptor: \(StrataError.reason(errno: errno))")
            }
            defer { Fclose(rpmfd) }
            guard let ts = rpmtsCreate() else { throw StrataError.internalError("rpmtsCreate failed") }
            defer { rpmtsFree(ts) }
            // An empty keyring of our own, so librpm never loads one from the host's rpmdb.
            let keyring = rpmKeyringNew()
            _ = rpmtsSetKeyring(ts, keyring)
            rpmKeyringFree(keyring)
            _ = rpmtsSetVSFlags(ts, strata_rpm_vsflags_no_signatures())

            var native: Header?
            let status = rpmReadPackageFile(ts, rpmfd, what, &native)
            guard status == RPMRC_OK, let native else {
                throw failure(status == RPMRC_NOTFOUND ? "not an rpm package" : "cannot read the rpm header")
            }
            let handle = HeaderHandle(native, what: what)
            // rpmReadPackageFile reads through fdio without buffering, so the shared file offset
            // is exactly the end of the header.
            let offset = lseek(fileDescriptor, 0, SEEK_CUR)
            guard offset > 0 else {
                throw StrataError(.io, "\(what): cannot tell the payload offset: \(StrataError.reason(errno: errno))")
            }
            guard headerIsSource(native) == 0 else {
                throw StrataError(.invalidInput, "\(what): is a source package, not a binary rpm")
            }
            let format = try handle.string(tag(RPMTAG_PAYLOADFORMAT), "PAYLOADFORMAT") ?? "cpio"
            guard format == "cpio" else {
                throw StrataError(.invalidInput, "\(what): payload format '\(format)' is not supported (only cpio)")
            }
            guard !handle.has(tag(RPMTAG_LONGFILESIZES)) else {
                throw StrataError(
                    .invalidInput,
                    "\(what): has files of 4 GiB or more, whose stripped cpio payload is not supported")
            }

            let (files, hardlinkSets) = try readFiles(handle, failure: failure)
            let header = RpmHeader(
                name: try handle.string(tag(RPMTAG_NAME), "NAME") ?? "",
                epoch: handle.number(tag(RPMTAG_EPOCH)).map { Int(truncatingIfNeeded: $0) },
                version: try handle.string(tag(RPMTAG_VERSION), "VERSION") ?? "",
                release: try handle.string(tag(RPMTAG_RELEASE), "RELEASE") ?? "",
                architecture: try handle.string(tag(RPMTAG_ARCH), "ARCH") ?? "",
                files: files, scriptlets: try readScriptlets(handle), triggers: try readTriggers(handle),
                fileTriggers: try readFileTriggers(handle), license: try handle.string(tag(RPMTAG_LICENSE), "LICENSE"),
                vendor: try handle.string(tag(RPMTAG_VENDOR), "VENDOR"), url: try handle.string(tag(RPMTAG_URL), "URL"),
                sourceRPM: try handle.string(tag(RPMTAG_SOURCERPM), "SOURCERPM"))
            guard !header.name.isEmpty, !header.version.isEmpty, !header.release.isEmpty else {
                throw StrataError(.invalidInput, "\(what): header lacks a name, version or release")
            }

            var payloadSHA256: String?
            // PAYLOADDIGESTALGO 8 is SHA-256 (RFC 4880's number), the only one rpm writes.
            if handle.number(tag(RPMTAG_PAYLOADDIGESTALGO)) == 8,
                let digest = try handle.strings(tag(RPMTAG_PAYLOADDIGEST), "PAYLOADDIGEST").first
            {
                payloadSHA256 = digest.lowercased()
            }
            return PackageHead(
                header: header, payloadOffset: Int64(offset), payloadSHA256: payloadSHA256,
                hardlinkSets: hardlinkSets)
        }
    }

    /// The files, through rpmfiles, and their hard-link sets.
    private static func readFiles(
        _ handle: HeaderHandle, failure: (String) -> StrataError
    ) throws -> ([RpmFile], [[Int]]) {
        let what = handle.what
        guard handle.has(tag(RPMTAG_BASENAMES)) else { return ([], []) }
        let skipped =
            RPMFI_NOFILECLASS.rawValue | RPMFI_NOFILEDEPS.rawValue | RPMFI_NOFILECOLORS.rawValue
            | RPMFI_NOFILEVERIFYFLAGS.rawValue | RPMFI_NOFILESIGNATURES.rawValue | RPMFI_NOVERITYSIGNATURES.rawValue
        guard let files = rpmfilesNew(nil, handle.header, tag(RPMTAG_BASENAMES), rpmfiFlags(skipped)) else {
            throw failure("inconsistent file lists in the header")
        }
        defer { rpmfilesFree(files) }
        let count = Int(rpmfilesFC(files))
        // Digests as stored (hex), which is also what `rpm -q --qf %{FILEDIGESTS}` prints;
        // rpmfiles would give zero bytes for files without one.
        let digests = try handle.strings(tag(RPMTAG_FILEDIGESTS), "FILEDIGESTS")
        guard digests.isEmpty || digests.count == count else { throw failure("FILEDIGESTS has the wrong length") }
        let algorithmNumber = Int(handle.number(tag(RPMTAG_FILEDIGESTALGO)) ?? 1)

        var out: [RpmFile] = []
        var sets: [[Int]] = []
        var seen: Set<String> = []
        out.reserveCapacity(count)
        for ix in 0..<count {
            let index = Int32(ix)
            guard let raw = rpmfilesFN(files, index) else { throw failure("file \(ix) has no name") }
            defer { free(raw) }
            guard let path = String(validatingCString: raw) else {
                throw StrataError(.invalidInput, "\(what): file \(ix)'s path is not UTF-8")
            }
            try checkHeaderPath(path, what: what)
            guard seen.insert(path).inserted else {
                throw StrataError(.invalidInput, "\(what): header lists '\(path)' twice")
            }
            let mode = UInt32(rpmfilesFMode(files, index))
            guard let user = rpmfilesFUser(files, index).flatMap({ String(validatingCString: $0) }),
                let group = rpmfilesFGroup(files, index).flatMap({ String(validatingCString: $0) }),
                !user.isEmpty, !group.isEmpty
            else { throw StrataError(.invalidInput, "\(what): '\(path)' has no owner or group name") }
            var linkTarget: String?
            if mode & RpmFileType.typeMask == RpmFileType.symlink {
                guard let target = rpmfilesFLink(files, index).flatMap({ String(validatingCString: $0) }),
                    !target.isEmpty
                else { throw StrataError(.invalidInput, "\(what): symlink '\(path)' has no target") }
                linkTarget = target
            }
            var digest: RpmFile.Digest?
            if !digests.isEmpty, !digests[ix].isEmpty {
                guard let algorithm = RpmFile.Digest.Algorithm(pgpNumber: algorithmNumber) else {
                    throw StrataError(.invalidInput, "\(what): unknown file digest algorithm \(algorithmNumber)")
                }
                digest = RpmFile.Digest(algorithm: algorithm, hex: digests[ix].lowercased())
            }
            let caps = rpmfilesFCaps(files, index).flatMap { String(validatingCString: $0) } ?? ""
            let lang = rpmfilesFLangs(files, index).flatMap { String(validatingCString: $0) } ?? ""
            out.append(
                RpmFile(
                    path: path, mode: mode, user: user, group: group, mtime: Int64(rpmfilesFMtime(files, index)),
                    size: UInt64(rpmfilesFSize(files, index)),
                    flags: RpmFile.Flags(rawValue: rpmfilesFFlags(files, index)),
                    linkTarget: linkTarget, inode: UInt32(rpmfilesFInode(files, index)),
                    rdev: UInt32(rpmfilesFRdev(files, index)), digest: digest, capabilities: caps.isEmpty ? nil : caps,
                    lang: lang.isEmpty ? nil : lang))

            var links: UnsafePointer<Int32>?
            let n = Int(rpmfilesFLinks(files, index, &links))
            if n > 1, let links, links[0] == index {
                sets.append((0..<n).map { Int(links[$0]) })
            }
        }
        return (out, sets)
    }

    /// Refuses a header path that is not absolute and normalised: payload paths are matched
    /// against these, and the installer writes where they say.
    static func checkHeaderPath(_ path: String, what: String) throws {
        guard path.hasPrefix("/"), !path.utf8.contains(0) else {
            throw StrataError(.invalidInput, "\(what): header file path '\(path)' is not absolute")
        }
        if path == "/" { return }
        let components = path.dropFirst().split(separator: "/", omittingEmptySubsequences: false)
        guard !components.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) else {
            throw StrataError(.invalidInput, "\(what): header file path '\(path)' has '..', '.' or empty components")
        }
    }

    /// The scriptlet tags, in `rpm -q --scripts` order: (kind, body, program, flags). The
    /// `%preuntrans`/`%postuntrans` tags are rpm 4.20's, which rpm 4.18's headers do not name.
    private static let scriptletTags: [(RpmScriptlet.Kind, rpmTagVal, rpmTagVal, rpmTagVal)] = [
        (.pretrans, tag(RPMTAG_PRETRANS), tag(RPMTAG_PRETRANSPROG), tag(RPMTAG_PRETRANSFLAGS)),
        (.pre, tag(RPMTAG_PREIN), tag(RPMTAG_PREINPROG), tag(RPMTAG_PREINFLAGS)),
        (.post, tag(RPMTAG_POSTIN), tag(RPMTAG_POSTINPROG), tag(RPMTAG_POSTINFLAGS)),
        (.preun, tag(RPMTAG_PREUN), tag(RPMTAG_PREUNPROG), tag(RPMTAG_PREUNFLAGS)),
        (.postun, tag(RPMTAG_POSTUN), tag(RPMTAG_POSTUNPROG), tag(RPMTAG_POSTUNFLAGS)),
        (.posttrans, tag(RPMTAG_POSTTRANS), tag(RPMTAG_POSTTRANSPROG), tag(RPMTAG_POSTTRANSFLAGS)),
        (.preuntrans, 5103, 5105, 5107),
        (.postuntrans, 5104, 5106, 5108),
        (.verify, tag(RPMTAG_VERIFYSCRIPT), tag(RPMTAG_VERIFYSCRIPTPROG), tag(RPMTAG_VERIFYSCRIPTFLAGS)),
    ]

    private static func readScriptlets(_ handle: HeaderHandle) throws -> [RpmScriptlet] {
        var out: [RpmScriptlet] = []
        for (kind, bodyTag, programTag, flagsTag) in scriptletTags
        where handle.has(bodyTag) || handle.has(programTag) {
            let program = try handle.strings(programTag, "%\(kind) interpreter")
            out.append(
                RpmScriptlet(
                    kind: kind, interpreter: program.isEmpty ? ["/bin/sh"] : program,
                    body: try handle.string(bodyTag, "%\(kind) body"),
                    flags: RpmScriptletFlags(rawValue: UInt32(truncatingIfNeeded: handle.number(flagsTag) ?? 0))))
        }
        return out
    }

    /// One trigger family's parallel arrays, grouped by script: each script with the
    /// (name, version, flags) entries whose index points at it.
    private struct TriggerTable {
        var scripts: [String]
        var programs: [String]
        var scriptFlags: [UInt64]
        var entries: [[(name: String, version: String, flags: UInt64)]]

        init(
            _ handle: HeaderHandle, family: String, name: rpmTag_e, version: rpmTag_e, flags: rpmTag_e,
            index: rpmTag_e, scripts: rpmTag_e, programs: rpmTag_e, scriptFlags: rpmTag_e
        ) throws {
            let what = handle.what
            let names = try handle.strings(tag(name), "\(family)NAME")
            var versions = try handle.strings(tag(version), "\(family)VERSION")
            let flagValues = handle.numbers(tag(flags))
            let indexes = handle.numbers(tag(index))
            self.scripts = try handle.strings(tag(scripts), "\(family)SCRIPTS")
            self.programs = try handle.strings(tag(programs), "\(family)SCRIPTPROG")
            self.scriptFlags = handle.numbers(tag(scriptFlags))
            if versions.isEmpty { versions = Array(repeating: "", count: names.count) }
            guard versions.count == names.count, flagValues.count == names.count, indexes.count == names.count,
                self.programs.count == self.scripts.count,
                self.scriptFlags.isEmpty || self.scriptFlags.count == self.scripts.count
            else { throw StrataError(.invalidInput, "\(what): inconsistent \(family) tags in the header") }
            entries = Array(repeating: [], count: self.scripts.count)
            for i in names.indices {
                guard indexes[i] < UInt64(self.scripts.count) else {
                    throw StrataError(.invalidInput, "\(what): \(family)INDEX \(indexes[i]) has no script")
                }
                entries[Int(indexes[i])].append((names[i], versions[i], flagValues[i]))
            }
            for (j, list) in entries.enumerated() where list.isEmpty {
                throw StrataError(.invalidInput, "\(what): \(family) script \(j) has no condition")
            }
        }

        /// The one trigger sense (`RPMSENSE_TRIGGER*`) all of script `j`'s entries share.
        func sense(_ j: Int, what: String, family: String) throws -> UInt64 {
            let mask =
                UInt64(RPMSENSE_TRIGGERIN.rawValue | RPMSENSE_TRIGGERUN.rawValue)
                | UInt64(RPMSENSE_TRIGGERPOSTUN.rawValue | RPMSENSE_TRIGGERPREIN.rawValue)
            let senses = Set(entries[j].map { $0.flags & mask })
            guard senses.count == 1, let sense = senses.first, sense.nonzeroBitCount == 1 else {
                throw StrataError(.invalidInput, "\(what): \(family) script \(j) has no single trigger type")
            }
            return sense
        }

        func flags(_ j: Int) -> RpmScriptletFlags {
            RpmScriptletFlags(rawValue: UInt32(truncatingIfNeeded: scriptFlags.isEmpty ? 0 : scriptFlags[j]))
        }
    }

    private static func readTriggers(_ handle: HeaderHandle) throws -> [RpmTrigger] {
        let table = try TriggerTable(
            handle, family: "TRIGGER", name: RPMTAG_TRIGGERNAME, version: RPMTAG_TRIGGERVERSION,
            flags: RPMTAG_TRIGGERFLAGS, index: RPMTAG_TRIGGERINDEX, scripts: RPMTAG_TRIGGERSCRIPTS,
            programs: RPMTAG_TRIGGERSCRIPTPROG, scriptFlags: RPMTAG_TRIGGERSCRIPTFLAGS)
        return try table.scripts.indices.map { j in
            let kind: RpmTrigger.Kind
            switch try table.sense(j, what: handle.what, family: "TRIGGER") {
            case UInt64(RPMSENSE_TRIGGERPREIN.rawValue): kind = .prein
            case UInt64(RPMSENSE_TRIGGERIN.rawValue): kind = .in
            case UInt64(RPMSENSE_TRIGGERUN.rawValue): kind = .un
            default: kind = .postun
            }
            let conditions = table.entries[j].map { entry in
                RpmTrigger.Condition(
                    name: entry.name, relation: relation(entry.flags),
                    version: entry.version.isEmpty ? nil : entry.version)
            }
            return RpmTrigger(
                kind: kind, conditions: conditions, interpreter: [table.programs[j]], body: table.scripts[j],
                flags: table.flags(j))
        }
    }

    private static func readFileTriggers(_ handle: HeaderHandle) throws -> [RpmFileTrigger] {
        var out: [RpmFileTrigger] = []
        for transaction in [false, true] {
            let family = transaction ? "TRANSFILETRIGGER" : "FILETRIGGER"
            let table =
                transaction
                ? try TriggerTable(
                    handle, family: family, name: RPMTAG_TRANSFILETRIGGERNAME,
                    version: RPMTAG_TRANSFILETRIGGERVERSION, flags: RPMTAG_TRANSFILETRIGGERFLAGS,
                    index: RPMTAG_TRANSFILETRIGGERINDEX, scripts: RPMTAG_TRANSFILETRIGGERSCRIPTS,
                    programs: RPMTAG_TRANSFILETRIGGERSCRIPTPROG, scriptFlags: RPMTAG_TRANSFILETRIGGERSCRIPTFLAGS)
                : try TriggerTable(
                    handle, family: family, name: RPMTAG_FILETRIGGERNAME, version: RPMTAG_FILETRIGGERVERSION,
                    flags: RPMTAG_FILETRIGGERFLAGS, index: RPMTAG_FILETRIGGERINDEX,
                    scripts: RPMTAG_FILETRIGGERSCRIPTS, programs: RPMTAG_FILETRIGGERSCRIPTPROG,
                    scriptFlags: RPMTAG_FILETRIGGERSCRIPTFLAGS)
            let priorities = handle.numbers(
                tag(transaction ? RPMTAG_TRANSFILETRIGGERPRIORITIES : RPMTAG_FILETRIGGERPRIORITIES))
            guard priorities.isEmpty || priorities.count == table.scripts.count else {
                throw StrataError(.invalidInput, "\(handle.what): inconsistent \(family)PRIORITIES in the header")
            }
            for j in table.scripts.indices {
                let kind: RpmFileTrigger.Kind
                switch try table.sense(j, what: handle.what, family: family) {
                case UInt64(RPMSENSE_TRIGGERIN.rawValue): kind = transaction ? .transfiletriggerin : .filetriggerin
                case UInt64(RPMSENSE_TRIGGERUN.rawValue): kind = transaction ? .transfiletriggerun : .filetriggerun
                case UInt64(RPMSENSE_TRIGGERPOSTUN.rawValue):
                    kind = transaction ? .transfiletriggerpostun : .filetriggerpostun
                default:
                    throw StrataError(.invalidInput, "\(handle.what): \(family) script \(j) is a prein trigger")
                }
                out.append(
                    RpmFileTrigger(
                        kind: kind, prefixes: table.entries[j].map(\.name), interpreter: [table.programs[j]],
                        body: table.scripts[j],
                        priority: priorities.isEmpty ? 1_000_000 : Int(truncatingIfNeeded: priorities[j]),
                        flags: table.flags(j)))
            }
        }
        return out
    }

    /// The comparison in an `RPMSENSE_LESS|GREATER|EQUAL` flag word, `nil` for none.
    private static func relation(_ flags: UInt64) -> String? {
        let less = flags & UInt64(RPMSENSE_LESS.rawValue) != 0
        let greater = flags & UInt64(RPMSENSE_GREATER.rawValue) != 0
        let equal = flags & UInt64(RPMSENSE_EQUAL.rawValue) != 0
        switch (less, greater, equal) {
        case (true, false, false): return "<"
        case (true, false, true): return "<="
        case (false, true, false): return ">"
        case (false, true, true): return ">="
        case (false, false, true): return "="
        default: return nil
        }
    }
}
