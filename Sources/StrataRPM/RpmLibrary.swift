// librpm's process-wide state, used by one thread at a time. librpm keeps global state (its log,
// macro context and crypto backend) and does not promise that reading headers from several
// threads is safe, so every call goes through `RpmLibrary.serially`; reading a header takes
// well under a millisecond, and the payload (libarchive, in StrataArchive) is read outside it.
// librpm's messages ("Header SHA256 digest: BAD", "not an rpm package") would go to stderr;
// they are caught here instead and put into the StrataError of the call that caused them.
import CRpm
import Synchronization

/// Serialised access to librpm, with its log messages caught.
enum RpmLibrary {
    /// Held while librpm runs; the flag says whether it has been initialised.
    private static let state = Mutex(false)
    /// Error and warning messages librpm logged during the current `serially` call.
    private static let messages = Mutex<[String]>([])

    /// Runs `body` while no other thread uses librpm, initialising the library first.
    ///
    /// - Parameter body: receives a function that returns (and forgets) the messages librpm
    ///   has logged since `body` started, for error reports.
    /// - Returns: what `body` returns.
    /// - Throws: whatever `body` throws.
    static func serially<T: Sendable>(_ body: (_ takeMessages: () -> [String]) throws -> T) throws -> T {
        try state.withLock { initialised throws -> T in
            if !initialised {
                // Without config files: nothing from the host's /etc/rpm or /usr/lib/rpm applies.
                _ = rpmInitCrypto()
                // Returning 0 (not RPMLOG_DEFAULT) keeps librpm from printing the message too.
                _ = rpmlogSetCallback(
                    { record, _ in
                        guard let record else { return 0 }
                        if rpmlogRecPriority(record).rawValue <= RPMLOG_WARNING.rawValue,
                            let text = rpmlogRecMessage(record)
                        {
                            var message = Substring(String(cString: text))
                            while message.last?.isWhitespace == true { message.removeLast() }
                            RpmLibrary.messages.withLock { $0.append(String(message)) }
                        }
                        return 0
                    }, nil)
                initialised = true
            }
            messages.withLock { $0.removeAll() }
            defer {
                messages.withLock { $0.removeAll() }
                // librpm also keeps every error and warning in a list of its own; empty it.
                rpmlogClose()
            }
            return try body {
                messages.withLock { logged in
                    let taken = logged
                    logged.removeAll()
                    return taken
                }
            }
        }
    }
}
