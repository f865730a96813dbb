import StrataCore

/// One meaningful line of a `*.list` file.
enum PackageListEntry: Sendable, Equatable {
    /// `name`
    case add(String)
    /// `name-`
    case drop(String)
    /// `?essential`, `?priority(required)`
    case select(PackageSelector)
    /// `?priority(required)-`
    case dropSelector(PackageSelector)
    /// `@include SET`
    case include(String)
    /// `@base SET`: this set is an application template, a layer onto the built SET.
    case base(String)
}

/// A package set being built, line by line: the state `*.list` lines act on.
///
/// Packages and selectors keep first-seen order. A drop removes the name and remembers it in
/// `dropped` (the resolver also removes it from what selectors match); adding it again later
/// forgets the drop.
struct PackageList: Sendable, Equatable {
    private(set) var packages: [String] = []
    private(set) var selectors: [PackageSelector] = []
    private(set) var dropped: [String] = []
    /// Where each package and each drop was last written, for messages that find them wrong late
    /// (a name no repository has, a drop that something else pulls back in).
    private(set) var origins: [String: SourceLocation] = [:]
    /// `@base SET` (the lowest level's wins) and where it was written: the set is an application
    /// template, layered onto SET's commit (docs/templates.md).
    var base: String?
    var baseLocation: SourceLocation?
    /// Where each selector was written, or the `@include` that brought it: an application
    /// template refuses selectors at that line.
    private(set) var selectorOrigins: [PackageSelector: SourceLocation] = [:]

    mutating func add(_ name: String, at location: SourceLocation? = nil) {
        dropped.removeAll { $0 == name }
        if !packages.contains(name) { packages.append(name) }
        if let location { origins[name] = location }
    }

    mutating func drop(_ name: String, at location: SourceLocation? = nil) {
        packages.removeAll { $0 == name }
        if !dropped.contains(name) { dropped.append(name) }
        if let location { origins[name] = location }
    }

    mutating func select(_ selector: PackageSelector, at location: SourceLocation? = nil) {
        if !selectors.contains(selector) { selectors.append(selector) }
        if let location { selectorOrigins[selector] = location }
    }

    mutating func dropSelector(_ selector: PackageSelector) {
        selectors.removeAll { $0 == selector }
    }

    /// `@include`: the other set's result, applied as if its lines were written here.
    mutating func include(_ other: PackageList, at location: SourceLocation? = nil) {
        for name in other.dropped { drop(name, at: other.origins[name]) }
        for name in other.packages { add(name, at: other.origins[name]) }
        for selector in other.selectors { select(selector, at: location) }
    }

    mutating func apply(_ entry: PackageListEntry, at location: SourceLocation? = nil) {
        switch entry {
        case .add(let name): add(name, at: location)
        case .drop(let name): drop(name, at: location)
        case .select(let selector): select(selector, at: location)
        case .dropSelector(let selector): dropSelector(selector)
        case .include: break  // resolved by PackageListResolver, which has the other sets
        case .base(let set):
            base = set
            baseLocation = location
        }
    }
}
