/*
 * numkit.c -- checksums, statistics and integer math, the C side of the numkit sample.
 *
 * Buffers follow wasmimport.h's rule: every argument buffer (bytes, list[T]) belongs to
 * us and is freed here; results that are buffers are malloc'ed (or, for scale and
 * bytes_xor, the argument rewritten in place and handed back) and freed by
 * cabi_post_<name> once the host has copied them.
 *
 * Traps (wasmimport.Trap in Python, all explicit __builtin_trap()): powmod with
 * mod == 0, div by zero and div(INT32_MIN, -1).  sum_i64 and fib wrap modulo 2^64, as
 * documented in the manifest.
 *
 * Build: see ../Makefile (wasi-libc, reactor; the module imports nothing: no stdio, no
 * clock).
 * Manifest: ../src/numkit/_numkit.wasm.toml
 */
#include <math.h>

#include "wasmimport.h"

/* ---- checksums ------------------------------------------------------------------------ */

/* CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), the one zlib.crc32 computes,
 * "slicing by 8": table k maps a byte to its CRC contribution 8*k bits further on, so the
 * main loop folds 8 input bytes per step.  The tables are built on first use. */
static uint32_t crc_table[8][256];
static bool crc_ready;

static void crc_init(void) {
    for (uint32_t b = 0; b < 256; b++) {
        uint32_t c = b;
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
        crc_table[0][b] = c;
    }
    for (uint32_t b = 0; b < 256; b++)
        for (int t = 1; t < 8; t++)
            crc_table[t][b] =
                (crc_table[t - 1][b] >> 8) ^ crc_table[0][crc_table[t - 1][b] & 0xFFu];
    crc_ready = true;
}

static inline uint32_t load_le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* crc32(data, seed) == zlib.crc32(data, seed): seed is a previous result to continue. */
WI_EXPORT(crc32) uint32_t crc32(const uint8_t *data, size_t len, uint32_t seed) {
    if (!crc_ready)
        crc_init();
    uint32_t c = ~seed;
    const uint8_t *p = data;
    size_t n = len;
    for (; n >= 8; n -= 8, p += 8) {
        uint32_t lo = load_le32(p) ^ c, hi = load_le32(p + 4);
        c = crc_table[7][lo & 0xFFu] ^ crc_table[6][(lo >> 8) & 0xFFu] ^
            crc_table[5][(lo >> 16) & 0xFFu] ^ crc_table[4][lo >> 24] ^
            crc_table[3][hi & 0xFFu] ^ crc_table[2][(hi >> 8) & 0xFFu] ^
            crc_table[1][(hi >> 16) & 0xFFu] ^ crc_table[0][hi >> 24];
    }
    for (; n > 0; n--, p++)
        c = (c >> 8) ^ crc_table[0][(c ^ *p) & 0xFFu];
    wi_free_bytes(data, len);
    return ~c;
}

/* adler32(data, seed) == zlib.adler32(data, seed).  The modulo is taken every 5552 bytes,
 * the most that cannot overflow 32 bits (zlib's NMAX).  A seed whose halves are not
 * reduced (>= 65521) is an edge case where zlib's one-byte fast path subtracts the
 * modulus once instead of reducing fully; it is reproduced so results stay identical. */
WI_EXPORT(adler32) uint32_t adler32(const uint8_t *data, size_t len, uint32_t seed) {
    const uint32_t MOD = 65521u;
    uint32_t a = seed & 0xFFFFu, b = seed >> 16;
    if (len == 1) {
        a += data[0];
        if (a >= MOD)
            a -= MOD;
        b += a;
        if (b >= MOD)
            b -= MOD;
    } else {
        const uint8_t *p = data;
        size_t n = len;
        while (n > 0) {
            size_t chunk = n < 5552u ? n : 5552u;
            n -= chunk;
            for (; chunk > 0; chunk--) {
                a += *p++;
                b += a;
            }
            a %= MOD;
            b %= MOD;
        }
        a %= MOD; /* for len == 0 */
        b %= MOD;
    }
    wi_free_bytes(data, len);
    return b << 16 | a;
}

/* 64-bit FNV-1a. */
WI_EXPORT(fnv1a64) uint64_t fnv1a64(const uint8_t *data, size_t len) {
    uint64_t h = UINT64_C(0xCBF29CE484222325);
    for (size_t i = 0; i < len; i++)
        h = (h ^ data[i]) * UINT64_C(0x100000001B3);
    wi_free_bytes(data, len);
    return h;
}

