/*
 * debug.c -- guest frames in Python tracebacks (tests/test_tracebacks.py).
 *
 * Built four ways (see the Makefile): with DWARF at -O0 and at -O1, at -O1 without it, and
 * at -O1 with NO_HOST (no import: wasmtime's pure call path runs it) and DWARF whose paths
 * lead nowhere (the source is then found beside the module).  The tests find the lines
 * marked TRAP, CALL, RECURSE and SPIN here.
 */
#include "wasmimport.h"

/* inlined at -O1: its trap is a frame of its own, inside inner() */
static inline int32_t checked(int32_t x) {
    if (x < 0)
        __builtin_trap();                           /* TRAP checked */
    return x * 2;
}

__attribute__((noinline)) static int32_t inner(int32_t x) {
    return checked(x) + 1;                          /* CALL inner->checked */
}

__attribute__((noinline)) static int32_t middle(int32_t x) {
    return inner(x - 1) * 3;                        /* CALL middle->inner */
}

/* outer(0) traps three frames deep: outer -> middle -> inner (-> checked, inlined) */
WI_EXPORT(outer) int32_t outer(int32_t x) {
    return middle(x) + 7;                           /* CALL outer->middle */
}

#ifndef NO_HOST
WI_IMPORT(host, visit) int32_t visit(int32_t depth);

__attribute__((noinline)) static int32_t through(int32_t depth) {
    return visit(depth) + 1;                        /* CALL through->visit */
}

/* calls the host's visit() from a guest frame: a host exception passes back through it */
WI_EXPORT(call_host) int32_t call_host(int32_t depth) {
    return through(depth) * 2;                      /* CALL call_host->through */
}
#endif

/* recurses `depth` times, then traps at the bottom */
WI_EXPORT(recurse) int32_t recurse(int32_t depth) {
    if (depth == 0)
        __builtin_trap();                           /* TRAP recurse */
    return recurse(depth - 1) + 1;                  /* RECURSE */
}

/* runs until a [limits] setting stops it */
WI_EXPORT(spin) uint32_t spin(uint32_t n) {
    volatile uint32_t total = 0;
    for (;;)
        total += n;                                 /* SPIN */
    return total;
}
