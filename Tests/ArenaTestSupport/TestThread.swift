// A POSIX thread for tests that need a thread of their own (not a task of the cooperative pool):
// one that exits, so its thread-local chunks are given back, or one that runs while the test's
// thread does something else.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A POSIX thread running a closure; `join()` waits for it to exit.
package final class TestThread: @unchecked Sendable {
    private var thread = pthread_t()
    private let body: () -> Void

    /// Starts a thread that runs `body`.
    package init(_ body: @escaping () -> Void) {
        self.body = body
        let context = Unmanaged.passRetained(self).toOpaque()
        #if canImport(Darwin)
        var started: pthread_t?
        let code = pthread_create(&started, nil, { TestThread.run($0) }, context)
        thread = started!
        #else
        let code = pthread_create(&thread, nil, { TestThread.run($0) }, context)
        #endif
        precondition(code == 0, "pthread_create failed: \(code)")
    }

    #if canImport(Darwin)
    private static func run(_ context: UnsafeMutableRawPointer) -> UnsafeMutableRawPointer? {
        Unmanaged<TestThread>.fromOpaque(context).takeRetainedValue().body()
        return nil
    }
    #else
    private static func run(_ context: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
        Unmanaged<TestThread>.fromOpaque(context!).takeRetainedValue().body()
        return nil
    }
    #endif

    /// Waits for the thread to exit (its thread-local destructors included).
    package func join() {
        pthread_join(thread, nil)
    }

    /// Runs `body` on a new thread and waits for the thread to exit.
    package static func run(_ body: @escaping () -> Void) {
        TestThread(body).join()
    }
}
