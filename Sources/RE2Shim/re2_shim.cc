#include "re2_shim.h"
#include <re2/re2.h>
#include <cstdio>
#include <cstring>
#include <map>
#include <new>
#include <string>

struct collector_re2 {
    re2::RE2 regex;
    collector_re2(const char *pattern, size_t length, const re2::RE2::Options &options)
        : regex(re2::StringPiece(pattern, length), options) {}
};

extern "C" collector_re2 *collector_re2_compile(const char *pattern, size_t length, char *error, size_t error_size) {
    re2::RE2::Options options;
    options.set_log_errors(false);  // errors are returned, never printed to stderr
    collector_re2 *re = new (std::nothrow) collector_re2(pattern, length, options);
    if (re == nullptr) {
        if (error_size > 0) std::snprintf(error, error_size, "out of memory");
        return nullptr;
    }
    if (!re->regex.ok()) {
        if (error_size > 0) std::snprintf(error, error_size, "%s", re->regex.error().c_str());
        delete re;
        return nullptr;
    }
    return re;
}

extern "C" int collector_re2_match(const collector_re2 *re, const char *text, size_t length, int anchor) {
    re2::RE2::Anchor a = anchor == COLLECTOR_RE2_ANCHOR_BOTH ? re2::RE2::ANCHOR_BOTH
                       : anchor == COLLECTOR_RE2_ANCHOR_START ? re2::RE2::ANCHOR_START
                       : re2::RE2::UNANCHORED;
    return re->regex.Match(re2::StringPiece(text == nullptr ? "" : text, length), 0, length, a, nullptr, 0) ? 1 : 0;
}

extern "C" int collector_re2_groups(const collector_re2 *re) {
    return re->regex.NumberOfCapturingGroups();
}

extern "C" int collector_re2_match_groups(const collector_re2 *re, const char *text, size_t length, int anchor,
                                          long *starts, long *ends, int count) {
    re2::RE2::Anchor a = anchor == COLLECTOR_RE2_ANCHOR_BOTH ? re2::RE2::ANCHOR_BOTH
                       : anchor == COLLECTOR_RE2_ANCHOR_START ? re2::RE2::ANCHOR_START
                       : re2::RE2::UNANCHORED;
    if (count < 1) return 0;
    re2::StringPiece *groups = new (std::nothrow) re2::StringPiece[count];
    if (groups == nullptr) return 0;
    const char *base = text == nullptr ? "" : text;
    bool ok = re->regex.Match(re2::StringPiece(base, length), 0, length, a, groups, count);
    if (ok) {
        for (int i = 0; i < count; i++) {
            if (groups[i].data() == nullptr) {
                starts[i] = -1;
                ends[i] = -1;
            } else {
                starts[i] = (long)(groups[i].data() - base);
                ends[i] = starts[i] + (long)groups[i].size();
            }
        }
    }
    delete[] groups;
    return ok ? 1 : 0;
}

extern "C" size_t collector_re2_group_name(const collector_re2 *re, int index, char *name, size_t name_size) {
    const std::map<int, std::string> &names = re->regex.CapturingGroupNames();
    auto found = names.find(index);
    if (found == names.end()) return 0;
    size_t n = found->second.size();
    if (n >= name_size) return 0;
    std::memcpy(name, found->second.data(), n);
    name[n] = 0;
    return n;
}

extern "C" void collector_re2_free(collector_re2 *re) {
    delete re;
}
