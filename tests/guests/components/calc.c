/* The calc component (calc.wit): hand-written to the Canonical ABI, no bindings generator.
 *
 * Lifted exports take their parameters flattened (a string or list: pointer, length; a
 * record or tuple: its fields; a variant: discriminant then the join of its cases), up to
 * MAX_FLAT_PARAMS = 16 core values, else one pointer to them in memory.  A result that
 * flattens to more than MAX_FLAT_RESULTS = 1 value is returned as a pointer to a return area
 * laid out as in memory; cabi_post_<export> frees what the result owns once the host has
 * copied it.  Argument buffers (allocated by the host with cabi_realloc) belong to us.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define EXPORT(name) __attribute__((export_name(name)))

EXPORT("cabi_realloc")
void *cabi_realloc(void *old, size_t old_size, size_t align, size_t new_size) {
    (void)old_size;
    (void)align;                            /* malloc aligns to 16 */
    if (new_size == 0) {
        free(old);
        return (void *)align;               /* any aligned pointer will do for no bytes */
    }
    void *p = realloc(old, new_size);
    if (!p) __builtin_trap();
    return p;
}

static void free_buf(void *p, size_t len) {
    if (len) free(p);                       /* empty buffers may not be ours to free */
}

/* one return area for every export: its results are read before the next call */
static _Alignas(8) uint8_t ret[32];
#define RET(type, offset) (*(type *)(ret + (offset)))

static void *dup(const void *p, size_t n) {
    void *q = malloc(n ? n : 1);
    if (!q) __builtin_trap();
    memcpy(q, p, n);
    return q;
}

EXPORT("add") int32_t add(int32_t a, int32_t b) {
    return (int32_t)((uint32_t)a + (uint32_t)b);
}

/* string -> string: (ptr, len) in, pointer to (ptr, len) out */
EXPORT("upper") uint8_t *upper(char *s, size_t n) {
    char *out = malloc(n ? n : 1);
    if (!out) __builtin_trap();
    for (size_t i = 0; i < n; i++) out[i] = (s[i] >= 'a' && s[i] <= 'z') ? s[i] - 32 : s[i];
    free_buf(s, n);
    RET(char *, 0) = out;
    RET(size_t, 4) = n;
    return ret;
}
EXPORT("cabi_post_upper") void post_upper(uint8_t *area) { free(*(void **)area); }

/* list<u8> -> list<u8>: the argument buffer is ours, so it goes back as it is */
EXPORT("echo-bytes") uint8_t *echo_bytes(uint8_t *b, size_t n) {
    RET(uint8_t *, 0) = b;
    RET(size_t, 4) = n;
    return ret;
}
EXPORT("cabi_post_echo-bytes") void post_echo_bytes(uint8_t *area) {
    free_buf(*(void **)area, *(size_t *)(area + 4));
}

EXPORT("sum-list") double sum_list(double *xs, size_t n) {
    double sum = 0;
    for (size_t i = 0; i < n; i++) sum += xs[i];
    free_buf(xs, n * sizeof *xs);
    return sum;
}

/* result<s64, string>: discriminant (u8) at 0, payload at 8 (the s64's alignment) */
static uint8_t *err_string(const char *message) {
    size_t n = strlen(message);
    RET(uint8_t, 0) = 1;
    RET(char *, 8) = dup(message, n);
    RET(size_t, 12) = n;
    return ret;
}

EXPORT("parse-int") uint8_t *parse_int(char *s, size_t n) {
    size_t i = 0;
    bool negative = false;
    uint64_t value = 0;
    uint8_t *out;
    if (n && (s[0] == '-' || s[0] == '+')) negative = s[i++] == '-';
    if (i == n) {
        out = err_string("no digits");
        goto done;
    }
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            out = err_string("not a digit");
            goto done;
        }
        value = value * 10 + (uint64_t)(s[i] - '0');
        if (value > (uint64_t)INT64_MAX + negative) {
            out = err_string("out of range");
            goto done;
        }
    }
    RET(uint8_t, 0) = 0;
    RET(int64_t, 8) = negative ? (int64_t)(0 - value) : (int64_t)value;
    out = ret;
done:
    free_buf(s, n);
    return out;
}
EXPORT("cabi_post_parse-int") void post_parse_int(uint8_t *area) {
    if (area[0] == 1) free(*(void **)(area + 8));
}

/* option<u32>: flattens to (i32, i32), more than one result, so a return area:
 * discriminant (u8) at 0, the u32 at 4 */
EXPORT("find") uint8_t *find(char *key, size_t n) {
    static const char *const names[] = {"one", "two", "three"};
    RET(uint8_t, 0) = 0;
    RET(uint32_t, 4) = 0;
    for (uint32_t k = 0; k < 3; k++)
        if (strlen(names[k]) == n && memcmp(names[k], key, n) == 0) {
            RET(uint8_t, 0) = 1;
            RET(uint32_t, 4) = k + 1;
        }
    free_buf(key, n);
    return ret;
}

