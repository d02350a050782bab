/*
 * plain.c -- a guest with NO manifest at all, for wasmimport's test-suite.
 *
 * Without a manifest every exported function is exposed with its core wasm signature,
 * and exports whose names are not Python identifiers are reachable only with getattr.
 * Deliberately does not include wasmimport.h: it exports nothing but the functions below
 * (and the linker's `memory`).  Built freestanding:
 *     clang --target=wasm32 -nostdlib -O2 -Wl,--no-entry ... plain.c
 *
 *     add(i32, i32) -> i32          wrapping addition
 *     mul64(i64, i64) -> i64        wrapping multiplication
 *     fdiv(f64, f64) -> f64         IEEE division (1/0 = inf, 0/0 = nan, no trap)
 *     fneg32(f32) -> f32            negation (flips the sign bit, also of nan and 0.0)
 *     "ruby-init: func"() -> i32    returns 42 (a name that is not an identifier)
 *     "class"() -> i32              returns 7  (a Python keyword)
 */
#include <stdint.h>

#define EXPORT(name) __attribute__((export_name(name)))

/* Unsigned arithmetic wraps; converting back to signed is implementation-defined
 * (two's complement on clang), not undefined like signed overflow. */
EXPORT("add") int32_t add(int32_t a, int32_t b) { return (int32_t)((uint32_t)a + (uint32_t)b); }

EXPORT("mul64") int64_t mul64(int64_t a, int64_t b) {
    return (int64_t)((uint64_t)a * (uint64_t)b);
}

EXPORT("fdiv") double fdiv(double a, double b) { return a / b; }

EXPORT("fneg32") float fneg32(float x) { return -x; }

EXPORT("ruby-init: func") int32_t ruby_init_func(void) { return 42; }

EXPORT("class") int32_t class_(void) { return 7; }
