/*
 * host.c -- a guest that imports host functions (manifest: host.wasm.toml, whose
 * [imports] name the Python callables in tests/hostfns.py).
 *
 *   greet           passes a str to the host (env.log)
 *   sum_via_host    scalars both ways (env.add)
 *   shout           a str result written into the guest by the host (env.shout)
 *   call_fail       the host raises: the exception reaches the Python caller
 *   use_reenter     the host calls back into this module (env.reenter -> double)
 *   nested_probe    the host calls an export that traps, catches the Trap, and this
 *                   call goes on using its C stack (env.nested_trap)
 *   count_via_host  calls the host (env.add) in a loop, `n` times (0: forever), so a
 *                   Ctrl-C lands while wasm is entering or leaving a host function
 */
#include "wasmimport.h"

#define IMPORT(name) __attribute__((import_module("env"), import_name(#name)))

IMPORT(log) void host_log(const char *msg, size_t len);
IMPORT(add) int32_t host_add(int32_t a, int32_t b);
IMPORT(shout) void host_shout(const char *s, size_t len, wi_str *result);
IMPORT(fail) void host_fail(void);
IMPORT(reenter) int32_t host_reenter(int32_t n);
IMPORT(nested_trap) int32_t host_nested_trap(void);

WI_EXPORT(greet) uint32_t greet(const char *s, size_t len) {
    host_log(s, len);
    wi_free_str(s, len);
    return (uint32_t)len;
}

WI_EXPORT(sum_via_host) int32_t sum_via_host(int32_t a, int32_t b) { return host_add(a, b); }

WI_EXPORT(shout) wi_str *shout(const char *s, size_t len) {
    wi_str out;
    host_shout(s, len, &out);
    wi_free_str(s, len);
    return wi_return_str(out.ptr, out.len);   /* the host allocated it: ours to free */
}
WI_POST_FREE(shout)

WI_EXPORT(count_via_host) uint32_t count_via_host(uint32_t n) {
    int32_t total = 0;
    for (uint32_t i = 0; n == 0 || i < n; i++)
        total = host_add(total, 1);
    return (uint32_t)total;
}

WI_EXPORT(call_fail) void call_fail(void) { host_fail(); }

WI_EXPORT(double) int32_t double_it(int32_t n) { return 2 * n; }

WI_EXPORT(use_reenter) int32_t use_reenter(int32_t n) { return host_reenter(n) + 1000; }

#include "trap_frames.h"

/* Keeps 1 KiB on the C stack across a host call whose nested call traps: the host must
 * not reset the stack pointer under our feet, or the sum below comes out wrong. */
WI_EXPORT(nested_probe) uint32_t nested_probe(void) {
    volatile uint8_t buf[1024];
    fill(buf, sizeof buf);
    int32_t caught = host_nested_trap();
    volatile uint8_t again[64];
    fill(again, sizeof again);
    uint32_t sum = 0;
    for (uint32_t i = 0; i < sizeof buf; i++)
        sum += buf[i];
    return caught == -1 ? sum : 0;
}
