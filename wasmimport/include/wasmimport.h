/*
 * wasmimport.h -- write wasmimport modules in C by hand.
 *
 * One header, no library.  It works in two modes:
 *
 *   freestanding   clang --target=wasm32 -nostdlib -O2 -mbulk-memory -Wl,--no-entry ...
 *                  No libc at all.  This header supplies a small allocator (memory from
 *                  __heap_base upward, size classes with free lists, real reuse) and weak
 *                  memcpy / memmove / memset / memcmp / strlen.
 *   wasi-libc      clang --target=wasm32-wasi -mexec-model=reactor -O2 ...
 *                  The allocation functions below wrap malloc / free / realloc.
 *
 * The mode follows __wasi__; define WI_USE_LIBC to 0 or 1 before including to force it.
 * Recommended linker flag in both modes: -Wl,--stack-first, so that a C stack overflow
 * runs off the bottom of memory and traps instead of silently overwriting static data.
 *
 * ---------------------------------------------------------------------------------------
 * THE ABI IN C TERMS  (the Component Model's Canonical ABI for a core module)
 * ---------------------------------------------------------------------------------------
 *   manifest type            C parameter(s)                  C result
 *   i8 i16 i32 / u8 u16 u32  int8_t ... / uint8_t ...         same type (travels as i32)
 *   i64 / u64                int64_t / uint64_t                same type (travels as i64)
 *   f32 / f64                float / double                    same type
 *   bool                     bool (or uint32_t, test != 0)     bool
 *   str                      const char *ptr, size_t len       wi_str *      (see below)
 *   bytes                    const uint8_t *ptr, size_t len    wi_bytes *
 *   list[T]                  const T *ptr, size_t count        wi_list_T *   (e.g. wi_list_f64)
 *   None                     -                                 void
 *   R, borrow[R] (resource)  T *obj (the handle: your pointer) T *
 *
 * - A resource ([types.R] resource = { drop = "r_free" }, docs/resources.md) is a guest
 *   object a Python object owns: the handle IS your pointer, so no handle table.  R as a
 *   parameter moves the object to you (free it, or keep it); borrow[R] lends it for the
 *   call (a method's self); R as a result hands a new one to Python, which calls your drop
 *   export (void r_free(T *)) exactly once.  WI_NEW(T) allocates a zeroed T.
 * - A str is UTF-8 and NOT NUL-terminated; its length is in bytes.  A list's length is
 *   its ELEMENT count.  Elements are little-endian and naturally aligned.
 * - Always pass a buffer as two separate C parameters.  Never take or return a struct by
 *   value: the wasm32 C ABI passes structs indirectly, which changes the core signature.
 * - Argument buffers: the host allocates each one with cabi_realloc(NULL, 0, align, size)
 *   (also for size 0) and copies the data in.  The buffer is then YOURS: free it with
 *   wi_free() (or wi_free_str / wi_free_bytes / wi_free_list) when you are done, or keep
 *   it, or even hand it back as your result.  The host never frees it (unless the
 *   manifest sets [abi] free, in which case you must NOT free it).
 * - A str / bytes / list result is returned through a "return area": the export returns
 *   ONE pointer to a {ptr, len} pair (ptr at +0, len at +4).  wi_return_str() and friends
 *   fill a static return area and return its address.
 * - After copying a result out, the host calls the export cabi_post_<name>(retptr), if the
 *   module has one.  That is where the result buffer is freed: WI_POST_FREE(name) defines
 *   it.  (For a scalar result cabi_post_<name> would take the scalar value instead; it is
 *   rarely useful.)
 * - When the flattened parameters exceed 16 core values, the export instead takes ONE
 *   pointer to all parameters laid out in memory like a C struct with natural alignment;
 *   the host allocates that block with cabi_realloc too, so it is yours to wi_free.
 * - A trap (__builtin_trap(), WI_TRAP(), integer division by zero, out-of-bounds access)
 *   aborts the call and raises wasmimport.Trap in Python.
 *
 * WHO FREES WHAT (the rule of this header)
 *   * Argument buffers belong to the guest: free them (wi_free_str etc.) when done.
 *     With [abi] free = "free" (and WI_EXPORT_FREE()) they are only lent: never free them.
 *   * Result buffers belong to the guest until the host has copied them: free them in
 *     cabi_post_<name>, i.e. WI_POST_FREE(name).  A result may also point to static data
 *     (a string literal); WI_POST_FREE is still safe then, see the next point.
 *   * Zero-length buffers own no memory.  cabi_realloc(..., new_size = 0) returns a
 *     dummy, suitably aligned, non-NULL pointer below __heap_base (the value of `align`).
 *     wi_free() ignores NULL and every pointer below __heap_base (the dummy, string
 *     literals, static data), so freeing any pointer the host handed you is always safe,
 *     whatever its length.  wi_realloc() treats such a pointer like NULL.
 *   * wi_malloc(0) returns a real, unique, freeable allocation.
 *   * Allocation failure: wi_malloc/wi_realloc return NULL; cabi_realloc and wi_xmalloc
 *     trap (`unreachable`).  For an argument's buffer the host raises MemoryError (or
 *     calls the manifest's `oversize` function); elsewhere it is a wasmimport.Trap.
 *
 * A COMPLETE EXAMPLE  (greet.c)
 *
 *     #include "wasmimport.h"
 *
 *     WI_EXPORT(add) int32_t add(int32_t a, int32_t b) {
 *         return (int32_t)((uint32_t)a + (uint32_t)b);     // wraps, no signed overflow UB
 *     }
 *
 *     WI_EXPORT(greet) wi_str *greet(const char *name, size_t len) {
 *         size_t n = 7 + len + 1;                          // "Hello, " + name + "!"
 *         char *out = wi_xmalloc(n);                       // traps if memory is exhausted
 *         memcpy(out, "Hello, ", 7);
 *         memcpy(out + 7, name, len);
 *         out[n - 1] = '!';
 *         wi_free_str(name, len);                          // the argument is ours: free it
 *         return wi_return_str(out, n);                    // pointer to {out, n}
 *     }
 *     WI_POST_FREE(greet)                                  // exports cabi_post_greet: frees out
 *
 * and its sidecar manifest greet.wasm.toml:
 *
 *     doc = "Greetings."
 *     [functions]
 *     add   = "(a: i32, b: i32) -> i32"
 *     greet = "(name: str) -> str"
 *
 * Build (either mode):
 *     clang --target=wasm32 -nostdlib -O2 -mbulk-memory -Wl,--no-entry -Wl,--stack-first \
 *           -I.../wasmimport/include greet.c -o greet.wasm
 *     clang --target=wasm32-wasi -mexec-model=reactor -O2 -Wl,--stack-first \
 *           -I.../wasmimport/include greet.c -o greet.wasm
 *
 * The header may be included in several translation units of one module: everything with
 * external linkage here is a weak definition, so the linker keeps exactly one copy.
 * A wasm instance is single-threaded; nothing here is meant to be thread-safe.
 */
