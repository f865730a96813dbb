/// "Did you mean …?" for misspelt directives, selectors and variables.
public enum NameSuggestion {
    /// The candidate closest to `name` by edit distance, when it is close enough to be a typo
    /// (at most two edits, and fewer than half the name).
    public static func closest(to name: String, in candidates: [String]) -> String? {
        let scored = candidates.map { ($0, distance(name, $0)) }
        guard let best = scored.min(by: { $0.1 < $1.1 }) else { return nil }
        let limit = min(2, max(1, name.count / 2))
        return best.1 <= limit ? best.0 : nil
    }

    /// `" (did you mean 'x'?)"` or the empty string.
    public static func hint(for name: String, in candidates: [String]) -> String {
        guard let match = closest(to: name, in: candidates) else { return "" }
        return " (did you mean '\(match)'?)"
    }

    /// Levenshtein distance over characters.
    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a)
        let b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}
