// The reference validators of SBOM documents, from PyPI in the virtual environment `make
// test-deps` creates (STRATA_TEST_VENV, default /var/tmp/strata-test-venv): spdx-tools'
// `pyspdxtools -i` (parses and validates SPDX 2.3 JSON, including license expressions) and
// cyclonedx-python-lib's strict JSON validator for CycloneDX 1.5.
import Foundation
import StrataCore

public enum SBOMValidators {
    public static var venv: String {
        ProcessInfo.processInfo.environment["STRATA_TEST_VENV"] ?? "/var/tmp/strata-test-venv"
    }

    static func tool(_ name: String) throws -> String {
        let path = "\(venv)/bin/\(name)"
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw StrataError(.notFound, "\(path) is missing: `make test-deps` installs spdx-tools and cyclonedx-python-lib there")
        }
        return path
    }

    /// Validates an SPDX JSON document; throws with the validator's messages when it is invalid.
    public static func spdx(_ path: String) async throws {
        let result = try await Shell.run(try tool("pyspdxtools"), ["-i", path], timeout: .seconds(300), check: false)
        guard result.exitCode == 0 else {
            throw StrataError(
                .verificationFailed, "pyspdxtools -i \(path) (exit \(result.exitCode)):\n\((result.output + result.errorOutput).prefix(4000))")
        }
    }

    /// Validates a CycloneDX 1.5 JSON document against the schema, strictly.
    public static func cycloneDX(_ path: String) async throws {
        let script = """
            import sys
            from cyclonedx.schema import SchemaVersion
            from cyclonedx.validation.json import JsonStrictValidator
            error = JsonStrictValidator(SchemaVersion.V1_5).validate_str(open(sys.argv[1]).read())
            if error:
                print(error)
                sys.exit(1)
            print("valid")
            """
        let result = try await Shell.run(try tool("python"), ["-c", script, path], timeout: .seconds(300), check: false)
        guard result.exitCode == 0, result.output.contains("valid") else {
            throw StrataError(
                .verificationFailed, "CycloneDX 1.5 validation of \(path) (exit \(result.exitCode)):\n\(result.output.prefix(4000))\(result.errorOutput.suffix(2000))")
        }
    }
}
