import Logging

/// The shared logger. The executable sets the level (`--verbose`, `--quiet`); libraries only log.
public enum Log {
    public static let strata = Logger(label: "strata")
}
