/*
 * textkit.c -- UTF-8 string helpers, the C side of the textkit sample package.
 *
 * Every function takes its str argument(s) as (const char *ptr, size_t len): UTF-8, not
 * NUL-terminated, len in bytes.  The argument buffers belong to us (wasmimport.h's rule):
 *   - upper/lower/swapcase change the argument in place and hand that same buffer back
 *     as the result, so no copy is made; their cabi_post_<name> frees it.
 *   - slugify/reverse build a new malloc'ed result (freed in cabi_post_<name>) and free
 *     the argument.
 *   - the functions with scalar results free their arguments before returning.
 * Case mapping is ASCII-only: bytes >= 0x80 (all bytes of multi-byte UTF-8 sequences) are
 * never touched, so the output stays valid UTF-8 and the other code points are unchanged.
 *
 * Build: see ../Makefile (wasi-libc, reactor; the module imports nothing).
 * Manifest: ../src/textkit/_textkit.wasm.toml
 */
#include "wasmimport.h"

/* ---- ASCII classification (locale-free, unlike <ctype.h>) ----------------------------- */

static inline bool is_upper(unsigned char c) { return c >= 'A' && c <= 'Z'; }
static inline bool is_lower(unsigned char c) { return c >= 'a' && c <= 'z'; }
static inline bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
static inline bool is_alnum(unsigned char c) { return is_upper(c) || is_lower(c) || is_digit(c); }
static inline unsigned char to_lower(unsigned char c) { return is_upper(c) ? c + 32u : c; }
static inline unsigned char to_upper(unsigned char c) { return is_lower(c) ? c - 32u : c; }

