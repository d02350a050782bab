/*
 * edges.c -- the ABI edge-case guest for wasmimport's test-suite.
 *
 * Built FREESTANDING (no libc), so it exercises wasmimport.h's own allocator and memory
 * functions:
 *     clang --target=wasm32 -nostdlib -O2 -mbulk-memory -Wl,--no-entry ... edges.c
 * Manifest: edges.wasm.toml (every function below is listed there).
 *
 * What is here:
 *   echo_<T>        every tier-1 scalar type, returned unchanged
 *   echo_str/bytes/list_<T>
 *                   buffer echoes: copy the argument into a fresh result buffer, free the
 *                   argument, return the copy; cabi_post_<name> frees the copy.
 *                   cabi_post_echo_str also counts its calls (post_count()).
 *   nothing/counter a None result and module state
 *   str_len         a buffer parameter with a scalar result
 *   sum17           17 i32 parameters: more than 16 flat values, so the export takes ONE
 *                   pointer to the parameters stored in memory (Canonical ABI spilling)
 *   mem_pages/grow  linear memory size and memory.grow
 *   trap_unreachable, recurse
 *                   an explicit trap and a stack overflow
 *   alloc_churn     allocator reuse: memory must not grow with the number of iterations
 *   bad_str/bad_utf8
 *                   malformed results the host must reject
 *   spill_mix       17 flat values of every kind (scalars and buffers) spilled to memory
 *   grow_and_echo   a result placed in memory grown during the call
 *   spin, racy_add  long calls, for the release_gil and per-instance locking tests
 *   forever         an endless loop, for time limits, fuel and Ctrl-C
 *   hoard/try_hoard allocations kept until release_hoard: wi_xmalloc traps when memory runs
 *                   out, try_hoard copes with NULL (for [limits] memory)
 */
#include "wasmimport.h"

/* ---- scalars ------------------------------------------------------------------------ */

