/* Small wrappers for C APIs that Swift's Glibc module does not expose. */
#ifndef COLLECTOR_CSHIMS_H
#define COLLECTOR_CSHIMS_H

/* glibc mallopt(M_ARENA_MAX, arena_max), mallopt(M_MMAP_THRESHOLD, mmap_threshold) and
 * mallopt(M_TRIM_THRESHOLD, trim_threshold); a value <= 0 leaves that setting alone.
 * Returns 0 when every requested call succeeded. */
int cshims_tune_malloc(int arena_max, int mmap_threshold, int trim_threshold);

/* glibc malloc_trim(pad): returns free heap memory to the system; 1 when some was released. */
int cshims_malloc_trim(unsigned long pad);

#include <stddef.h>
#include <stdint.h>

/* 1 when this CPU has the SSE4.2 crc32 instruction (x86-64), else 0. */
int cshims_crc32c_hw_available(void);

/* Continues the CRC-32C `crc` over `length` bytes with the crc32 instruction; call only when
 * cshims_crc32c_hw_available() returned 1. */
uint32_t cshims_crc32c_hw(uint32_t crc, const void *data, size_t length);

#endif
