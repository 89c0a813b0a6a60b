/* A C interface to RE2 for the Patterns module: compile once, match from any thread.
 * Everything is prefixed collector_re2_; nothing of it is public Swift API. */
#ifndef COLLECTOR_RE2_SHIM_H
#define COLLECTOR_RE2_SHIM_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct collector_re2 collector_re2;

enum collector_re2_anchor {
    COLLECTOR_RE2_UNANCHORED = 0,  /* a match anywhere (Go's MatchString) */
    COLLECTOR_RE2_ANCHOR_START = 1,  /* a match starting at the first byte */
    COLLECTOR_RE2_ANCHOR_BOTH = 2  /* the whole text */
};

/* Compiles `pattern` (RE2 syntax, UTF-8). Returns NULL when it does not compile and writes a
 * NUL-terminated reason into `error` (at most `error_size` bytes). */
collector_re2 *collector_re2_compile(const char *pattern, size_t length, char *error, size_t error_size);

/* 1 when `text` matches, 0 when not. Linear in the text's length; thread-safe. */
int collector_re2_match(const collector_re2 *re, const char *text, size_t length, int anchor);

/* Number of capturing groups. */
int collector_re2_groups(const collector_re2 *re);

/* Like collector_re2_match, and on a match writes where group i (0: the whole match) is into
 * starts[i] / ends[i] (byte offsets, -1 when the group did not take part), i < count. */
int collector_re2_match_groups(const collector_re2 *re, const char *text, size_t length, int anchor,
                               long *starts, long *ends, int count);

/* The name of capturing group `index` (1-based) into `name` (NUL-terminated); its length, or 0
 * when the group has no name or it does not fit. */
size_t collector_re2_group_name(const collector_re2 *re, int index, char *name, size_t name_size);

void collector_re2_free(collector_re2 *re);

#ifdef __cplusplus
}
#endif
#endif
