#include "otlp_shim.h"
#include <stdlib.h>
#include <stdint.h>

typedef struct chunk {
    struct chunk *next;
    size_t cap;
    size_t used;
    _Alignas(16) unsigned char data[];
} chunk;

struct otlp_arena {
    ProtobufCAllocator allocator; /* first member: allocator_data points back at the arena */
    chunk *head;                  /* current chunk; older chunks follow via next */
    size_t first_cap;
    size_t total;
};

static chunk *chunk_new(size_t cap) {
    chunk *c = malloc(sizeof(chunk) + cap);
    if (c == NULL) return NULL;
    c->next = NULL;
    c->cap = cap;
    c->used = 0;
    return c;
}

static void *arena_alloc(void *data, size_t size) {
    otlp_arena *a = data;
    size_t need = (size + 15) & ~(size_t)15;
    chunk *c = a->head;
    if (c->cap - c->used < need) {
        size_t cap = need > a->first_cap ? need : a->first_cap;
        chunk *n = chunk_new(cap);
        if (n == NULL) return NULL;
        n->next = c;
        a->head = n;
        c = n;
    }
    void *p = c->data + c->used;
    c->used += need;
    a->total += need;
    return p;
}

static void arena_free(void *data, void *ptr) {
    (void)data;
    (void)ptr; /* released in bulk by otlp_arena_reset */
}

otlp_arena *otlp_arena_create(size_t chunk_size) {
    otlp_arena *a = malloc(sizeof(otlp_arena));
    if (a == NULL) return NULL;
    if (chunk_size < 4096) chunk_size = 4096;
    a->head = chunk_new(chunk_size);
    if (a->head == NULL) { free(a); return NULL; }
    a->first_cap = chunk_size;
    a->total = 0;
    a->allocator.alloc = arena_alloc;
    a->allocator.free = arena_free;
    a->allocator.allocator_data = a;
    return a;
}

void otlp_arena_reset(otlp_arena *a) {
    chunk *c = a->head;
    /* the first chunk created is the last in the list; keep it */
    while (c->next != NULL) {
        chunk *next = c->next;
        free(c);
        c = next;
    }
    c->used = 0;
    a->head = c;
    a->total = 0;
}

void otlp_arena_destroy(otlp_arena *a) {
    if (a == NULL) return;
    otlp_arena_reset(a);
    free(a->head);
    free(a);
}

ProtobufCAllocator *otlp_arena_allocator(otlp_arena *a) { return &a->allocator; }

size_t otlp_arena_used(const otlp_arena *a) { return a->total; }