/* tuple<u8, string> in as (u8, ptr, len); tuple<string, u8> out: ptr at 0, len at 4, u8 at 8 */
EXPORT("swap") uint8_t *swap(uint8_t a, char *s, size_t n) {
    RET(char *, 0) = s;
    RET(size_t, 4) = n;
    RET(uint8_t, 8) = a;
    return ret;
}
EXPORT("cabi_post_swap") void post_swap(uint8_t *area) {
    free_buf(*(void **)area, *(size_t *)(area + 4));
}

/* s8..u32 arrive as i32 (the narrow ones already sign- or zero-extended), s64 and u64 as
 * i64 */
EXPORT("widen") int64_t widen(int8_t a, uint8_t b, int16_t c, uint16_t d, int32_t e, uint32_t f,
                              int64_t g, uint64_t h) {
    return (int64_t)((uint64_t)a + b + (uint64_t)c + d + (uint64_t)e + f + (uint64_t)g + h);
}

/* tuple<s8, u8, s16, u16, s32, u32, s64, u64> in memory: 0, 1, 2, 4, 8, 12, 16, 24 */
EXPORT("narrow") uint8_t *narrow(int64_t x) {
    RET(int8_t, 0) = (int8_t)x;
    RET(uint8_t, 1) = (uint8_t)x;
    RET(int16_t, 2) = (int16_t)x;
    RET(uint16_t, 4) = (uint16_t)x;
    RET(int32_t, 8) = (int32_t)x;
    RET(uint32_t, 12) = (uint32_t)x;
    RET(int64_t, 16) = x;
    RET(uint64_t, 24) = (uint64_t)x;
    return ret;
}

/* 17 flat parameters > MAX_FLAT_PARAMS: one pointer to them, laid out as a tuple, in a
 * buffer the host allocated with cabi_realloc */
EXPORT("sum-many") int64_t sum_many(int32_t *params) {
    int64_t sum = 0;
    for (int i = 0; i < 17; i++) sum += params[i];
    free(params);
    return sum;
}

EXPORT("id-f32") float id_f32(float x) { return x; }
EXPORT("id-f64") double id_f64(double x) { return x; }
EXPORT("not") bool not_(bool b) { return !b; }

EXPORT("next-char") uint32_t next_char(uint32_t c) {
    if (c == 0xD7FF) return 0xE000;
    return c >= 0x10FFFF ? 0 : c + 1;
}

/* record point { x: s32, y: s32 }: (x, y) in, x at 0 and y at 4 out */
EXPORT("mirror") uint8_t *mirror(int32_t x, int32_t y) {
    RET(int32_t, 0) = y;
    RET(int32_t, 4) = x;
    return ret;
}

/* variant shape { circle(f64), rect(point), none } flattens to (i32 discriminant, then the
 * join of [f64] and [i32, i32]: i64 (an f64 reinterpreted, or an i32 zero-extended), i32) */
EXPORT("area") double area(uint32_t kind, int64_t first, int32_t second) {
    switch (kind) {
    case 0: {
        double r;
        memcpy(&r, &first, sizeof r);
        return 3.141592653589793 * r * r;
    }
    case 1: return (double)(int32_t)first * (double)second;
    default: return 0;
    }
}

/* shape in memory: discriminant (u8) at 0, payload at 8 (the f64's alignment) */
EXPORT("make-shape") uint8_t *make_shape(uint8_t kind) {
    memset(ret, 0, 16);
    if (kind == 0) {
        RET(uint8_t, 0) = 0;
        RET(double, 8) = 1.5;
    } else if (kind == 1) {
        RET(uint8_t, 0) = 1;
        RET(int32_t, 8) = 3;
        RET(int32_t, 12) = 4;
    } else {
        RET(uint8_t, 0) = 2;
    }
    return ret;
}

/* enum color: its index; flags perm: bit 0 read, bit 1 write, bit 2 exec */
enum { READ = 1, WRITE = 2, EXEC = 4 };
EXPORT("paint") uint32_t paint(uint32_t color) {
    static const uint32_t perms[] = {READ, READ | WRITE, READ | EXEC};
    return color < 3 ? perms[color] : 0;
}
EXPORT("toggle") uint32_t toggle(uint32_t perm) { return perm ^ (READ | WRITE | EXEC); }

/* the exported interface: "<package>/<interface>@<version>#<function>" */
EXPORT("demo:calc/shapes@0.1.0#norm") int64_t norm(int32_t x, int32_t y) {
    return (int64_t)x * x + (int64_t)y * y;
}
EXPORT("demo:calc/shapes@0.1.0#length2")
int64_t length2(int32_t x0, int32_t y0, int32_t x1, int32_t y1) {
    int64_t dx = (int64_t)x1 - x0, dy = (int64_t)y1 - y0;
    return dx * dx + dy * dy;
}