/* The whitespace of bytes.split() and C's isspace: space \t \n \v \f \r. */
static inline bool is_space(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

/* A UTF-8 continuation byte (10xxxxxx); every other byte starts a code point. */
static inline bool is_cont(unsigned char c) { return (c & 0xC0u) == 0x80u; }

static size_t code_points(const unsigned char *s, size_t len) {
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += !is_cont(s[i]);
    return n;
}

/* ---- case mapping, in place ------------------------------------------------------------ */

/* The argument buffer is ours and the result has the same length, so map it in place and
 * return it as the result.  A zero-length argument may be the host's dummy pointer: it is
 * never written to, and the post-return's wi_free ignores it. */
#define CASE_MAP(name, MAP)                                                                \
    WI_EXPORT(name) wi_str *name(const char *s, size_t len);                               \
    wi_str *name(const char *s, size_t len) {                                              \
        unsigned char *p = (unsigned char *)(uintptr_t)s;                                  \
        for (size_t i = 0; i < len; i++)                                                   \
            p[i] = MAP(p[i]);                                                              \
        return wi_return_str(s, len);                                                      \
    }                                                                                      \
    WI_POST_FREE(name)

static inline unsigned char swap_case(unsigned char c) {
    return is_upper(c) ? to_lower(c) : to_upper(c);
}

CASE_MAP(upper, to_upper)
CASE_MAP(lower, to_lower)
CASE_MAP(swapcase, swap_case)

/* ---- counting ----------------------------------------------------------------------- */

WI_EXPORT(char_count) uint32_t char_count(const char *s, size_t len) {
    size_t n = code_points((const unsigned char *)s, len);
    wi_free_str(s, len);
    return (uint32_t)n;
}

WI_EXPORT(word_count) uint32_t word_count(const char *s, size_t len) {
    const unsigned char *p = (const unsigned char *)s;
    uint32_t words = 0;
    bool in_word = false;
    for (size_t i = 0; i < len; i++) {
        bool space = is_space(p[i]);
        words += !space && !in_word;
        in_word = !space;
    }
    wi_free_str(s, len);
    return words;
}

/* Non-overlapping occurrences of needle in haystack, like Python's str.count.  Matching
 * bytes is matching code points: UTF-8 is self-synchronising, so a byte match of a valid
 * needle always starts and ends on code point boundaries.  Knuth-Morris-Pratt keeps the
 * search linear in the worst case (e.g. "aaa...a" in "aaa...ab"). */
static uint32_t count_kmp(const unsigned char *h, size_t hlen, const unsigned char *n,
                          size_t nlen) {
    if (nlen == 1) { /* common case: no table needed */
        uint32_t c = 0;
        for (size_t i = 0; i < hlen; i++)
            c += h[i] == n[0];
        return c;
    }
    /* fail[i] = length of the longest proper border of n[0..i]. */
    size_t *fail = wi_xmalloc(nlen * sizeof *fail);
    fail[0] = 0;
    for (size_t i = 1, k = 0; i < nlen; i++) {
        while (k > 0 && n[i] != n[k])
            k = fail[k - 1];
        if (n[i] == n[k])
            k++;
        fail[i] = k;
    }
    uint32_t found = 0;
    for (size_t i = 0, k = 0; i < hlen; i++) {
        while (k > 0 && h[i] != n[k])
            k = fail[k - 1];
        if (h[i] == n[k])
            k++;
        if (k == nlen) {
            found++;
            k = 0; /* non-overlapping: restart after the match */
        }
    }
    wi_free(fail);
    return found;
}

WI_EXPORT(count) uint32_t count(const char *haystack, size_t hlen, const char *needle,
                                size_t nlen) {
    const unsigned char *h = (const unsigned char *)haystack;
    const unsigned char *n = (const unsigned char *)needle;
    uint32_t found;
    if (nlen == 0)
        found = (uint32_t)(code_points(h, hlen) + 1); /* "abc".count("") == 4 */
    else if (nlen > hlen)
        found = 0;
    else
        found = count_kmp(h, hlen, n, nlen);
    wi_free_str(haystack, hlen);
    wi_free_str(needle, nlen);
    return found;
}

/* ---- new strings ---------------------------------------------------------------------- */

/* Lower-case ASCII letters and digits are kept (upper case is lowered); every run of
 * other ASCII characters becomes one '-', with none at either end; non-ASCII code points
 * are dropped without separating anything ("naïve" -> "nave"). */
WI_EXPORT(slugify) wi_str *slugify(const char *s, size_t len) {
    const unsigned char *p = (const unsigned char *)s;
    char *out = wi_xmalloc(len); /* the slug is never longer than the input */
    size_t n = 0;
    bool pending_dash = false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = p[i];
        if (c >= 0x80u)
            continue; /* part of a non-ASCII code point */
        if (is_alnum(c)) {
            if (pending_dash && n > 0)
                out[n++] = '-';
            pending_dash = false;
            out[n++] = (char)to_lower(c);
        } else {
            pending_dash = true;
        }
    }
    wi_free_str(s, len);
    return wi_return_str(out, n);
}
WI_POST_FREE(slugify)

/* The code points in reverse order: copy each code point's bytes (a start byte and its
 * continuation bytes) unchanged, walking from the end. */
WI_EXPORT(reverse) wi_str *reverse(const char *s, size_t len) {
    const unsigned char *p = (const unsigned char *)s;
    unsigned char *out = wi_xmalloc(len);
    size_t o = 0, end = len;
    while (end > 0) {
        size_t start = end - 1;
        while (start > 0 && is_cont(p[start]))
            start--;
        for (size_t i = start; i < end; i++)
            out[o++] = p[i];
        end = start;
    }
    wi_free_str(s, len);
    return wi_return_str((const char *)out, len);
}
WI_POST_FREE(reverse)

/* ---- predicates ----------------------------------------------------------------------- */

/* Only ASCII letters and digits count, compared case-insensitively; "" is a palindrome. */
WI_EXPORT(is_palindrome) bool is_palindrome(const char *s, size_t len) {
    const unsigned char *p = (const unsigned char *)s;
    bool result = true;
    size_t i = 0, j = len;
    for (;;) {
        while (i < j && !is_alnum(p[i]))
            i++;
        while (j > i && !is_alnum(p[j - 1]))
            j--;
        if (j - i < 2)
            break;
        if (to_lower(p[i]) != to_lower(p[j - 1])) {
            result = false;
            break;
        }
        i++;
        j--;
    }
    wi_free_str(s, len);
    return result;
}
