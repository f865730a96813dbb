// Values handed from async producers to blocking consumer threads: a build's downloads, as each
// completes, to the import threads that read them into the store (issue 10, item 3). Consumers
// wait on a condition variable, so they belong on threads of their own (Offload, Dispatch), never
// on Swift's cooperative pool.
import Foundation

public final class HandoffQueue<Element: Sendable>: @unchecked Sendable {
    // @unchecked: every access goes through `condition`.
    private let condition = NSCondition()
    private var items: [Element] = []
    private var head = 0
    private var finished = false
    private var failure: (any Error)?

    public init() {}

    /// Adds `element` for the next consumer; ignored once the queue has ended.
    public func push(_ element: Element) {
        condition.withLock {
            guard !finished else { return }
            items.append(element)
            condition.signal()
        }
    }

    /// No more elements: consumers take what is left, then get `nil`.
    public func finish() {
        condition.withLock {
            finished = true
            condition.broadcast()
        }
    }

    /// The producer failed (or a consumer gave up): every waiting and later ``next()`` throws
    /// `error`, and what was not taken yet is dropped. The first failure is the one kept.
    public func fail(_ error: any Error) {
        condition.withLock {
            if failure == nil { failure = error }
            finished = true
            items.removeAll()
            head = 0
            condition.broadcast()
        }
    }

    /// Waits until an element is there or the queue has ended (for a consumer that should take a
    /// lock only once there is work).
    @available(*, noasync, message: "waits on a condition variable: call it from a thread of its own")
    public func waitForFirst() {
        condition.withLock {
            while head == items.count && !finished { condition.wait() }
        }
    }

    /// The next element, waiting for one; `nil` when the queue finished and is empty.
    /// - Throws: the error given to ``fail(_:)``.
    @available(*, noasync, message: "waits on a condition variable: call it from a thread of its own")
    public func next() throws -> Element? {
        try condition.withLock {
            while head == items.count && !finished { condition.wait() }
            if let failure { throw failure }
            guard head < items.count else { return nil }
            let element = items[head]
            head += 1
            if head == items.count {
                items.removeAll(keepingCapacity: true)
                head = 0
            }
            return element
        }
    }
}