/* ---- statistics ----------------------------------------------------------------------- */

/* Neumaier's compensated sum: c collects the low-order bits each addition rounds away.
 * If the plain sum is not finite (an inf or nan in the data, or overflow), that is the
 * answer, as the compensation would only turn it into nan. */
static double neumaier(const double *xs, size_t n, double scale) {
    double s = 0.0, c = 0.0;
    for (size_t i = 0; i < n; i++) {
        double x = xs[i] * scale;
        double t = s + x;
        if (fabs(s) >= fabs(x))
            c += (s - t) + x;
        else
            c += (x - t) + s;
        s = t;
    }
    return isfinite(s) ? s + c : s;
}

WI_EXPORT(total) double total(const double *xs, size_t n) {
    double s = neumaier(xs, n, 1.0);
    wi_free_list(xs, n);
    return s;
}

/* The compensated sum divided by n; if the sum overflows although the data is finite,
 * sum the values pre-divided by n instead.  NaN for an empty list. */
WI_EXPORT(mean) double mean(const double *xs, size_t n) {
    double m = (double)NAN;
    if (n > 0) {
        m = neumaier(xs, n, 1.0) / (double)n;
        if (isinf(m)) {
            double scaled = neumaier(xs, n, 1.0 / (double)n);
            if (isfinite(scaled))
                m = scaled;
        }
    }
    wi_free_list(xs, n);
    return m;
}

/* Welford's one-pass update: mean_k = mean_{k-1} + d / k and m2 += d * (x - mean_k), with
 * d = x - mean_{k-1}.  It runs on the values (times `scale`) minus the first one: the
 * variance does not change under a shift, and data far from 0 (1e9 + noise) would
 * otherwise lose the digits of the noise to the rounding of the running mean. */
static double welford_m2(const double *xs, size_t n, double scale) {
    double shift = xs[0] * scale, mu = 0.0, m2 = 0.0;
    for (size_t i = 0; i < n; i++) {
        double x = xs[i] * scale - shift;
        double d = x - mu;
        mu += d / (double)(i + 1);
        m2 += d * (x - mu);
    }
    return m2;
}

/* Population variance (statistics.pvariance) by Welford's algorithm; nan for an empty
 * list, 0.0 for one value.  If finite data overflows the intermediate squares (values
 * near 1e154 and beyond), recompute on the data scaled into [-1, 1] and scale back: the
 * result is then right, or inf when the variance itself exceeds the double range. */
WI_EXPORT(variance) double variance(const double *xs, size_t n) {
    double var = (double)NAN;
    if (n > 0) {
        var = welford_m2(xs, n, 1.0) / (double)n;
        if (!isfinite(var)) {
            double big = 0.0;
            for (size_t i = 0; i < n; i++)
                big = fmax(big, fabs(xs[i])); /* fmax ignores nan */
            bool finite = isfinite(big);
            for (size_t i = 0; i < n && finite; i++)
                finite = !isnan(xs[i]);
            if (finite)
                var = welford_m2(xs, n, 1.0 / big) / (double)n * big * big;
        }
    }
    wi_free_list(xs, n);
    return var;
}

/* Running sums, plain left-to-right additions: the same values as itertools.accumulate
 * and numpy.cumsum.  The argument is rewritten in place and returned. */
WI_EXPORT(cumsum) wi_list_f64 *cumsum(const double *xs, size_t n) {
    double *out = (double *)(uintptr_t)xs;
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        out[i] = s += out[i];
    return wi_return_list_f64(out, n);
}
WI_POST_FREE(cumsum)

/* Sum modulo 2^64 (two's complement wrap-around, no overflow error). */
WI_EXPORT(sum_i64) int64_t sum_i64(const int64_t *xs, size_t n) {
    uint64_t s = 0;
    for (size_t i = 0; i < n; i++)
        s += (uint64_t)xs[i];
    wi_free_list(xs, n);
    return (int64_t)s; /* implementation-defined, two's complement in clang */
}

/* Index of the first largest value; NaNs are skipped; -1 if the list is empty or all
 * NaN. */
WI_EXPORT(argmax) int32_t argmax(const double *xs, size_t n) {
    int32_t best = -1;
    for (size_t i = 0; i < n; i++)
        if (!isnan(xs[i]) && (best < 0 || xs[i] > xs[best]))
            best = (int32_t)i;
    wi_free_list(xs, n);
    return best;
}