#ifndef WASMIMPORT_H
#define WASMIMPORT_H

#if !defined(__wasm32__)
#error "wasmimport.h targets wasm32: compile with clang --target=wasm32 or --target=wasm32-wasi"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifndef WI_USE_LIBC
#ifdef __wasi__
#define WI_USE_LIBC 1
#else
#define WI_USE_LIBC 0
#endif
#endif

#if WI_USE_LIBC
#include <stdlib.h>
#include <string.h>
#else
/* No libc: these are defined (weak) at the end of this header. */
void *memcpy(void *restrict dst, const void *restrict src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
#endif

/* ------------------------------------------------------------------------------------- */
/* Exports, imports, traps                                                               */
/* ------------------------------------------------------------------------------------- */

/* Export the following function under `name`: WI_EXPORT(add) int32_t add(...) */
#define WI_EXPORT(name) __attribute__((export_name(#name)))
/* Export under any string, also non-identifiers: WI_EXPORT_AS("my-func") */
#define WI_EXPORT_AS(string) __attribute__((export_name(string)))
/* Declare a host function the module imports ([imports.MODULE.NAME] in the manifest). */
#define WI_IMPORT(module, name) __attribute__((import_module(#module), import_name(#name)))
/* Abort the call; Python sees wasmimport.Trap. */
#define WI_TRAP() __builtin_trap()

/* ------------------------------------------------------------------------------------- */
/* Return areas                                                                          */
/* ------------------------------------------------------------------------------------- */

/* What a str result's return area holds (ptr at +0, len = UTF-8 byte count at +4). */
typedef struct wi_str {
    const char *ptr;
    size_t len;
} wi_str;

/* What a bytes result's return area holds. */
typedef struct wi_bytes {
    const uint8_t *ptr;
    size_t len;
} wi_bytes;

_Static_assert(sizeof(wi_str) == 8 && offsetof(wi_str, len) == 4, "return area layout");
_Static_assert(sizeof(wi_bytes) == 8 && offsetof(wi_bytes, len) == 4, "return area layout");

/* Each result kind has its own static return area: it only has to live until the host has
 * read it, right after the export returns.  (static in a static inline function: one per
 * translation unit, which is fine.) */
static inline wi_str *wi_return_str(const char *ptr, size_t len) {
    static wi_str area;
    area.ptr = ptr;
    area.len = len;
    return &area;
}

static inline wi_bytes *wi_return_bytes(const uint8_t *ptr, size_t len) {
    static wi_bytes area;
    area.ptr = ptr;
    area.len = len;
    return &area;
}

/* WI_LIST_TYPE(T, SUFFIX) declares the return area type wi_list_SUFFIX {const T *ptr;
 * size_t len;} (len = element count) and wi_list_SUFFIX *wi_return_list_SUFFIX(ptr, len). */
#define WI_LIST_TYPE(T, SUFFIX)                                                            \
    typedef struct wi_list_##SUFFIX {                                                      \
        const T *ptr;                                                                      \
        size_t len;                                                                        \
    } wi_list_##SUFFIX;                                                                    \
    static inline wi_list_##SUFFIX *wi_return_list_##SUFFIX(const T *ptr, size_t len) {    \
        static wi_list_##SUFFIX area;                                                      \
        area.ptr = ptr;                                                                    \
        area.len = len;                                                                    \
        return &area;                                                                      \
    }

