/*
 * embedded.c -- a guest whose manifest is embedded in the wasm, not in a sidecar.
 *
 * embedded.manifest.toml is stored as a custom section named "wasmimport" by
 * embed_manifest.py (see the Makefile).  It is deliberately NOT called
 * embedded.wasm.toml, so the test-suite sees no sidecar and must read the section.
 * Built freestanding with wasmimport.h's own allocator.
 *
 *     add(a: i32, b: i32) -> i32      wrapping addition
 *     greet(name: str) -> str         "Hello, <name>!"
 */
#include "wasmimport.h"

WI_EXPORT(add) int32_t add(int32_t a, int32_t b) { return (int32_t)((uint32_t)a + (uint32_t)b); }

WI_EXPORT(greet) wi_str *greet(const char *name, size_t len) {
    static const char prefix[] = "Hello, ";
    size_t plen = sizeof prefix - 1;
    size_t n = plen + len + 1;
    char *out = wi_xmalloc(n);
    memcpy(out, prefix, plen);
    memcpy(out + plen, name, len);
    out[n - 1] = '!';
    wi_free_str(name, len); /* the argument buffer is ours */
    return wi_return_str(out, n);
}
WI_POST_FREE(greet) /* cabi_post_greet frees `out` once the host has copied it */
