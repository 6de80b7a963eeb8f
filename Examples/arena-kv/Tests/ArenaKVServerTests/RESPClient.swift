import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One RESP2 reply, as the server sent it.
enum RESPValue: Equatable, Sendable, CustomStringConvertible {
    /// `+text`
    case simple(String)
    /// `-text` (without the leading `-`).
    case error(String)
    /// `:number`
    case integer(Int)
    /// `$length` and the bytes, or `nil` for the null bulk string `$-1`.
    case bulk([UInt8]?)
    /// `*count` and the elements, or `nil` for the null array `*-1`.
    case array([RESPValue]?)

    /// A bulk string holding the UTF-8 bytes of `text`.
    static func bulk(_ text: String) -> RESPValue { .bulk(Array(text.utf8)) }

    var description: String {
        switch self {
        case .simple(let text): return "+\(text)"
        case .error(let text): return "-\(text)"
        case .integer(let number): return ":\(number)"
        case .bulk(nil): return "$-1 (nil)"
        case .bulk(let bytes?):
            let shown = RESPValue.escape(bytes.prefix(80))
            return bytes.count > 80 ? "$\(bytes.count) \"\(shown)…\"" : "$\(bytes.count) \"\(shown)\""
        case .array(nil): return "*-1 (nil)"
        case .array(let elements?):
            let shown = elements.prefix(8).map(\.description).joined(separator: ", ")
            return elements.count > 8 ? "*\(elements.count) [\(shown), …]" : "*\(elements.count) [\(shown)]"
        }
    }

    /// `bytes` as printable ASCII, with everything else escaped (`\r`, `\n`, `\xNN`).
    static func escape<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> String {
        var text = ""
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "\r"): text += "\\r"
            case UInt8(ascii: "\n"): text += "\\n"
            case UInt8(ascii: "\\"): text += "\\\\"
            case UInt8(ascii: "\""): text += "\\\""
            case 0x20..<0x7F: text.unicodeScalars.append(Unicode.Scalar(byte))
            default: text += (byte < 0x10 ? "\\x0" : "\\x") + String(byte, radix: 16, uppercase: true)
            }
        }
        return text
    }
}

/// `close(2)`, which `RESPClient.close()` hides inside the class.
private func respClientCloseSocket(_ descriptor: Int32) { _ = close(descriptor) }

/// `send(2)`, which `RESPClient.send(_:)` hides inside the class.
private func respClientSend(_ descriptor: Int32, _ bytes: UnsafeRawPointer, _ count: Int, _ flags: Int32) -> Int {
    send(descriptor, bytes, count, flags)
}

/// Records an issue unless the reply `actual` is `expected` (`nil`: the connection closed),
/// showing both: `#expect(try client.command(…) == …)` would not show the reply it got.
func expectReply(
    _ actual: RESPValue?,
    _ expected: RESPValue?,
    _ comment: Comment? = nil,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(actual == expected, comment, sourceLocation: sourceLocation)
}

/// What went wrong talking to the server.
enum RESPClientError: Error, CustomStringConvertible {
    /// `socket` or `connect` failed with this `errno`.
    case connect(port: Int, errno: Int32)
    /// No reply (or no room to send) within the client's timeout.
    case timedOut(String)
    /// The server closed the connection where the client still expected a reply.
    case closedByPeer(String)
    /// A system call failed with this `errno`.
    case system(String, errno: Int32)
    /// The server sent bytes that are not a RESP2 reply.
    case malformedReply(String)

    var description: String {
        switch self {
        case .connect(let port, let code): "cannot connect to 127.0.0.1:\(port): \(String(cString: strerror(code)))"
        case .timedOut(let what): "timed out: \(what)"
        case .closedByPeer(let what): "the server closed the connection: \(what)"
        case .system(let call, let code): "\(call) failed: \(String(cString: strerror(code)))"
        case .malformedReply(let what): "malformed reply: \(what)"
        }
    }
}

/// A small blocking RESP2 client over a raw TCP socket, for driving `arena-kv` byte by byte.
///
/// Every receive and send has a timeout (`SO_RCVTIMEO`, `SO_SNDTIMEO`), so a test that waits for a
/// reply that never comes fails with `RESPClientError.timedOut` instead of hanging. Not thread-safe:
/// one client belongs to one thread at a time.
final class RESPClient {
    /// The server's port on 127.0.0.1.
    let port: Int
    /// How long one receive or send may block, in seconds.
    let timeout: Double
    /// The socket, or -1 once closed.
    private(set) var descriptor: Int32
    /// Received bytes not yet parsed into replies: `buffer[start...]`.
    private var buffer: [UInt8] = []
    private var start = 0
    /// Set once `recv` reported the end of the stream (or a reset).
    private(set) var sawEndOfStream = false