WI_LIST_TYPE(int8_t, i8)
WI_LIST_TYPE(int16_t, i16)
WI_LIST_TYPE(int32_t, i32)
WI_LIST_TYPE(int64_t, i64)
WI_LIST_TYPE(uint8_t, u8)
WI_LIST_TYPE(uint16_t, u16)
WI_LIST_TYPE(uint32_t, u32)
WI_LIST_TYPE(uint64_t, u64)
WI_LIST_TYPE(float, f32)
WI_LIST_TYPE(double, f64)

/* wi_return_list(ptr, len): picks wi_return_list_<T> from the pointer's element type. */
#define WI__RL(T, S) T *: wi_return_list_##S, const T *: wi_return_list_##S
#define wi_return_list(ptr, len)                                                           \
    _Generic((ptr), WI__RL(int8_t, i8), WI__RL(int16_t, i16), WI__RL(int32_t, i32),        \
             WI__RL(int64_t, i64), WI__RL(uint8_t, u8), WI__RL(uint16_t, u16),             \
             WI__RL(uint32_t, u32), WI__RL(uint64_t, u64), WI__RL(float, f32),             \
             WI__RL(double, f64))((ptr), (len))

/* ------------------------------------------------------------------------------------- */
/* Allocation                                                                            */
/* ------------------------------------------------------------------------------------- */

/* malloc: at least 16-byte aligned; size 0 gives a real, unique, freeable block; NULL when
 * memory cannot grow. */
void *wi_malloc(size_t size);
/* Like wi_malloc with a larger alignment (a power of two); NULL if it is not one. */
void *wi_malloc_aligned(size_t align, size_t size);
/* realloc: ptr may be NULL or a zero-length dummy (then like wi_malloc).  On failure
 * returns NULL and leaves ptr valid.  Keeps 16-byte alignment (not more). */
void *wi_realloc(void *ptr, size_t size);
/* free: NULL and any pointer below __heap_base (zero-length dummies, static data) are
 * ignored.  Freestanding mode traps on a pointer it did not hand out or a double free
 * (best effort). */
void wi_free(void *ptr);
/* The allocator export the host uses (manifest [abi] realloc, the default).  Traps when
 * memory cannot grow or align is not a power of two; new_size == 0 frees old_ptr and
 * returns the dummy pointer `align`. */
