#ifndef CRE2_SHIM_H
#define CRE2_SHIM_H
/* RE2 is C++: only RE2Shim's C++ file includes it (Swift reaches RE2 through re2_shim.h). */
#ifdef __cplusplus
#include <re2/re2.h>
#endif
#endif
