/* Small wrappers for C APIs that Swift's Glibc module does not expose. */
#ifndef COLLECTOR_CSHIMS_H
#define COLLECTOR_CSHIMS_H

/* glibc mallopt(M_ARENA_MAX, arena_max) and mallopt(M_MMAP_THRESHOLD, mmap_threshold);
 * a value <= 0 leaves that setting alone. Returns 0 when every requested call succeeded. */
int cshims_tune_malloc(int arena_max, int mmap_threshold);

#endif
