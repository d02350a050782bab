/*
 * murmur.c -- MurmurHash3 (x86_32, x86_128, x64_128) for the mmh3-wasm sample package,
 * written for this repository from the algorithm's public description (Austin Appleby's
 * MurmurHash3, placed in the public domain).  Freestanding: wasmimport.h brings the
 * allocator.  The manifest is src/mmh3/_murmur.wasm.toml.
 *
 * One-shot hashes take the key and the seed and return the hash in the form mmh3's API
 * gives it, so that the manifest binds them as mmh3's functions with no Python between:
 *   x86_32(key, seed) -> u32; hash32(key, seed, signed) -> i64 (signed or not)
 *   x86_128, x64_128(key, seed); hash128(key, seed, x64arch)
 *                     -> the 16-byte digest as two u64 (low, high), through a return area
 *   *_bytes(...)      -> the digest as bytes, little endian
 * Streaming hashers are the manifest's resources mmh3_32, mmh3_x86_128 and mmh3_x64_128:
 * the handle Python holds is the state's pointer, dropped by hasher_free exactly once, so
 * there is no handle table here.  hasher_*_new(data: option<bytes>, seed), hasher_update,
 * hasher_digest (two u64), hasher_digest32, hasher_digest_bytes, hasher_copy.
 * Argument buffers are only lent ([abi] free in the manifest): the host frees them after
 * the call (and does not allocate small ones at all), so nothing here frees or keeps one.
 */
#include "wasmimport.h"

