/// strata's version: `strata --version`, and what an OCI image's annotations and history name.
public enum StrataVersion {
    public static let string = "0.1.0"
}
