/* The quickstart of README.md and docs/abi.md: tests/test_quickstart.py builds and imports it. */
#include "wasmimport.h"

WI_EXPORT(add) int32_t add(int32_t a, int32_t b) {
    return (int32_t)((uint32_t)a + (uint32_t)b);     // wraps without signed-overflow UB
}

WI_EXPORT(greet) wi_str *greet(const char *name, size_t len) {
    size_t n = 7 + len + 1;                          // "Hello, " + name + "!"
    char *out = wi_xmalloc(n);
    memcpy(out, "Hello, ", 7);
    memcpy(out + 7, name, len);
    out[n - 1] = '!';
    wi_free_str(name, len);                          // the argument buffer is ours
    return wi_return_str(out, n);
}
WI_POST_FREE(greet)                                  // cabi_post_greet frees `out`

WI_EXPORT(mean) double mean(const double *xs, size_t n) {
    double sum = 0;
    for (size_t i = 0; i < n; i++) sum += xs[i];
    wi_free_list(xs, n);
    return n ? sum / (double)n : 0.0;
}