void *cabi_realloc(void *old_ptr, size_t old_size, size_t align, size_t new_size);

/* A new zeroed T for a resource's constructor (traps when memory is exhausted). */
#define WI_NEW(T) ((T *)__builtin_memset(wi_xmalloc(sizeof(T)), 0, sizeof(T)))

/* wi_malloc that traps instead of returning NULL. */
static inline void *wi_xmalloc(size_t size) {
    void *p = wi_malloc(size);
    if (!p)
        __builtin_trap();
    return p;
}

/* A fresh copy of n bytes (traps when out of memory). */
static inline void *wi_memdup(const void *src, size_t n) {
    void *p = wi_xmalloc(n);
    memcpy(p, src, n);
    return p;
}

/* Free an argument buffer.  Safe for every pointer the host passed, including the
 * zero-length dummy; the length is only there to keep call sites self-explaining. */
static inline void wi_free_str(const char *ptr, size_t len) {
    (void)len;
    wi_free((void *)(uintptr_t)ptr);
}
static inline void wi_free_bytes(const uint8_t *ptr, size_t len) {
    (void)len;
    wi_free((void *)(uintptr_t)ptr);
}
static inline void wi_free_list(const void *ptr, size_t len) {
    (void)len;
    wi_free((void *)(uintptr_t)ptr);
}

/* Free the buffer a return area points to (its first word).  Use it in a hand-written
 * cabi_post_<name>; WI_POST_FREE(name) does exactly this. */
static inline void wi_post_free(void *retptr) {
    void *buf;
    __builtin_memcpy(&buf, retptr, sizeof buf);
    wi_free(buf);
}

/* Define and export cabi_post_<name>(retptr), which frees the result buffer of <name>.
 * Write it at file scope after the export. */