    /// Connects to `127.0.0.1:port`; receives and sends give up after `timeout` seconds.
    init(port: Int, timeout: Double = 10) throws {
        self.port = port
        self.timeout = timeout
        #if canImport(Glibc)
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let descriptor = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard descriptor >= 0 else { throw RESPClientError.connect(port: port, errno: errno) }
        self.descriptor = descriptor
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            let code = errno
            respClientCloseSocket(descriptor)
            self.descriptor = -1
            throw RESPClientError.connect(port: port, errno: code)
        }
        var interval = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - timeout.rounded(.down)) * 1_000_000))
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &interval, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &interval, socklen_t(MemoryLayout<timeval>.size))
        var one: Int32 = 1
        setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    deinit { close() }

    /// Closes the socket (idempotent).
    func close() {
        if descriptor >= 0 {
            respClientCloseSocket(descriptor)
            descriptor = -1
        }
    }

    // MARK: Sending

    /// Sends all of `bytes`, blocking (up to the timeout for each piece the kernel accepts).
    ///
    /// Throws `RESPClientError.closedByPeer` if the server has closed the connection (`EPIPE`,
    /// `ECONNRESET`), `timedOut` if the server stopped reading.
    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes { raw in
                respClientSend(descriptor, raw.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            }
            if sent >= 0 {
                offset += sent
                continue
            }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK:
                throw RESPClientError.timedOut("sent \(offset) of \(bytes.count) bytes, the server reads no more")
            case EPIPE, ECONNRESET: throw RESPClientError.closedByPeer("sent \(offset) of \(bytes.count) bytes")
            case let code: throw RESPClientError.system("send", errno: code)
            }
        }
    }

    /// Sends the UTF-8 bytes of `text`.
    func send(_ text: String) throws { try send(Array(text.utf8)) }

    /// Sends as much of `bytes` as the kernel takes right now without blocking; returns how much.
    func sendWithoutBlocking(_ bytes: ArraySlice<UInt8>) throws -> Int {
        while true {
            let sent = bytes.withUnsafeBytes { raw in
                respClientSend(descriptor, raw.baseAddress!, raw.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
            }
            if sent >= 0 { return sent }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return 0
            case EPIPE, ECONNRESET: throw RESPClientError.closedByPeer("non-blocking send")
            case let code: throw RESPClientError.system("send", errno: code)
            }
        }
    }

    /// The multibulk encoding of a command: `*N\r\n` and `$len\r\nbytes\r\n` for each argument.
    static func encode(_ arguments: [[UInt8]]) -> [UInt8] {
        var bytes = Array("*\(arguments.count)\r\n".utf8)
        for argument in arguments {
            bytes += Array("$\(argument.count)\r\n".utf8)
            bytes += argument
            bytes += [UInt8(ascii: "\r"), UInt8(ascii: "\n")]
        }
        return bytes
    }

    /// Sends one command, multibulk-encoded, and reads its reply.
    func command(_ arguments: String...) throws -> RESPValue {
        try command(arguments.map { Array($0.utf8) })
    }

    /// Sends one command with binary arguments and reads its reply.
    func command(_ arguments: [[UInt8]]) throws -> RESPValue {
        try send(RESPClient.encode(arguments))
        guard let reply = try readReply() else {
            throw RESPClientError.closedByPeer("no reply to \(RESPValue.escape(arguments.first ?? []))")
        }
        return reply
    }

    // MARK: Receiving

    /// Reads one reply; `nil` when the server closed the connection before sending another.
    ///
    /// Throws `timedOut` after the client's timeout, and `malformedReply` for bytes that are
    /// not RESP2 or a reply cut off by the end of the stream.
    func readReply() throws -> RESPValue? {
        while true {
            if let reply = try parseBuffered() { return reply }
            if sawEndOfStream {
                guard start == buffer.count else {
                    throw RESPClientError.malformedReply(
                        "the stream ended inside a reply: \"\(RESPValue.escape(buffer[start...].prefix(200)))\""
                    )
                }
                return nil
            }
            try receive(blocking: true)
        }
    }

    /// Every complete reply that has arrived by now, without blocking; `closed` when the server
    /// has also closed the connection.
    func availableReplies() throws -> (replies: [RESPValue], closed: Bool) {
        while !sawEndOfStream, try receive(blocking: false) > 0 {}
        var replies: [RESPValue] = []
        while let reply = try parseBuffered() { replies.append(reply) }
        return (replies, sawEndOfStream)
    }

    /// Whether the server closes the connection within `seconds` (end of stream or reset).
    ///
    /// Bytes that arrive first are kept for `readReply`; waiting gives up after `seconds` and
    /// answers `false`.
    func isClosedByPeer(within seconds: Double = 5) throws -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while !sawEndOfStream {
            let remaining = deadline.timeIntervalSinceNow
            guard remaining > 0 else { return false }
            if try waitUntilReadable(milliseconds: Int32(min(remaining * 1000, 1000).rounded(.up))) {
                try receive(blocking: false)
            }
        }
        return true
    }

    /// Whether bytes (or the end of the stream) are ready to read within `milliseconds`.
    func waitUntilReadable(milliseconds: Int32) throws -> Bool {
        if start < buffer.count || sawEndOfStream { return true }
        var entry = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        while true {
            let ready = poll(&entry, 1, milliseconds)
            if ready >= 0 { return ready > 0 }
            guard errno == EINTR else { throw RESPClientError.system("poll", errno: errno) }
        }
    }

    /// One `recv` into the buffer; returns the number of bytes read (0 at the end of the stream or,
    /// when not blocking, when nothing is there).
    @discardableResult
    private func receive(blocking: Bool) throws -> Int {
        if start > 0 && start * 2 >= buffer.count {
            buffer.removeFirst(start)
            start = 0
        }
        let oldCount = buffer.count
        let chunk = 1 << 16
        buffer.append(contentsOf: repeatElement(0, count: chunk))
        var received = 0
        while true {
            received = buffer.withUnsafeMutableBytes { raw in
                recv(descriptor, raw.baseAddress! + oldCount, chunk, blocking ? 0 : Int32(MSG_DONTWAIT))
            }
            if received >= 0 || errno != EINTR { break }
        }
        let code = errno
        buffer.removeLast(chunk - max(received, 0))
        if received > 0 { return received }
        if received == 0 {
            sawEndOfStream = true
            return 0
        }
        switch code {
        case ECONNRESET:
            sawEndOfStream = true
            return 0
        case EAGAIN, EWOULDBLOCK:
            if !blocking { return 0 }
            throw RESPClientError.timedOut("no reply within \(timeout) s")
        default: throw RESPClientError.system("recv", errno: code)
        }
    }

    /// Parses one complete reply from the buffer and consumes it, or returns `nil` if the buffer
    /// does not hold a whole reply yet.
    private func parseBuffered() throws -> RESPValue? {
        guard let (reply, end) = try RESPClient.parse(buffer, from: start) else { return nil }
        start = end
        return reply
    }

    /// Parses the reply starting at `index`: the reply and the index after it, or `nil` when
    /// `bytes` ends before the reply does.
    static func parse(_ bytes: [UInt8], from index: Int) throws -> (RESPValue, Int)? {
        guard index < bytes.count else { return nil }
        guard let (line, afterLine) = try readLine(bytes, from: index + 1) else { return nil }
        switch bytes[index] {
        case UInt8(ascii: "+"): return (.simple(String(decoding: line, as: UTF8.self)), afterLine)
        case UInt8(ascii: "-"): return (.error(String(decoding: line, as: UTF8.self)), afterLine)
        case UInt8(ascii: ":"): return (.integer(try number(line)), afterLine)
        case UInt8(ascii: "$"):
            let length = try number(line)
            if length == -1 { return (.bulk(nil), afterLine) }
            guard length >= 0 else { throw RESPClientError.malformedReply("bulk length \(length)") }
            guard bytes.count >= afterLine + length + 2 else { return nil }
            guard bytes[afterLine + length] == UInt8(ascii: "\r"), bytes[afterLine + length + 1] == UInt8(ascii: "\n")
            else { throw RESPClientError.malformedReply("a bulk string of \(length) bytes not followed by CRLF") }
            return (.bulk(Array(bytes[afterLine..<afterLine + length])), afterLine + length + 2)
        case UInt8(ascii: "*"):
            let count = try number(line)
            if count == -1 { return (.array(nil), afterLine) }
            guard count >= 0 else { throw RESPClientError.malformedReply("array count \(count)") }
            var elements: [RESPValue] = []
            var next = afterLine
            for _ in 0..<count {
                guard let (element, end) = try parse(bytes, from: next) else { return nil }
                elements.append(element)
                next = end
            }
            return (.array(elements), next)
        case let byte:
            throw RESPClientError.malformedReply(
                "type byte \"\(RESPValue.escape([byte]))\" in \"\(RESPValue.escape(bytes[index...].prefix(200)))\""
            )
        }
    }

    /// The bytes from `index` up to the next CRLF and the index after it, or `nil` without a CRLF yet.
    private static func readLine(_ bytes: [UInt8], from index: Int) throws -> (ArraySlice<UInt8>, Int)? {
        var cursor = index
        while cursor + 1 < bytes.count {
            if bytes[cursor] == UInt8(ascii: "\r") {
                guard bytes[cursor + 1] == UInt8(ascii: "\n") else {
                    throw RESPClientError.malformedReply(
                        "a bare CR in \"\(RESPValue.escape(bytes[index...].prefix(200)))\""
                    )
                }
                return (bytes[index..<cursor], cursor + 2)
            }
            if bytes[cursor] == UInt8(ascii: "\n") {
                throw RESPClientError.malformedReply(
                    "a bare LF in \"\(RESPValue.escape(bytes[index...].prefix(200)))\""
                )
            }
            cursor += 1
        }
        return nil
    }

    /// The decimal number in `line`.
    private static func number(_ line: ArraySlice<UInt8>) throws -> Int {
        guard let value = Int(String(decoding: line, as: UTF8.self)) else {
            throw RESPClientError.malformedReply("not a number: \"\(RESPValue.escape(line))\"")
        }
        return value
    }
}