static inline uint32_t rotl32(uint32_t x, int r) { return (x << r) | (x >> (32 - r)); }
static inline uint64_t rotl64(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

static inline uint32_t load32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t load64(const uint8_t *p) {
    return (uint64_t)load32(p) | (uint64_t)load32(p + 4) << 32;
}

/* the final avalanche of each variant */
static inline uint32_t fmix32(uint32_t h) {
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return h;
}

static inline uint64_t fmix64(uint64_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ull;
    k ^= k >> 33;
    return k;
}

/* ---- the three variants as (state, blocks, tail + finish) ---------------------------- */

enum { X86_32, X86_128, X64_128, KINDS };
static const uint32_t block_size[KINDS] = {4, 16, 16};

typedef struct {
    uint32_t kind;
    uint32_t h[4];           /* x86: h1..h4 (x86_32 uses h[0]) */
    uint64_t g[2];           /* x64_128: h1, h2 */
    uint8_t tail[16];        /* bytes of a block not yet complete */
    uint32_t ntail;
    uint64_t length;         /* bytes hashed so far (the finish mixes in its low 32 bits) */
} state;

#define C1_32 0xcc9e2d51u
#define C2_32 0x1b873593u

static inline uint32_t mix_k1_32(uint32_t k) { return rotl32(k * C1_32, 15) * C2_32; }

static const uint32_t c128[4] = {0x239b961bu, 0xab0e9789u, 0x38b34ae5u, 0xa1e38b93u};
static const int krot128[4] = {15, 16, 17, 18};
static const int hrot128[4] = {19, 17, 15, 13};
static const uint32_t add128[4] = {0x561ccd1bu, 0x0bcaa747u, 0x96cd1c35u, 0x32ac3b17u};

/* lane i of x86_128: its key word, mixed with its own constants */
static inline uint32_t mix_k_128(uint32_t k, int i) {
    return rotl32(k * c128[i], krot128[i]) * c128[(i + 1) & 3];
}

#define C1_64 0x87c37b91114253d5ull
#define C2_64 0x4cf5ad432745937full

static inline uint64_t mix_k1_64(uint64_t k) { return rotl64(k * C1_64, 31) * C2_64; }
static inline uint64_t mix_k2_64(uint64_t k) { return rotl64(k * C2_64, 33) * C1_64; }

/* The block loops are unrolled: wasmtime checks at every loop iteration whether to stop
 * the call (Ctrl-C, [limits] timeout), which in a 4-byte block's loop costs as much as
 * the hashing (callgrind: 8.9 M instructions for 1 MiB of x86_32 rolled, 5.1 M unrolled
 * by 8; the native wheel's 2.1 M). */
#define UNROLL(n) _Pragma(WI__STR(clang loop unroll_count(n)))
#define WI__STR(x) #x

/* x86_32's block mixing and its tail and avalanche: the streaming hasher's and the
 * one-shot hash's */
static inline uint32_t x86_32_blocks(uint32_t h, const uint8_t *p, size_t nblocks) {
    UNROLL(8)
    for (size_t b = 0; b < nblocks; b++, p += 4) {
        h ^= mix_k1_32(load32(p));
        h = rotl32(h, 13) * 5 + 0xe6546b64u;
    }
    return h;
}

static inline uint32_t x86_32_finish(uint32_t h, const uint8_t *tail, uint32_t n,
                                     uint32_t len) {
    uint32_t k = 0;
    for (uint32_t i = n; i-- > 0;)
        k = k << 8 | tail[i];
    if (n)
        h ^= mix_k1_32(k);
    return fmix32(h ^ len);
}

static void init(state *s, uint32_t kind, uint32_t seed) {
    memset(s, 0, sizeof *s);
    s->kind = kind;
    for (int i = 0; i < 4; i++)
        s->h[i] = seed;
    s->g[0] = s->g[1] = seed;
}

/* Mix in `nblocks` whole blocks. */
static void blocks(state *s, const uint8_t *p, size_t nblocks) {
    switch (s->kind) {
    case X86_32:
        s->h[0] = x86_32_blocks(s->h[0], p, nblocks);
        break;
    case X86_128: {
        uint32_t h[4];          /* a copy, kept in registers: the key's bytes may alias s */
        memcpy(h, s->h, sizeof h);
        UNROLL(4)
        for (size_t b = 0; b < nblocks; b++, p += 16)
            for (int i = 0; i < 4; i++) {
                h[i] ^= mix_k_128(load32(p + 4 * i), i);
                h[i] = (rotl32(h[i], hrot128[i]) + h[(i + 1) & 3]) * 5 + add128[i];
            }
        memcpy(s->h, h, sizeof h);
        break;
    }
    default: {
        uint64_t h1 = s->g[0], h2 = s->g[1];
        UNROLL(4)
        for (size_t b = 0; b < nblocks; b++, p += 16) {
            h1 ^= mix_k1_64(load64(p));
            h1 = (rotl64(h1, 27) + h2) * 5 + 0x52dce729;
            h2 ^= mix_k2_64(load64(p + 8));
            h2 = (rotl64(h2, 31) + h1) * 5 + 0x38495ab5;
        }
        s->g[0] = h1;
        s->g[1] = h2;
    }
    }
}

/* The digest of everything hashed: the tail, then the length, then the avalanche. */
static void finish(const state *s, uint64_t out[2]) {
    const uint8_t *t = s->tail;
    uint32_t n = s->ntail, len = (uint32_t)s->length;
    if (s->kind == X86_32) {
        out[0] = x86_32_finish(s->h[0], t, n, len);
        out[1] = 0;
        return;
    }
    if (s->kind == X86_128) {
        uint32_t h[4];
        memcpy(h, s->h, sizeof h);
        for (int lane = 3; lane >= 0; lane--) {      /* the lanes the tail reaches */
            if (n <= 4u * lane)
                continue;
            uint32_t k = 0;
            for (uint32_t i = n < 4u * lane + 4 ? n : 4u * lane + 4; i-- > 4u * lane;)
                k = k << 8 | t[i];
            h[lane] ^= mix_k_128(k, lane);
        }
        for (int i = 0; i < 4; i++)
            h[i] ^= len;
        h[0] += h[1] + h[2] + h[3];
        h[1] += h[0];
        h[2] += h[0];
        h[3] += h[0];
        for (int i = 0; i < 4; i++)
            h[i] = fmix32(h[i]);
        h[0] += h[1] + h[2] + h[3];
        h[1] += h[0];
        h[2] += h[0];
        h[3] += h[0];
        out[0] = (uint64_t)h[0] | (uint64_t)h[1] << 32;
        out[1] = (uint64_t)h[2] | (uint64_t)h[3] << 32;
        return;
    }
    uint64_t h1 = s->g[0], h2 = s->g[1], k1 = 0, k2 = 0;
    for (uint32_t i = n; i-- > 8;)
        k2 = k2 << 8 | t[i];
    for (uint32_t i = n < 8 ? n : 8; i-- > 0;)
        k1 = k1 << 8 | t[i];
    if (n > 8)
        h2 ^= mix_k2_64(k2);
    if (n)
        h1 ^= mix_k1_64(k1);
    h1 ^= s->length;
    h2 ^= s->length;
    h1 += h2;
    h2 += h1;
    h1 = fmix64(h1);
    h2 = fmix64(h2);
    h1 += h2;
    h2 += h1;
    out[0] = h1;
    out[1] = h2;
}

/* Hash `len` more bytes: complete the kept block, mix whole blocks, keep the rest. */
static void update(state *s, const uint8_t *p, size_t len) {
    uint32_t bs = block_size[s->kind];
    s->length += len;
    if (s->ntail) {
        size_t take = bs - s->ntail < len ? bs - s->ntail : len;
        memcpy(s->tail + s->ntail, p, take);
        s->ntail += (uint32_t)take;
        p += take;
        len -= take;
        if (s->ntail < bs)
            return;
        blocks(s, s->tail, 1);
        s->ntail = 0;
    }
    blocks(s, p, len / bs);
    s->ntail = (uint32_t)(len % bs);
    memcpy(s->tail, p + len - s->ntail, s->ntail);
}

/* ---- one-shot hashes ------------------------------------------------------------------ */

typedef struct { uint64_t low, high; } digest128;   /* tuple[u64, u64] */
static digest128 result_area;
static uint8_t digest_bytes[16];                    /* a bytes result: copied by the host */

/* The digest of a key, lent for the call. */
static digest128 *oneshot(uint32_t kind, const uint8_t *key, size_t len, uint32_t seed) {
    state s;
    init(&s, kind, seed);
    update(&s, key, len);
    finish(&s, &result_area.low);
    return &result_area;
}

/* x86_32 of a whole key in one pass, with no state to set up: the hot path of hash() and
 * the 32-bit digests. */
static uint32_t x86_32_oneshot(const uint8_t *p, size_t len, uint32_t seed) {
    uint32_t h = x86_32_blocks(seed, p, len / 4);
    return x86_32_finish(h, p + (len & ~(size_t)3), (uint32_t)(len & 3), (uint32_t)len);
}

static wi_bytes *as_bytes(const digest128 *d, uint32_t kind) {
    memcpy(digest_bytes, &d->low, 8);               /* wasm is little endian */
    memcpy(digest_bytes + 8, &d->high, 8);
    return wi_return_bytes(digest_bytes, kind == X86_32 ? 4 : 16);
}

static uint32_t arch(uint32_t x64arch) { return x64arch ? X64_128 : X86_128; }

WI_EXPORT(x86_32) uint32_t x86_32(const uint8_t *key, size_t len, uint32_t seed) {
    return x86_32_oneshot(key, len, seed);
}

/* hash(): the signed or the unsigned 32-bit value, both as an i64 */
WI_EXPORT(hash32) int64_t hash32(const uint8_t *key, size_t len, uint32_t seed,
                                 uint32_t is_signed) {
    uint32_t h = x86_32(key, len, seed);
    return is_signed ? (int64_t)(int32_t)h : (int64_t)h;
}

WI_EXPORT(hash128) digest128 *hash128(const uint8_t *key, size_t len, uint32_t seed,
                                      uint32_t x64arch) {
    return oneshot(arch(x64arch), key, len, seed);
}

WI_EXPORT(hash_bytes) wi_bytes *hash_bytes(const uint8_t *key, size_t len, uint32_t seed,
                                           uint32_t x64arch) {
    return as_bytes(hash128(key, len, seed, x64arch), X64_128);
}

WI_EXPORT(x86_128) digest128 *x86_128(const uint8_t *key, size_t len, uint32_t seed) {
    return oneshot(X86_128, key, len, seed);
}

WI_EXPORT(x64_128) digest128 *x64_128(const uint8_t *key, size_t len, uint32_t seed) {
    return oneshot(X64_128, key, len, seed);
}

WI_EXPORT(x86_32_bytes) wi_bytes *x86_32_bytes(const uint8_t *key, size_t len, uint32_t seed) {
    result_area.low = x86_32_oneshot(key, len, seed);
    result_area.high = 0;
    return as_bytes(&result_area, X86_32);
}

WI_EXPORT(x86_128_bytes) wi_bytes *x86_128_bytes(const uint8_t *key, size_t len,
                                                 uint32_t seed) {
    return as_bytes(oneshot(X86_128, key, len, seed), X86_128);
}

WI_EXPORT(x64_128_bytes) wi_bytes *x64_128_bytes(const uint8_t *key, size_t len,
                                                 uint32_t seed) {
    return as_bytes(oneshot(X64_128, key, len, seed), X64_128);
}

/* ---- streaming hashers: manifest resources, the handle is the state's pointer --------- */

/* The constructors: option<bytes> data (present, ptr, len), then the seed. */
static state *hasher_new(uint32_t kind, uint32_t present, const uint8_t *data, size_t len,
                         uint32_t seed) {
    state *s = wi_xmalloc(sizeof *s);
    init(s, kind, seed);
    if (present)
        update(s, data, len);
    return s;
}

WI_EXPORT(hasher_x86_32_new) state *hasher_x86_32_new(uint32_t present, const uint8_t *data,
                                                      size_t len, uint32_t seed) {
    return hasher_new(X86_32, present, data, len, seed);
}

WI_EXPORT(hasher_x86_128_new) state *hasher_x86_128_new(uint32_t present, const uint8_t *data,
                                                        size_t len, uint32_t seed) {
    return hasher_new(X86_128, present, data, len, seed);
}

WI_EXPORT(hasher_x64_128_new) state *hasher_x64_128_new(uint32_t present, const uint8_t *data,
                                                        size_t len, uint32_t seed) {
    return hasher_new(X64_128, present, data, len, seed);
}

WI_EXPORT(hasher_update) void hasher_update(state *s, const uint8_t *data, size_t len) {
    update(s, data, len);
}

WI_EXPORT(hasher_digest) digest128 *hasher_digest(const state *s) {
    finish(s, &result_area.low);
    return &result_area;
}

WI_EXPORT(hasher_digest32) uint32_t hasher_digest32(const state *s) {
    return (uint32_t)hasher_digest(s)->low;
}

WI_EXPORT(hasher_digest_bytes) wi_bytes *hasher_digest_bytes(const state *s) {
    return as_bytes(hasher_digest(s), s->kind);
}

WI_EXPORT(hasher_copy) state *hasher_copy(const state *s) {
    return wi_memdup(s, sizeof *s);
}

WI_EXPORT(hasher_free) void hasher_free(state *s) { wi_free(s); }

WI_EXPORT_FREE()
