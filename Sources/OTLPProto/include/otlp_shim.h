/* Small C helpers next to the generated OTLP code.
 *
 * otlp_arena: a bump allocator for protobuf-c unpacking. Decoding an OTLP request allocates
 * one block per message, string and repeated field (tens of thousands per request); with the
 * arena they come from a few large chunks and are released all at once by otlp_arena_reset,
 * instead of protobuf_c_message_free_unpacked walking the tree. Not thread-safe: one arena
 * per decoding thread or per request.
 */
#ifndef OTLP_SHIM_H
#define OTLP_SHIM_H
#include <stddef.h>
#include <protobuf-c/protobuf-c.h>

typedef struct otlp_arena otlp_arena;

/* A new arena whose first chunk holds chunk_size bytes. NULL when out of memory. */
otlp_arena *otlp_arena_create(size_t chunk_size);
/* Frees every chunk and the arena. */
void otlp_arena_destroy(otlp_arena *arena);
/* Forgets every allocation; keeps the first chunk for reuse, frees the others. */
void otlp_arena_reset(otlp_arena *arena);
/* The allocator to pass to protobuf-c's unpack functions. */
ProtobufCAllocator *otlp_arena_allocator(otlp_arena *arena);
/* Bytes handed out since the last reset. */
size_t otlp_arena_used(const otlp_arena *arena);

#endif
