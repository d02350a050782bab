/*
 * bench.c -- the wasm guest of benchmarks/bench_call.py (manifest: bench.wasm.toml).
 *
 * Each export does as little as its row allows, so that what the benchmark measures is the
 * cost of crossing into wasm and back (argument checks, copies into guest memory, lifting the
 * result), not work inside the guest.  Freestanding: wasmimport.h brings the allocator.
 *
 *   add(a, b)        two i32 in, one out
 *   nop()            nothing in, nothing out
 *   upper(s)         ASCII upper case of s as a NEW string; frees the argument; the
 *                    result is freed by cabi_post_upper after the host has copied it
 *   take_bytes(data) consumes the buffer the host copied in: returns its length plus its
 *                    last byte (O(1), yet shows the whole buffer arrived) and frees it
 *   sum_f64(xs)      sums a list of f64 and frees it
 *   str_len(s)       the length of s (frees it): the str call the compound rows compare to
 *   midpoint(a, b)   the midpoint of two Point records: 4 flat f64 in, one Point out
 *                    through a static return area
 *   total_len(xs)    the total length of a list[str] (frees every string and the list)
 */
#include "wasmimport.h"

WI_EXPORT(add) int32_t add(int32_t a, int32_t b) { return (int32_t)((uint32_t)a + (uint32_t)b); }

WI_EXPORT(nop) void nop(void) {}

WI_EXPORT(upper) wi_str *upper(const char *s, size_t len) {
    char *out = wi_xmalloc(len);
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        out[i] = (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
    }
    wi_free_str(s, len);
    return wi_return_str(out, len);
}
WI_POST_FREE(upper)

WI_EXPORT(take_bytes) uint32_t take_bytes(const uint8_t *data, size_t len) {
    uint32_t last = len ? data[len - 1] : 0;
    wi_free_bytes(data, len);
    return (uint32_t)len + last;
}

WI_EXPORT(sum_f64) double sum_f64(const double *xs, size_t n) {
    double sum = 0.0;
    for (size_t i = 0; i < n; i++)
        sum += xs[i];
    wi_free_list(xs, n);
    return sum;
}

WI_EXPORT(str_len) uint32_t str_len(const char *s, size_t len) {
    wi_free_str(s, len);
    return (uint32_t)len;
}

typedef struct { double x, y; } point;      /* the manifest's Point record */
static point midpoint_area;

WI_EXPORT(midpoint) point *midpoint(double ax, double ay, double bx, double by) {
    midpoint_area.x = (ax + bx) / 2;
    midpoint_area.y = (ay + by) / 2;
    return &midpoint_area;
}

typedef struct { const char *ptr; size_t len; } str_item;   /* one list[str] element */

WI_EXPORT(total_len) uint32_t total_len(const str_item *xs, size_t n) {
    uint32_t total = 0;
    for (size_t i = 0; i < n; i++) {
        total += (uint32_t)xs[i].len;
        wi_free_str(xs[i].ptr, xs[i].len);
    }
    wi_free((void *)xs);
    return total;
}
