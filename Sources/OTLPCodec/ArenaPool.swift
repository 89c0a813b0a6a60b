internal import CProtobufC
internal import OTLPProto
import Synchronization

/// Decodes OTLP requests with protobuf-c into arena memory, reusing a few arenas across calls.
///
/// `otlp_arena` (Sources/OTLPProto/include/otlp_shim.h) is a bump allocator: unpacking takes
/// memory from a few large chunks and `otlp_arena_reset` releases it all at once, instead of a
/// malloc per message and string and a tree walk to free them. An arena is not thread-safe, so
/// the pool hands each one to one caller at a time: take (or create) under the mutex, decode
/// and read without it, reset, give back. At most `maxPooled` idle arenas are kept; each keeps
/// its first chunk (`chunkSize`) between uses, larger requests use extra chunks that reset frees.
final class ArenaPool: Sendable {
    static let shared = ArenaPool()

    static let chunkSize = 1 << 20
    static let maxPooled = 8

    /// An arena pointer that moves between threads through the pool.
    /// `@unchecked Sendable`: the arena is only ever used by the one caller that took it out
    /// of the pool (under the mutex) until it puts it back, so it is never shared.
    private struct Arena: @unchecked Sendable {
        let pointer: OpaquePointer
    }

    private let idle = Mutex<[Arena]>([])

    deinit {
        idle.withLock { arenas in
            for arena in arenas { otlp_arena_destroy(arena.pointer) }
        }
    }

    /// Unpacks `bytes` as message `message` of `OTLPSchema.shared` and calls `body` with the
    /// decoded C message. The message and everything it points to live in the arena and are
    /// valid only during `body`; do not keep pointers into it.
    ///
    /// `bytes` is validated first (`WireValidator`), which bounds the nesting protobuf-c will
    /// recurse into. Throws `.malformedProtobuf` with a reason when the bytes are not valid.
    func withUnpacked<R>(
        message: Int, messageName: String, _ bytes: [UInt8],
        _ body: (UnsafeRawPointer) throws(OTLPDecodeError) -> R
    ) throws(OTLPDecodeError) -> R {
        let schema = OTLPSchema.shared
        let arena = take()
        defer { give(arena) }
        return try bytes.withBytes { (raw) throws(OTLPDecodeError) -> R in
            do throws(ProtoWire.WireError) {
                _ = try WireValidator.shared.validate(message: message, raw)
            } catch {
                throw OTLPDecodeError.malformed(messageName: messageName, error.detail)
            }
            let base = raw.baseAddress?.assumingMemoryBound(to: UInt8.self)
            guard let decoded = protobuf_c_message_unpack(
                schema.messages[message].descriptor, otlp_arena_allocator(arena.pointer), raw.count, base)
            else {
                throw OTLPDecodeError.malformed(messageName: messageName, "protobuf-c rejected the message")
            }
            return try body(UnsafeRawPointer(decoded))
        }
    }

    private func take() -> Arena {
        if let arena = idle.withLock({ $0.popLast() }) { return arena }
        guard let pointer = otlp_arena_create(Self.chunkSize) else {
            fatalError("out of memory creating a protobuf-c arena")
        }
        return Arena(pointer: pointer)
    }

    private func give(_ arena: Arena) {
        otlp_arena_reset(arena.pointer)
        let kept = idle.withLock { arenas in
            guard arenas.count < Self.maxPooled else { return false }
            arenas.append(arena)
            return true
        }
        if !kept { otlp_arena_destroy(arena.pointer) }
    }
}