/* Each value times k, in place. */
WI_EXPORT(scale) wi_list_f64 *scale(const double *xs, size_t n, double k) {
    double *out = (double *)(uintptr_t)xs;
    for (size_t i = 0; i < n; i++)
        out[i] *= k;
    return wi_return_list_f64(out, n);
}
WI_POST_FREE(scale)

/* Each byte XOR key, in place. */
WI_EXPORT(bytes_xor) wi_bytes *bytes_xor(const uint8_t *data, size_t len, uint8_t key) {
    uint8_t *out = (uint8_t *)(uintptr_t)data;
    for (size_t i = 0; i < len; i++)
        out[i] ^= key;
    return wi_return_bytes(out, len);
}
WI_POST_FREE(bytes_xor)

/* 256 counts: how often each byte value occurs. */
WI_EXPORT(histogram) wi_list_u32 *histogram(const uint8_t *data, size_t len) {
    uint32_t *counts = wi_xmalloc(256 * sizeof *counts);
    memset(counts, 0, 256 * sizeof *counts);
    for (size_t i = 0; i < len; i++)
        counts[data[i]]++;
    wi_free_bytes(data, len);
    return wi_return_list_u32(counts, 256);
}
WI_POST_FREE(histogram)

/* ---- integer math --------------------------------------------------------------------- */

WI_EXPORT(gcd) uint64_t gcd(uint64_t a, uint64_t b) {
    while (b != 0) {
        uint64_t r = a % b;
        a = b;
        b = r;
    }
    return a;
}

/* floor(sqrt(n)) exactly (math.isqrt): the double estimate is off by at most one or two
 * for 64-bit n, so correct it with exact integer arithmetic.  r stays below 2^32, so r*r
 * cannot overflow. */
WI_EXPORT(isqrt) uint64_t isqrt(uint64_t n) {
    double est = __builtin_sqrt((double)n);
    uint64_t r = est >= 4294967295.0 ? UINT64_C(4294967295) : (uint64_t)est;
    while (r * r > n)
        r--;
    while (r < UINT64_C(4294967295) && (r + 1) * (r + 1) <= n)
        r++;
    return r;
}

/* a * b mod m for a, b < m, without unsigned __int128: clang would call compiler-rt for
 * the 128-bit remainder, and Debian's wasm32 compiler-rt needs stack-protector symbols
 * that wasi-libc does not define.  So: the 128-bit product from 32-bit halves, then its
 * remainder by long division in base 2^32 (Knuth's algorithm D for a 2-digit divisor, as
 * in Hacker's Delight "divlu"), which needs no more than 64-bit operations. */
static inline void mul_64x64(uint64_t a, uint64_t b, uint64_t *hi, uint64_t *lo) {
    uint64_t a0 = (uint32_t)a, a1 = a >> 32, b0 = (uint32_t)b, b1 = b >> 32;
    uint64_t p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
    uint64_t mid = (p00 >> 32) + (uint32_t)p01 + (uint32_t)p10; /* < 3 * 2^32 */
    *lo = mid << 32 | (uint32_t)p00;
    *hi = p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
}

/* (u1 * 2^64 + u0) mod v, for u1 < v (so the quotient fits in 64 bits). */
static uint64_t rem_128_64(uint64_t u1, uint64_t u0, uint64_t v) {
    const uint64_t B = UINT64_C(1) << 32;
    unsigned s = (unsigned)__builtin_clzll(v); /* normalise: top bit of v set */
    v <<= s;
    uint64_t vn1 = v >> 32, vn0 = (uint32_t)v;
    uint64_t un32 = s ? u1 << s | u0 >> (64u - s) : u1;
    uint64_t un10 = u0 << s;
    uint64_t un1 = un10 >> 32, un0 = (uint32_t)un10;
    /* First quotient digit: estimate, then correct (at most twice). */
    uint64_t q1 = un32 / vn1, rhat = un32 - q1 * vn1;
    while (q1 >= B || q1 * vn0 > B * rhat + un1) {
        q1--;
        rhat += vn1;
        if (rhat >= B)
            break;
    }
    uint64_t un21 = un32 * B + un1 - q1 * v; /* wraps to the true partial remainder */
    uint64_t q0 = un21 / vn1;
    rhat = un21 - q0 * vn1;
    while (q0 >= B || q0 * vn0 > B * rhat + un0) {
        q0--;
        rhat += vn1;
        if (rhat >= B)
            break;
    }
    return (un21 * B + un0 - q0 * v) >> s;
}