#define WI_POST_FREE(name)                                                                 \
    WI_EXPORT_AS("cabi_post_" #name) void wi__post_free_##name(void *retptr);              \
    void wi__post_free_##name(void *retptr) { wi_post_free(retptr); }

/* Define and export `free` (wi_free) for a manifest that sets [abi] free = "free": the
 * host then frees every argument buffer after the call (and lends small ones from a block
 * it keeps), so the guest must not free, keep or return them.  Write it once at file
 * scope. */
#define WI_EXPORT_FREE()                                                                   \
    WI_EXPORT_AS("free") void wi__export_free(void *ptr);                                  \
    void wi__export_free(void *ptr) { wi_free(ptr); }

/* __heap_base is defined by wasm-ld: the first address after static data and stack.
 * Every heap block lies at or above it; wi_free ignores anything below it. */
extern unsigned char wi__heap_base __asm__("__heap_base");
#define WI__HEAP_BASE ((uintptr_t)&wi__heap_base)

/* realloc with an alignment, for cabi_realloc: NULL on failure (defined per mode below). */
static void *wi__realloc_aligned(void *ptr, size_t old_size, size_t align, size_t size);

__attribute__((weak, export_name("cabi_realloc"))) void *
cabi_realloc(void *old_ptr, size_t old_size, size_t align, size_t new_size) {
    if (align == 0 || (align & (align - 1)) != 0)
        __builtin_trap();
    if (new_size == 0 && align < WI__HEAP_BASE) {
        wi_free(old_ptr);
        return (void *)align; /* zero-length dummy: aligned, non-NULL, owns nothing */
    }
    void *p = (old_ptr == NULL || old_size == 0)
                  ? wi_malloc_aligned(align, new_size)
                  : wi__realloc_aligned(old_ptr, old_size, align, new_size);
    if (p == NULL)
        __builtin_trap();
    if (old_ptr != NULL && old_size == 0)
        wi_free(old_ptr); /* a zero-length dummy (ignored) or a block with no content */
    return p;
}

#if WI_USE_LIBC
/* ---- wasi-libc: wrap malloc/free/realloc ---------------------------------------------- */

/* malloc's own alignment (16 on wasm32). */
#define WI__MALLOC_ALIGN _Alignof(max_align_t)

__attribute__((weak)) void *wi_malloc(size_t size) {
    return malloc(size ? size : 1); /* size 0: a real, unique block on every libc */
}

__attribute__((weak)) void *wi_malloc_aligned(size_t align, size_t size) {
    if (align == 0 || (align & (align - 1)) != 0)
        return NULL;
    if (align <= WI__MALLOC_ALIGN)
        return wi_malloc(size);
    /* C11 aligned_alloc wants a size that is a multiple of the alignment. */
    if (size > SIZE_MAX - (align - 1))
        return NULL;
    size_t rounded = (size + align - 1) & ~(align - 1);
    return aligned_alloc(align, rounded ? rounded : align);
}

__attribute__((weak)) void *wi_realloc(void *ptr, size_t size) {
    if ((uintptr_t)ptr < WI__HEAP_BASE)
        return wi_malloc(size);
    return realloc(ptr, size ? size : 1);
}

__attribute__((weak)) void wi_free(void *ptr) {
    if ((uintptr_t)ptr >= WI__HEAP_BASE)
        free(ptr);
}

static void *wi__realloc_aligned(void *ptr, size_t old_size, size_t align, size_t size) {
    if ((uintptr_t)ptr < WI__HEAP_BASE)
        return wi_malloc_aligned(align, size);
    if (align <= WI__MALLOC_ALIGN)
        return realloc(ptr, size ? size : 1);
    /* realloc keeps only malloc's alignment: move by hand. */
    void *q = wi_malloc_aligned(align, size);
    if (q == NULL)
        return NULL;
    memcpy(q, ptr, old_size < size ? old_size : size);
    free(ptr);
    return q;
}

#else
/* ---- freestanding: a small segregated-fit allocator ----------------------------------
 *
 * Memory from __heap_base upward is carved into blocks of fixed size classes: 32, 48, 64
 * bytes, then four classes per power of two (80 96 112 128, 160 192 224 256, ... up to
 * 2 GiB), so a block wastes at most a quarter of its size.  Each class has a free list: a
 * freed block goes back on its list and serves the next request of that class (or of
 * the three classes below it), so a steady allocate/free workload stops growing memory.
 * Blocks are never split or merged, which keeps every operation O(1) and the code short;
 * the price is that memory freed in small blocks is not reused for big ones.  New blocks
 * come from a bump pointer; when it passes the end of linear memory, memory.grow adds
 * the pages needed.  The allocator assumes it owns all memory above __heap_base.
 *
 * Every payload is preceded by a 16-byte header (which keeps payloads 16-aligned):
 *     tag    = WI__MAGIC | class << 8 | used bit     (checked by free and realloc)
 *     offset = payload - block start                 (16, more for larger alignments)
 * A free block keeps a header at its start, followed by the free-list link.
 */

#define WI__HDR 16u
#define WI__MAX_BLOCK 0x80000000u /* 2 GiB, the largest class */
#define WI__CLASSES 103u          /* 32, 48, 64, then 4 per power of two up to 2^31 */
#define WI__MAGIC 0x57490000u
#define WI__MAGIC_MASK 0xFFFF0000u
#define WI__USED 1u
#define WI__PAGE 65536u

typedef struct wi__block {
    uint32_t tag;
    uint32_t offset;
    struct wi__block *next; /* free-list link, only while the block is free */
    uint32_t unused;
} wi__block;
_Static_assert(sizeof(wi__block) == WI__HDR, "header size");

/* The allocator state: weak, so every translation unit shares the same single copy. */
__attribute__((weak)) struct wi__heap_state {
    uintptr_t top; /* bump pointer; 0 until first use */
    wi__block *free[WI__CLASSES];
} wi__heap;

/* The smallest class whose blocks hold `need` bytes (16 < need <= 2^31).  Above 64,
 * class sizes are 2^e + q * 2^(e-2) for q = 1..4, where 2^e < need <= 2^(e+1). */
static inline uint32_t wi__class_for(uint32_t need) {
    if (need <= 64u)
        return need <= 32u ? 0u : need <= 48u ? 1u : 2u;
    uint32_t e = 31u - (uint32_t)__builtin_clz(need - 1u); /* 6 .. 30 */
    uint32_t q = (need - (1u << e) + (1u << (e - 2u)) - 1u) >> (e - 2u); /* 1 .. 4 */
    return 3u + (e - 6u) * 4u + (q - 1u);
}

/* The block size of a class. */
static inline uint32_t wi__class_size(uint32_t cls) {
    if (cls < 3u)
        return 32u + cls * 16u;
    uint32_t e = 6u + (cls - 3u) / 4u, q = (cls - 3u) % 4u + 1u;
    return (1u << e) + q * (1u << (e - 2u));
}

/* A fresh block of `size` bytes from the bump pointer, growing memory if needed. */
static wi__block *wi__bump(uint32_t size) {
    if (wi__heap.top == 0)
        wi__heap.top = (WI__HEAP_BASE + 15u) & ~(uintptr_t)15u;
    uint64_t start = wi__heap.top;
    uint64_t end = start + size;
    if (end > UINT32_MAX) /* wasm32 memory ends at 4 GiB */
        return NULL;
    uint64_t have = (uint64_t)__builtin_wasm_memory_size(0) * WI__PAGE;
    if (end > have) {
        size_t pages = (size_t)((end - have + WI__PAGE - 1) / WI__PAGE);
        if (__builtin_wasm_memory_grow(0, pages) == (size_t)-1)
            return NULL;
    }
    wi__heap.top = (uintptr_t)end;
    return (wi__block *)(uintptr_t)start;
}

__attribute__((weak)) void *wi_malloc_aligned(size_t align, size_t size) {
    if (align == 0 || (align & (align - 1)) != 0)
        return NULL;
    if (align < WI__HDR)
        align = WI__HDR;
    /* Blocks start 16-aligned, so the header plus a payload at the next multiple of
     * `align` fit in WI__HDR + (align - 16) + size bytes. */
    size_t extra = align - WI__HDR;
    if (size > WI__MAX_BLOCK - WI__HDR - extra) /* align <= 2^31, so no wrap-around */
        return NULL;
    uint32_t cls = wi__class_for((uint32_t)(WI__HDR + extra + size));
    /* Reuse a free block of this class or of one of the next three (at most twice the
     * size) before taking fresh memory; the block keeps its own class. */
    uint32_t last = cls + 3u < WI__CLASSES ? cls + 3u : WI__CLASSES - 1u;
    wi__block *block = NULL;
    for (uint32_t c = cls; c <= last; c++) {
        if ((block = wi__heap.free[c]) != NULL) {
            wi__heap.free[c] = block->next;
            cls = c;
            break;
        }
    }
    if (block == NULL && (block = wi__bump(wi__class_size(cls))) == NULL)
        return NULL;
    uintptr_t payload = ((uintptr_t)block + WI__HDR + extra) & ~(uintptr_t)(align - 1);
    wi__block *hdr = (wi__block *)(payload - WI__HDR);
    hdr->tag = WI__MAGIC | cls << 8 | WI__USED;
    hdr->offset = (uint32_t)(payload - (uintptr_t)block);
    return (void *)payload;
}

__attribute__((weak)) void *wi_malloc(size_t size) { return wi_malloc_aligned(WI__HDR, size); }

/* The header of a live heap block, or a trap for a pointer we never handed out. */
static wi__block *wi__header_of(void *ptr) {
    uintptr_t p = (uintptr_t)ptr;
    if ((p & 15u) != 0 || p >= wi__heap.top || p < WI__HEAP_BASE + WI__HDR)
        __builtin_trap();
    wi__block *hdr = (wi__block *)(p - WI__HDR);
    if ((hdr->tag & WI__MAGIC_MASK) != WI__MAGIC || (hdr->tag & WI__USED) == 0 ||
        ((hdr->tag >> 8) & 0xFFu) >= WI__CLASSES || hdr->offset > p - WI__HEAP_BASE)
        __builtin_trap(); /* not a heap block, or freed already */
    return hdr;
}

__attribute__((weak)) void wi_free(void *ptr) {
    if ((uintptr_t)ptr < WI__HEAP_BASE)
        return; /* NULL, zero-length dummy or static data */
    wi__block *hdr = wi__header_of(ptr);
    uint32_t cls = (hdr->tag >> 8) & 0xFFu;
    wi__block *block = (wi__block *)((uintptr_t)ptr - hdr->offset);
    hdr->tag &= ~WI__USED; /* lets a second free of ptr trap */
    block->tag = WI__MAGIC | cls << 8;
    block->offset = WI__HDR;
    block->next = wi__heap.free[cls];
    wi__heap.free[cls] = block;
}

static void *wi__realloc_aligned(void *ptr, size_t old_size, size_t align, size_t size) {
    if ((uintptr_t)ptr < WI__HEAP_BASE)
        return wi_malloc_aligned(align, size);
    wi__block *hdr = wi__header_of(ptr);
    size_t capacity = wi__class_size((hdr->tag >> 8) & 0xFFu) - hdr->offset;
    if (size <= capacity && ((uintptr_t)ptr & (align - 1)) == 0)
        return ptr; /* fits where it is */
    void *q = wi_malloc_aligned(align, size);
    if (q == NULL)
        return NULL;
    size_t keep = old_size < capacity ? old_size : capacity;
    memcpy(q, ptr, keep < size ? keep : size);
    wi_free(ptr);
    return q;
}

__attribute__((weak)) void *wi_realloc(void *ptr, size_t size) {
    return wi__realloc_aligned(ptr, SIZE_MAX, WI__HDR, size);
}

/* ---- freestanding: the memory functions clang may call -------------------------------
 *
 * With -mbulk-memory, __builtin_memcpy/memmove/memset compile to the memory.copy and
 * memory.fill instructions.  Without it, plain loops; no_builtin stops the optimizer from
 * recognising a loop as "memcpy" and turning it back into a call to itself. */

#ifdef __wasm_bulk_memory__

__attribute__((weak, no_builtin)) void *memcpy(void *restrict dst, const void *restrict src,
                                               size_t n) {
    __builtin_memcpy(dst, src, n);
    return dst;
}
__attribute__((weak, no_builtin)) void *memmove(void *dst, const void *src, size_t n) {
    __builtin_memmove(dst, src, n);
    return dst;
}
__attribute__((weak, no_builtin)) void *memset(void *dst, int c, size_t n) {
    __builtin_memset(dst, c, n);
    return dst;
}

#else

/* A 64-bit word that may alias anything and sit at any address. */
typedef uint64_t __attribute__((__may_alias__, __aligned__(1))) wi__word;

__attribute__((weak, no_builtin)) void *memcpy(void *restrict dst, const void *restrict src,
                                               size_t n) {
    unsigned char *d = dst;
    const unsigned char *s = src;
    for (; n >= 8; n -= 8, d += 8, s += 8)
        *(wi__word *)d = *(const wi__word *)s;
    for (; n > 0; n--)
        *d++ = *s++;
    return dst;
}
__attribute__((weak, no_builtin)) void *memmove(void *dst, const void *src, size_t n) {
    unsigned char *d = dst;
    const unsigned char *s = src;
    if ((uintptr_t)d - (uintptr_t)s >= n) { /* no harmful overlap: copy forwards */
        for (; n >= 8; n -= 8, d += 8, s += 8)
            *(wi__word *)d = *(const wi__word *)s;
        for (; n > 0; n--)
            *d++ = *s++;
    } else { /* dst lies inside [src, src + n): copy backwards */
        d += n;
        s += n;
        for (; n >= 8; n -= 8) {
            d -= 8;
            s -= 8;
            *(wi__word *)d = *(const wi__word *)s;
        }
        for (; n > 0; n--)
            *--d = *--s;
    }
    return dst;
}
__attribute__((weak, no_builtin)) void *memset(void *dst, int c, size_t n) {
    unsigned char *d = dst;
    uint64_t w = (unsigned char)c * UINT64_C(0x0101010101010101);
    for (; n >= 8; n -= 8, d += 8)
        *(wi__word *)d = w;
    for (; n > 0; n--)
        *d++ = (unsigned char)c;
    return dst;
}

#endif /* __wasm_bulk_memory__ */

__attribute__((weak, no_builtin)) int memcmp(const void *a, const void *b, size_t n) {
    const unsigned char *x = a, *y = b;
    for (; n > 0; n--, x++, y++)
        if (*x != *y)
            return *x < *y ? -1 : 1;
    return 0;
}

__attribute__((weak, no_builtin)) size_t strlen(const char *s) {
    const char *p = s;
    while (*p)
        p++;
    return (size_t)(p - s);
}

#endif /* WI_USE_LIBC */

#endif /* WASMIMPORT_H */
