#if canImport(Glibc)
internal import Glibc
#elseif canImport(Musl)
internal import Musl
#elseif canImport(Darwin)
internal import Darwin
#endif

/// A value reachable only under a `pthread_mutex_t`: for the package's slow paths that need a
/// lock across threads (the FFI handle table, the stress tester's queues).
///
/// Not `Synchronization.Mutex`: on Linux its lock is a futex taken inside the standard library,
/// which ThreadSanitizer does not instrument, so TSan sees no ordering between two critical
/// sections and reports each pair as a race. pthread mutexes are intercepted by TSan. (The
/// arena's own fast path uses `SpinLock`, built on instrumented atomics.)
package final class Locked<Value>: @unchecked Sendable {
    /// Heap-allocated: a pthread mutex must not move once initialized.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    /// Guarded by `mutex`; only touched in `withLock`.
    private var value: Value

    /// A lock around `value`.
    package init(_ value: Value) {
        self.value = value
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        let code = pthread_mutex_init(mutex, nil)
        precondition(code == 0, "pthread_mutex_init failed: \(code)")
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Runs `body` on the value under the lock. `body` must not release anything whose
    /// deinitialization could take the same lock.
    @inline(__always)
    package func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}