static inline uint64_t mulmod(uint64_t a, uint64_t b, uint64_t m) {
    uint64_t hi, lo;
    mul_64x64(a, b, &hi, &lo);
    return rem_128_64(hi, lo, m); /* hi < m because a, b < m */
}

static uint64_t powmod_u64(uint64_t base, uint64_t exp, uint64_t mod) {
    uint64_t result = 1 % mod;
    base %= mod;
    while (exp > 0) {
        if (exp & 1u)
            result = mulmod(result, base, mod);
        base = mulmod(base, base, mod);
        exp >>= 1;
    }
    return result;
}

/* pow(base, exp, mod) for all u64 operands (exact 128-bit products); mod == 0 traps. */
WI_EXPORT(powmod) uint64_t powmod(uint64_t base, uint64_t exp, uint64_t mod) {
    if (mod == 0)
        __builtin_trap();
    return powmod_u64(base, exp, mod);
}

/* Deterministic Miller-Rabin: the first 12 primes as bases decide every n < 3.3 * 10^24,
 * so every u64. */
WI_EXPORT(is_prime) bool is_prime(uint64_t n) {
    static const uint64_t bases[] = {2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37};
    if (n < 2)
        return false;
    for (size_t i = 0; i < sizeof bases / sizeof bases[0]; i++) {
        if (n % bases[i] == 0)
            return n == bases[i];
    }
    /* n - 1 = d * 2^s with d odd */
    uint64_t d = n - 1;
    unsigned s = 0;
    while ((d & 1u) == 0) {
        d >>= 1;
        s++;
    }
    for (size_t i = 0; i < sizeof bases / sizeof bases[0]; i++) {
        uint64_t x = powmod_u64(bases[i], d, n);
        if (x == 1 || x == n - 1)
            continue;
        bool witness = true;
        for (unsigned r = 1; r < s && witness; r++) {
            x = mulmod(x, x, n);
            witness = x != n - 1;
        }
        if (witness)
            return false;
    }
    return true;
}

/* Fibonacci number F(n) modulo 2^64 (exact up to n = 93), by fast doubling:
 * F(2k) = F(k) * (2F(k+1) - F(k)),  F(2k+1) = F(k)^2 + F(k+1)^2. */
WI_EXPORT(fib) uint64_t fib(uint32_t n) {
    uint64_t a = 0, b = 1; /* F(k), F(k+1) for k = the bits of n read so far */
    for (int bit = 31; bit >= 0; bit--) {
        uint64_t c = a * (2 * b - a);
        uint64_t d = a * a + b * b;
        if ((n >> bit) & 1u) {
            a = d;
            b = c + d;
        } else {
            a = c;
            b = d;
        }
    }
    return a;
}

/* C division: truncates toward zero (div(-7, 2) == -3, where Python's -7 // 2 == -4).
 * Division by zero and INT32_MIN / -1 are undefined behaviour in C, so they trap
 * explicitly (wasmimport.Trap, kind "unreachable", in function div_i32). */
WI_EXPORT(div) int32_t div_i32(int32_t a, int32_t b) { /* C name: <stdlib.h> has div() */
    if (b == 0 || (a == INT32_MIN && b == -1))
        __builtin_trap();
    return a / b;
}

/* summary(xs) -> Summary | None: one pass over xs, ignoring nan.  The result is an option
 * of a record, laid out as the Canonical ABI says (docs/types.md): the discriminant byte,
 * then the record at its alignment (8); the C compiler pads these structs the same way. */
typedef struct {
    uint32_t count;
    double mean, min, max;
} summary_record;

static struct {
    uint8_t is_some;
    summary_record value;
} summary_area;

WI_EXPORT(summary) void *summary(const double *xs, size_t n) {
    summary_record s = {0, 0.0, (double)INFINITY, -(double)INFINITY};
    double total = 0.0;
    for (size_t i = 0; i < n; i++) {
        double x = xs[i];
        if (isnan(x))
            continue;
        s.count++;
        total += x;
        s.min = x < s.min ? x : s.min;
        s.max = x > s.max ? x : s.max;
    }
    wi_free_list(xs, n);
    summary_area.is_some = s.count > 0;
    s.mean = s.count ? total / (double)s.count : 0.0;
    summary_area.value = s;
    return &summary_area;
}
