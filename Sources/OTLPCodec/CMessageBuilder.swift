internal import CProtobufC
#if canImport(Glibc)
internal import Glibc
#elseif canImport(Darwin)
internal import Darwin
#endif

/// Builds protobuf-c messages field by field in `malloc` memory, generically from
/// `OTLPSchema`, so that `protobuf_c_message_free_unpacked(root, NULL)` (which frees with the
/// system allocator) releases a finished or half-built tree alike.
///
/// Invariant kept by every operation, so that an error at any point can free the root: each
/// message is linked into its parent before it is filled, each repeated-field count covers
/// only initialized elements, each string / bytes / message pointer is either protobuf-c's
/// default or owned `malloc` memory, and a oneof's case names the member actually stored.
enum CMessageBuilder {
    /// A new message of `schema`'s type with protobuf-c defaults (empty strings point at
    /// `protobuf_c_empty_string`, everything else zero).
    static func newMessage(_ schema: MessageSchema) throws(OTLPDecodeError) -> UnsafeMutableRawPointer {
        let memory = try allocate(schema.size)
        protobuf_c_message_init(schema.descriptor, memory)
        return memory
    }

    /// Frees a message tree built here (or unpacked with the default allocator).
    static func free(message: UnsafeMutableRawPointer) {
        protobuf_c_message_free_unpacked(message.assumingMemoryBound(to: ProtobufCMessage.self), nil)
    }

    static func allocate(_ size: Int) throws(OTLPDecodeError) -> UnsafeMutableRawPointer {
        guard let p = malloc(max(size, 1)) else {
            throw OTLPDecodeError(.resourceExhausted, offset: nil, "out of memory (\(size) bytes)")
        }
        return p
    }

    /// Releases what a singular field's slot owns and resets it to the default, before the
    /// field is set again (a JSON key given twice: the last one wins).
    static func clear(_ field: FieldSchema, _ slot: UnsafeMutableRawPointer) {
        switch field.kind {
        case .string:
            if let s = slot.load(as: UnsafeMutableRawPointer?.self), UInt(bitPattern: s) != field.defaultAddress {
                releaseC(s)
            }
            slot.storeBytes(of: UnsafeRawPointer(bitPattern: field.defaultAddress), as: UnsafeRawPointer?.self)
        case .bytes:
            let data = slot.load(as: ProtobufCBinaryData.self)
            if let d = data.data { releaseC(d) }
            slot.storeBytes(of: ProtobufCBinaryData(len: 0, data: nil), as: ProtobufCBinaryData.self)
        case .message:
            if let m = slot.load(as: UnsafeMutableRawPointer?.self) { free(message: m) }
            slot.storeBytes(of: nil, as: UnsafeMutableRawPointer?.self)
        default:
            break
        }
    }

    /// Stores a copy of `bytes` as a NUL-terminated string in `slot`.
    static func setString(_ slot: UnsafeMutableRawPointer, _ bytes: UnsafeRawBufferPointer) throws(OTLPDecodeError) {
        let s = try allocate(bytes.count + 1)
        if bytes.count > 0 { s.copyMemory(from: bytes.baseAddress!, byteCount: bytes.count) }
        s.storeBytes(of: 0, toByteOffset: bytes.count, as: UInt8.self)
        slot.storeBytes(of: s, as: UnsafeMutableRawPointer?.self)
    }

    /// Stores `bytes` (copied) as `ProtobufCBinaryData` in `slot`; empty stays `{0, NULL}`.
    static func setBytes(_ slot: UnsafeMutableRawPointer, _ bytes: UnsafeRawBufferPointer) throws(OTLPDecodeError) {
        guard bytes.count > 0 else {
            slot.storeBytes(of: ProtobufCBinaryData(len: 0, data: nil), as: ProtobufCBinaryData.self)
            return
        }
        let d = try allocate(bytes.count)
        d.copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        slot.storeBytes(
            of: ProtobufCBinaryData(len: bytes.count, data: d.assumingMemoryBound(to: UInt8.self)),
            as: ProtobufCBinaryData.self)
    }

    /// Grows a repeated field's array to hold at least `needed` elements; `capacity` tracks
    /// the allocation (the C struct only records the count).
    static func reserve(
        _ field: FieldSchema, in message: UnsafeMutableRawPointer, needed: Int, capacity: inout Int
    ) throws(OTLPDecodeError) {
        guard needed > capacity else { return }
        let newCapacity = max(needed, capacity * 2, 4)
        let old = message.load(fromByteOffset: field.offset, as: UnsafeMutableRawPointer?.self)
        guard let grown = realloc(old, newCapacity * field.kind.elementSize) else {
            throw OTLPDecodeError(.resourceExhausted, offset: nil, "out of memory growing an array")
        }
        message.storeBytes(of: grown, toByteOffset: field.offset, as: UnsafeMutableRawPointer?.self)
        capacity = newCapacity
    }

    /// Serializes a message with protobuf-c (`pack` skips proto3 defaults).
    static func pack(_ message: UnsafeMutableRawPointer) -> [UInt8] {
        let m = UnsafePointer(message.assumingMemoryBound(to: ProtobufCMessage.self))
        let size = protobuf_c_message_get_packed_size(m)
        guard size > 0 else { return [] }
        return [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
            count = protobuf_c_message_pack(m, buffer.baseAddress)
        }
    }
}

/// libc `free`, named apart from `CMessageBuilder.free(message:)`.
@inline(__always)
private func releaseC(_ pointer: UnsafeMutableRawPointer) {
    free(pointer)
}
