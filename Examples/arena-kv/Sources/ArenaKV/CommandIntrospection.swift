import ArenaBytes
import NIOCore

/// `COMMAND`, `COMMAND COUNT`, `COMMAND INFO name…` and `COMMAND DOCS`: enough for clients
/// that look the server's commands up when they connect (`redis-cli` asks for `COMMAND DOCS`).
enum CommandIntrospection {
    static func reply(to arguments: [Bytes], into replies: inout ByteBuffer) {
        guard arguments.count > 1 else {
            replies.writeArrayHeader(CommandName.allCases.count)
            for command in CommandName.allCases { writeInfo(command, into: &replies) }
            return
        }
        let subcommand = arguments[1]
        if subcommand.equalsIgnoringCase("COUNT") {
            replies.writeIntegerReply(CommandName.allCases.count)
        } else if subcommand.equalsIgnoringCase("INFO") {
            replies.writeArrayHeader(arguments.count - 2)
            for name in arguments.dropFirst(2) {
                if let command = CommandName(name) {
                    writeInfo(command, into: &replies)
                } else {
                    replies.writeNullReply()
                }
            }
        } else if subcommand.equalsIgnoringCase("DOCS") {
            // No documentation to give: an empty reply, which clients take as "no hints".
            replies.writeArrayHeader(0)
        } else {
            replies.writeErrorReply("ERR unknown subcommand '\(subcommand.text)'. Try COMMAND HELP.")
        }
    }

    /// The classic six-field entry: name, arity, flags, first key, last key, key step.
    private static func writeInfo(_ command: CommandName, into replies: inout ByteBuffer) {
        replies.writeArrayHeader(6)
        replies.writeBulkReply(command.name)
        replies.writeIntegerReply(command.arity)
        let flags = flags(of: command)
        replies.writeArrayHeader(flags.count)
        for flag in flags { replies.writeSimpleString(flag) }
        let (first, last, step) = keyPositions(of: command)
        replies.writeIntegerReply(first)
        replies.writeIntegerReply(last)
        replies.writeIntegerReply(step)
    }

    private static func flags(of command: CommandName) -> [String] {
        switch command {
        case .set, .mset, .incr, .decr, .incrby, .decrby, .append, .setnx, .setex, .psetex: ["write", "denyoom"]
        case .del, .flushall, .flushdb, .unlink, .getdel, .getex, .expire, .pexpire, .expireat, .pexpireat, .persist:
            ["write"]
        case .get, .mget, .exists, .ttl, .pttl, .dbsize, .strlen, .type, .expiretime, .pexpiretime:
            ["readonly", "fast"]
        case .keys, .scan: ["readonly"]
        default: ["fast"]
        }
    }

    private static func keyPositions(of command: CommandName) -> (Int, Int, Int) {
        switch command {
        case .get, .set, .incr, .ttl, .pttl, .expire, .pexpire, .expireat, .pexpireat, .persist, .expiretime,
            .pexpiretime, .decr, .incrby, .decrby, .append, .strlen, .setnx, .setex, .psetex, .getdel, .getex, .type:
            (1, 1, 1)
        case .del, .exists, .mget, .unlink: (1, -1, 1)
        case .mset: (1, -1, 2)
        default: (0, 0, 0)
        }
    }
}
