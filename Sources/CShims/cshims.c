#include "cshims.h"
#include <malloc.h>

int cshims_tune_malloc(int arena_max, int mmap_threshold, int trim_threshold) {
    int failed = 0;
    if (arena_max > 0 && mallopt(M_ARENA_MAX, arena_max) != 1) failed = 1;
    if (mmap_threshold > 0 && mallopt(M_MMAP_THRESHOLD, mmap_threshold) != 1) failed = 1;
    if (trim_threshold > 0 && mallopt(M_TRIM_THRESHOLD, trim_threshold) != 1) failed = 1;
    return failed;
}

int cshims_malloc_trim(unsigned long pad) {
    return malloc_trim((size_t)pad);
}
