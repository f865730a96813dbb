// Commit: the finished tree is checked into the store and named by a ref per target, set and
// architecture (`debian/12/minbase/amd64`), with the lockfile's digest and the template's origin
// in the commit, so `strata list` and `strata show` can say what a template was built from.
import StrataCore
import StrataPackaging
import StrataStore
import StrataTemplate

struct Committer {
    let store: Store

    /// What a commit's trees are made by: a commit of another version is never reused as an
    /// unchanged rebuild (its manifest may lack what an export reads). 1: directories, links and
    /// devices dated in the manifest.
    static let pipelineVersion = "1"

    /// The ref a template's builds are named by: `debian/12/minbase/amd64`.
    static func ref(for spec: TemplateSpec) -> String {
        "\(spec.target.split(separator: "/").prefix(2).joined(separator: "/"))/\(spec.set)/\(spec.architecture.debian)"
    }

    /// The metadata a commit of `spec` from `lock` carries.
    static func metadata(_ spec: TemplateSpec, _ lock: Lockfile) -> [String: String] {
        var metadata = [
            "packages": String(lock.packages.count), "configDigest": spec.configDigest.hex,
            "pipeline": pipelineVersion,
        ]
        // The command line's hooks are not in the configuration digest: the commit names them.
        if let hooks = spec.hooksDigest { metadata["hooks"] = hooks.hex }
        return metadata
    }

    /// The commit the ref of `spec` names when it was built from exactly these inputs (lockfile
    /// bytes, template configuration, hooks, epoch, pipeline): an unchanged rebuild exports it.
    func unchanged(_ spec: TemplateSpec, lock: Lockfile, epoch: Int64) throws -> (SHA256Digest, Commit)? {
        guard let id = try store.ref(Self.ref(for: spec)), let commit = try? store.readCommit(id),
            commit.lockDigest == SHA256Digest.of(try lock.encoded()), commit.timestamp == epoch,
            commit.metadata == Self.metadata(spec, lock), store.containsTree(commit.tree)
        else { return nil }
        return (id, commit)
    }

    /// What a commit records beyond the tree and the lock: for a layer, its base and requests.
    struct Provenance {
        /// The ref the commit is named by.
        var ref: String
        var origin: [String: String]
        var metadata: [String: String]
        /// A layer's base commit: the first parent, kept alive by the layer.
        var base: SHA256Digest?
    }

    /// The provenance of a build of `spec` from `lock`.
    static func provenance(_ spec: TemplateSpec, _ lock: Lockfile) -> Provenance {
        Provenance(
            ref: ref(for: spec),
            origin: [
                "target": spec.target, "set": spec.set, "architecture": spec.architecture.debian, "family": spec.family.rawValue,
            ],
            metadata: metadata(spec, lock))
    }

    func commit(
        root: String, hardlinks: Set<String>, knownObject: (String) -> ObjectID? = { _ in nil }, clampMtime: Int64, lock: Lockfile,
        spec: TemplateSpec
    ) throws -> SHA256Digest {
        try commit(
            root: root, hardlinks: hardlinks, knownObject: knownObject, clampMtime: clampMtime, lock: lock,
            provenance: Self.provenance(spec, lock))
    }

    /// Checks the tree at `root` in and names it by the provenance's ref. The lockfile's bytes
    /// are kept in the blob store (named by the commit's lock digest), for `status` and
    /// `upgrade` to read what a template was made of.
    func commit(
        root: String, hardlinks: Set<String>, knownObject: (String) -> ObjectID? = { _ in nil }, clampMtime: Int64, lock: Lockfile,
        provenance: Provenance
    ) throws -> SHA256Digest {
        let lockBytes = try lock.encoded()
        return try store.withWriterLock {
            let tree = try store.withDeferredSync { batch in
                try batch.checkIn(directory: root, hardlinks: hardlinks, knownObject: knownObject, clampMtime: clampMtime)
            }
            let lockDigest = try store.blobs.ingest(bytes: lockBytes, what: "the lockfile of \(provenance.ref)")
            let ref = provenance.ref
            let parent = try store.ref(ref)
            var parents = provenance.base.map { [$0] } ?? []
            if let parent, !parents.contains(parent) { parents.append(parent) }
            let commit = Commit(
                tree: tree, parents: parents, lockDigest: lockDigest, origin: provenance.origin,
                metadata: provenance.metadata, timestamp: clampMtime)
            // An identical rebuild is the commit the ref already names: history grows only by change.
            if let parent, let previous = try? store.readCommit(parent), previous.tree == commit.tree,
                previous.lockDigest == commit.lockDigest, previous.origin == commit.origin,
                previous.metadata == commit.metadata, previous.timestamp == commit.timestamp,
                previous.parents.first == provenance.base ?? previous.parents.first
            {
                return parent
            }
            let id = try store.writeCommit(commit)
            try store.setRef(ref, to: id)
            return id
        }
    }
}
