#if canImport(Glibc)
internal import Glibc
#elseif canImport(Musl)
internal import Musl
#elseif canImport(Darwin)
internal import Darwin
#endif

/// A value reachable only under a `pthread_mutex_t`.
///
/// Not `Synchronization.Mutex`: on Linux its lock is a futex taken inside the standard library,
/// which ThreadSanitizer does not instrument, so TSan sees no ordering between two critical
/// sections and reports each pair as a race. pthread mutexes are intercepted by TSan, and a
/// handle call is not a hot path (tens of nanoseconds either way).
final class Locked<Value>: @unchecked Sendable {
    /// Heap-allocated: a pthread mutex must not move once initialized.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    /// Guarded by `mutex`; only touched in `withLock`.
    private var value: Value

    init(_ value: Value) {
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

    /// Runs `body` on the value under the lock. `body` must not drop the last view of foreign
    /// memory (its release callback may call back in and take the lock again).
    @inline(__always)
    func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}