#define ECHO_SCALAR(SUFFIX, T)                                                             \
    WI_EXPORT(echo_##SUFFIX) T echo_##SUFFIX(T x);                                         \
    T echo_##SUFFIX(T x) { return x; }

ECHO_SCALAR(i8, int8_t)
ECHO_SCALAR(i16, int16_t)
ECHO_SCALAR(i32, int32_t)
ECHO_SCALAR(i64, int64_t)
ECHO_SCALAR(u8, uint8_t)
ECHO_SCALAR(u16, uint16_t)
ECHO_SCALAR(u32, uint32_t)
ECHO_SCALAR(u64, uint64_t)
ECHO_SCALAR(f32, float)
ECHO_SCALAR(f64, double)

/* A bool arrives as an i32; any non-zero value means true. */
WI_EXPORT(echo_bool) bool echo_bool(uint32_t x) { return x != 0; }

/* ---- buffers ------------------------------------------------------------------------ */

static uint32_t post_echo_str_calls;

WI_EXPORT(echo_str) wi_str *echo_str(const char *s, size_t len) {
    char *copy = wi_memdup(s, len);
    wi_free_str(s, len);
    return wi_return_str(copy, len);
}

/* Hand-written post-return: count, then free the copy. */
WI_EXPORT(cabi_post_echo_str) void post_echo_str(void *retptr) {
    post_echo_str_calls++;
    wi_post_free(retptr);
}

WI_EXPORT(post_count) uint32_t post_count(void) { return post_echo_str_calls; }

WI_EXPORT(echo_bytes) wi_bytes *echo_bytes(const uint8_t *b, size_t len) {
    uint8_t *copy = wi_memdup(b, len);
    wi_free_bytes(b, len);
    return wi_return_bytes(copy, len);
}
WI_POST_FREE(echo_bytes)

/* len is an element count; the host allocated len * sizeof(T) bytes, so no overflow. */
#define ECHO_LIST(SUFFIX, T)                                                               \
    WI_EXPORT(echo_list_##SUFFIX) wi_list_##SUFFIX *echo_list_##SUFFIX(const T *xs,        \
                                                                       size_t len);        \
    wi_list_##SUFFIX *echo_list_##SUFFIX(const T *xs, size_t len) {                        \
        T *copy = wi_memdup(xs, len * sizeof(T));                                          \
        wi_free_list(xs, len);                                                             \
        return wi_return_list(copy, len);                                                  \
    }                                                                                      \
    WI_POST_FREE(echo_list_##SUFFIX)

ECHO_LIST(i8, int8_t)
ECHO_LIST(i16, int16_t)
ECHO_LIST(i32, int32_t)
ECHO_LIST(i64, int64_t)
ECHO_LIST(u8, uint8_t)
ECHO_LIST(u16, uint16_t)
ECHO_LIST(u32, uint32_t)
ECHO_LIST(u64, uint64_t)
ECHO_LIST(f32, float)
ECHO_LIST(f64, double)

WI_EXPORT(str_len) uint32_t str_len(const char *s, size_t len) {
    wi_free_str(s, len);
    return (uint32_t)len;
}

/* ---- None results and module state --------------------------------------------------- */

static uint32_t nothing_calls;

WI_EXPORT(nothing) void nothing(void) { nothing_calls++; }

WI_EXPORT(counter) uint32_t counter(void) { return nothing_calls; }

/* ---- spilled parameters -------------------------------------------------------------- */

/* (a1: i32, ..., a17: i32) -> i64.  17 flat values > 16, so the host stores the
 * parameters like struct { int32_t a1, ..., a17; } (68 bytes, align 4) in a block it
 * allocated with cabi_realloc and passes its address: the block is ours to free. */
WI_EXPORT(sum17) int64_t sum17(const int32_t *args) {
    int64_t total = 0;
    for (int i = 0; i < 17; i++)
        total += args[i];
    wi_free_list(args, 17);
    return total;
}

/* ---- memory -------------------------------------------------------------------------- */

WI_EXPORT(mem_pages) uint32_t mem_pages(void) { return (uint32_t)__builtin_wasm_memory_size(0); }

/* memory.grow: the old size in pages, or -1 if memory cannot grow that much. */
WI_EXPORT(grow) int32_t grow(uint32_t pages) {
    size_t old = __builtin_wasm_memory_grow(0, pages);
    return old == (size_t)-1 ? -1 : (int32_t)old;
}

/* Allocations kept until release_hoard(), to run memory out.  hoard() allocates as most C
 * code does (wi_xmalloc: a trap when memory is exhausted); try_hoard() handles NULL and
 * returns 0.  Both return the memory's size in pages after a successful allocation. */
#define HOARD_SLOTS 64
static void *hoarded[HOARD_SLOTS];
static uint32_t nhoarded;

static uint32_t keep(void *p) {
    if (nhoarded < HOARD_SLOTS)
        hoarded[nhoarded++] = p;
    return (uint32_t)__builtin_wasm_memory_size(0);
}

WI_EXPORT(hoard) uint32_t hoard(uint32_t bytes) { return keep(wi_xmalloc(bytes)); }

WI_EXPORT(try_hoard) uint32_t try_hoard(uint32_t bytes) {
    void *p = wi_malloc(bytes);
    return p == NULL ? 0 : keep(p);
}

WI_EXPORT(release_hoard) void release_hoard(void) {
    while (nhoarded)
        wi_free(hoarded[--nhoarded]);
}

/* ---- traps --------------------------------------------------------------------------- */

WI_EXPORT(trap_unreachable) void trap_unreachable(void) { __builtin_trap(); }

/* recurse(n) == n while the stack lasts; a large n (10**6 is plenty) exhausts the wasm
 * engine's call stack and traps.  The volatile store after the recursive call keeps it out
 * of tail position, so the compiler cannot turn the recursion into a loop.  No local has
 * its address taken, so the C shadow stack in linear memory is not used: the trap leaves
 * __stack_pointer intact and the instance stays usable (see trap_unreachable). */
static volatile uint32_t recurse_sink;

WI_EXPORT(recurse) uint32_t recurse(uint32_t n) {
    if (n == 0)
        return 0;
    uint32_t below = recurse(n - 1u);
    recurse_sink = below;
    return below + 1u;
}

/* ---- traps with live C stack frames ------------------------------------------------- */

/* trap_with_frame() (from trap_frames.h) leaves a 4 KiB frame that only the host can pop. */
#include "trap_frames.h"

/* Uses 1 KiB of C stack and returns a sum over what it wrote there (523776). */
WI_EXPORT(stack_probe) uint32_t stack_probe(void) {
    volatile uint8_t buf[1024];
    fill(buf, sizeof buf);
    uint32_t sum = 0;
    for (uint32_t i = 0; i < sizeof buf; i++)
        sum += buf[i] + (i & ~0xFFu);
    return sum;
}

/* Recursion whose every level keeps a frame on the C stack: overflows the shadow stack
 * (below address 0 with --stack-first, a memory out-of-bounds trap) long before the
 * engine's own call stack. */
WI_EXPORT(deep_frames) uint32_t deep_frames(uint32_t n) {
    volatile uint8_t buf[256];
    fill(buf, sizeof buf);
    return n == 0 ? buf[7] : deep_frames(n - 1u) + buf[1];
}

/* ---- allocator churn ----------------------------------------------------------------- */

/* Allocate and free n buffers of varied sizes (1 B .. 192 KiB, some over-aligned, some
 * grown with wi_realloc) while keeping up to 8 alive, checking each one's contents before
 * freeing it; traps if a buffer was corrupted (overlapping blocks).  Returns the memory
 * size in pages afterwards, which is bounded whatever n is: the allocator only takes
 * fresh memory for a size class when no block of it is free, so at most 8 blocks of each
 * class ever exist, under 130 pages in all beyond the initial memory (about 10 in
 * practice).  Without reuse, n = 10**6 would need gigabytes. */
#define CHURN_SLOTS 8

WI_EXPORT(alloc_churn) uint32_t alloc_churn(uint32_t n) {
    unsigned char *slot[CHURN_SLOTS] = {0};
    size_t size[CHURN_SLOTS] = {0};
    uint32_t rng = 0x2545F491u;
    for (uint32_t i = 0; i < n; i++) {
        rng = rng * 1664525u + 1013904223u; /* LCG: deterministic sizes */
        unsigned k = (rng >> 8) % CHURN_SLOTS;
        if (slot[k] != NULL) {
            unsigned char mark = (unsigned char)(size[k] * 31u);
            if (slot[k][0] != mark || slot[k][size[k] - 1] != mark ||
                slot[k][size[k] / 2] != mark)
                __builtin_trap();
            wi_free(slot[k]);
        }
        uint32_t r = rng >> 16;
        size_t sz = (r & 63u) == 0 ? 65536u + r % 131072u : 1u + r % 2048u;
        unsigned char *p;
        if ((r & 7u) == 1u) {
            p = wi_malloc_aligned((size_t)64 << (r % 4u), sz); /* 64 .. 512 */
            if (p != NULL && ((uintptr_t)p & ((64u << (r % 4u)) - 1u)) != 0)
                __builtin_trap();
        } else if ((r & 7u) == 2u) {
            p = wi_malloc(sz / 2u + 1u);
            if (p != NULL)
                p = wi_realloc(p, sz);
        } else {
            p = wi_malloc(sz);
        }
        if (p == NULL)
            __builtin_trap();
        memset(p, (unsigned char)(sz * 31u), sz);
        slot[k] = p;
        size[k] = sz;
    }
    for (unsigned k = 0; k < CHURN_SLOTS; k++)
        wi_free(slot[k]);
    return (uint32_t)__builtin_wasm_memory_size(0);
}

/* ---- malformed results --------------------------------------------------------------- */

/* A return area pointing outside linear memory: the host must raise, not read. */
WI_EXPORT(bad_str) wi_str *bad_str(void) {
    return wi_return_str((const char *)(uintptr_t)0xFFFFFF00u, 0x1000u);
}

/* Two bytes that are not UTF-8: the host must raise, not return garbage. */
WI_EXPORT(bad_utf8) wi_str *bad_utf8(void) { return wi_return_str("\xff\xfe", 2); }

/* ---- spilled parameters of every kind ------------------------------------------------ */

/* 17 flat values of mixed types, so the host stores them in memory like this struct (the
 * wasm32 C layout is the Canonical ABI's: natural alignment).  The result is every field's
 * bytes (buffers: their contents) concatenated, for the test to compare with struct.pack. */
struct spill_mix_args {
    int8_t a;
    const char *s; uint32_t s_len;
    uint64_t b;
    float f;
    const uint8_t *d; uint32_t d_len;
    const uint16_t *xs; uint32_t xs_len;
    bool c;
    double g;
    int16_t h;
    const char *t; uint32_t t_len;
    uint32_t u;
    int64_t v;
    uint8_t w;
};

static unsigned char *put(unsigned char *out, const void *src, size_t n) {
    memcpy(out, src, n);
    return out + n;
}

WI_EXPORT(spill_mix) wi_bytes *spill_mix(struct spill_mix_args *p) {
    size_t n = 1 + p->s_len + 8 + 4 + p->d_len + 2u * p->xs_len + 1 + 8 + 2 + p->t_len + 4 +
               8 + 1;
    unsigned char *out = wi_xmalloc(n), *o = out;
    uint8_t c = p->c;
    o = put(o, &p->a, 1); o = put(o, p->s, p->s_len); o = put(o, &p->b, 8);
    o = put(o, &p->f, 4); o = put(o, p->d, p->d_len); o = put(o, p->xs, 2u * p->xs_len);
    o = put(o, &c, 1); o = put(o, &p->g, 8); o = put(o, &p->h, 2);
    o = put(o, p->t, p->t_len); o = put(o, &p->u, 4); o = put(o, &p->v, 8);
    put(o, &p->w, 1);
    wi_free_str(p->s, p->s_len);
    wi_free_bytes(p->d, p->d_len);
    wi_free_list(p->xs, p->xs_len);
    wi_free_str(p->t, p->t_len);
    wi_free(p);
    return wi_return_bytes(out, n);
}
WI_POST_FREE(spill_mix)

/* ---- a result in freshly grown memory ----------------------------------------------- */

/* Grow memory by one page and return a copy of s placed in the new page: the host must
 * see the larger memory to read the result. */
WI_EXPORT(grow_and_echo) wi_str *grow_and_echo(const char *s, size_t len) {
    size_t old = __builtin_wasm_memory_grow(0, 1);
    if (old == (size_t)-1 || len > 65536u)
        __builtin_trap();
    char *dst = (char *)(uintptr_t)(old * 65536u);
    memcpy(dst, s, len);
    wi_free_str(s, len);
    return wi_return_str(dst, len);
}

/* ---- long calls, for the GIL and locking tests -------------------------------------- */

/* Busy work for n iterations; returns a value that depends on all of them. */
WI_EXPORT(spin) uint32_t spin(uint32_t n) {
    volatile uint32_t x = 0;
    for (uint32_t i = 0; i < n; i++)
        x = x * 33u + i;
    return x;
}

/* A read-modify-write of module state with a long gap in between: two calls running in
 * one instance at once would lose updates. */
static uint32_t racy_total;

WI_EXPORT(racy_add) uint32_t racy_add(uint32_t x, uint32_t n) {
    uint32_t before = racy_total;
    spin(n);
    racy_total = before + x;
    return racy_total;
}

WI_EXPORT(racy_total_get) uint32_t racy_total_get(void) { return racy_total; }

/* Never returns: only a time limit, fuel or Ctrl-C ends it. */
WI_EXPORT(forever) void forever(void) {
    volatile uint32_t x = 0;
    for (;;)
        x++;
}
