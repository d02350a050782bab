/*
 * rich.c -- the tier-2 type guest for wasmimport's test-suite: records, tuples, options,
 * results, enums, flags, lists of anything, cstr and buffer parameters.
 *
 * Built FREESTANDING (no libc), like edges.c:
 *     clang --target=wasm32 -nostdlib -O2 -mbulk-memory -Wl,--no-entry ... rich.c
 * Manifest: rich.wasm.toml (every export below is listed there, with its [types]).
 *
 * Everything is written by hand against the Canonical ABI layouts, not generated: each
 * manifest type has a C struct below whose layout is pinned with _Static_assert (on wasm32
 * the C layout of these structs *is* the Canonical ABI's: natural alignment, fields in
 * order).  Many functions return their values in a *different* shape than they take them
 * (fields reversed), so a host whose store and load agree with each other but not with
 * the ABI still fails: the guest reads and writes every field at its C offset.
 *
 * Ownership: argument buffers are freed in the call or handed back in the result;
 * cabi_post_<name> frees every result buffer (so loops do not leak), except where noted.
 *
 * What is here:
 *   records      point_swap, point_dot (flat f64 params), line_flip, line_mid (nested),
 *                mixed_rev / mixed_from / mixed_list_rev (Mixed{a u8, b u64, c u16, d str}:
 *                offsets 0, 8, 16, 20, size 32), bag_bump (a list field and an option field)
 *   tuples       tup_swap (tuple[u32, str] -> tuple[str, u32]), tup_pair,
 *                tup_nested (tuple[f32, tuple[u8, bool]])
 *   options      opt_u8, opt_u8_or, opt_str, opt_f32 (payload in an f32 slot), opt_point
 *                (all results through a return area), opt_bad (invalid discriminant)
 *   results      res_half (result[u32, str]: ok or error by argument), res_nonzero
 *                (result[None, str]), res_rev (result[str, None]), res_f32_u64, res_f64_u8,
 *                res_unit (result[None, None]: ONE flat i32, no return area), res_bad and
 *                res_unit_bad (invalid discriminants in memory and flat)
 *   enums        Color (3 cases, u8), E256 (256 cases, still u8), Big (300 cases, u16):
 *                color_next, color_name, color_bad, colors_rotate, colors_bad, big_next,
 *                big_bad, big_list, e256_list, enum_sizes
 *   flags        Perm (3, 1 byte), Oct (8, 1 byte), Nine (9, 2 bytes), Wide (32, 4 bytes):
 *                perm_flip, perm_unknown (sets unknown bits), nine_echo, nine_not,
 *                nine_unknown, wide_not, wide_list, flag_sizes
 *   lists        strs_rev, strs_join, points_scale, points_sum, lists_rev (list[list[u8]]),
 *                bools_not, bools_raw (bool bytes 0, 1, 2, 255), pairs_swap
 *                (list[tuple[u16, str]]), opts_double, opts_nones (list[u32 | None]),
 *                empty_strs
 *   cstr         c_len, c_upper, c_null, c_join, c_lens (list[cstr]), c_unterminated (a
 *                pointer with no NUL before the end of memory)
 *   buffer       fill, buf_xor, buf_swap: the caller's buffer, modified in place; the
 *                host copies it back after the call, so the guest frees it in cabi_post
 *   spilling     flat16 (params flatten to exactly 16 values: passed flat), flat17 (17:
 *                one pointer to them all in memory); both mix records, options and strs
 *   memory       mem_pages, and echo_mem (returns its i32 argument: the round-trip tests
 *                declare it with spilled parameters, so the result is read back from the
 *                parameter block; it has no cabi_post and frees nothing)
 */
#include "wasmimport.h"

/* ---- the layouts ---------------------------------------------------------------------- */

typedef struct { const char *ptr; uint32_t len; } str_t;      /* str, bytes */
typedef struct { double x, y; } Point;
typedef struct { Point a, b; } Line;
typedef struct { uint8_t a; uint64_t b; uint16_t c; str_t d; } Mixed;
typedef struct { str_t d; uint16_t c; uint64_t b; uint8_t a; } MixedRev; /* tuple[str, u16, u64, u8] */
typedef struct { uint8_t is_some; str_t val; } OptStr;
typedef struct { uint8_t is_some; uint8_t val; } OptU8;
typedef struct { uint8_t is_some; uint32_t val; } OptU32;
typedef struct { uint8_t is_some; float val; } OptF32;
typedef struct { uint8_t is_some; Point val; } OptPoint;
typedef struct { uint32_t *ptr; uint32_t len; } ListU32;
typedef struct { ListU32 items; OptStr tag; } Bag;
typedef struct { uint32_t n; str_t s; } U32Str;
typedef struct { str_t s; uint32_t n; } StrU32;
typedef struct { uint8_t b; uint8_t v; } BoolU8;
typedef struct { BoolU8 t; float f; } Nested;               /* tuple[tuple[bool, u8], f32] */
typedef struct { uint16_t n; str_t s; } U16Str;
typedef struct { str_t s; uint16_t n; } StrU16;
typedef struct { uint8_t *ptr; uint32_t len; } ListU8;

_Static_assert(sizeof(str_t) == 8 && _Alignof(str_t) == 4, "str");
_Static_assert(sizeof(Point) == 16 && _Alignof(Point) == 8, "Point");
_Static_assert(sizeof(Line) == 32 && offsetof(Line, b) == 16, "Line");
_Static_assert(offsetof(Mixed, b) == 8 && offsetof(Mixed, c) == 16 && offsetof(Mixed, d) == 20 &&
               sizeof(Mixed) == 32 && _Alignof(Mixed) == 8, "Mixed");
_Static_assert(offsetof(MixedRev, c) == 8 && offsetof(MixedRev, b) == 16 &&
               offsetof(MixedRev, a) == 24 && sizeof(MixedRev) == 32, "tuple[str, u16, u64, u8]");
_Static_assert(offsetof(OptStr, val) == 4 && sizeof(OptStr) == 12, "str | None");
_Static_assert(offsetof(OptU8, val) == 1 && sizeof(OptU8) == 2, "u8 | None");
_Static_assert(offsetof(OptU32, val) == 4 && sizeof(OptU32) == 8, "u32 | None");
_Static_assert(offsetof(OptF32, val) == 4 && sizeof(OptF32) == 8, "f32 | None");
_Static_assert(offsetof(OptPoint, val) == 8 && sizeof(OptPoint) == 24, "Point | None");
_Static_assert(offsetof(Bag, tag) == 8 && sizeof(Bag) == 20, "Bag");
_Static_assert(offsetof(U32Str, s) == 4 && sizeof(U32Str) == 12, "tuple[u32, str]");
_Static_assert(offsetof(StrU32, n) == 8 && sizeof(StrU32) == 12, "tuple[str, u32]");
_Static_assert(offsetof(Nested, f) == 4 && sizeof(Nested) == 8, "tuple[tuple[bool, u8], f32]");
_Static_assert(offsetof(U16Str, s) == 4 && sizeof(U16Str) == 12, "tuple[u16, str]");
_Static_assert(offsetof(StrU16, n) == 8 && sizeof(StrU16) == 12, "tuple[str, u16]");

static void free_ptr(const void *p) { wi_free((void *)(uintptr_t)p); }

static void reverse_bytes(char *s, size_t n) {
    for (size_t i = 0; i + 1 < n - i; i++) {
        char t = s[i];
        s[i] = s[n - 1 - i];
        s[n - 1 - i] = t;
    }
}

/* ---- records -------------------------------------------------------------------------- */

static Point point_area;

/* (p: Point) -> Point: flat (f64, f64) in, a return area out. */
WI_EXPORT(point_swap) Point *point_swap(double x, double y) {
    point_area.x = y;
    point_area.y = x;
    return &point_area;
}

/* (p: Point, q: Point) -> f64: four flat f64, a scalar result (no memory at all). */
WI_EXPORT(point_dot) double point_dot(double px, double py, double qx, double qy) {
    return px * qx + py * qy;
}

static Line line_area;

/* (l: Line) -> Line: a nested record, flat as four f64. */
WI_EXPORT(line_flip) Line *line_flip(double ax, double ay, double bx, double by) {
    line_area.a = (Point){bx, by};
    line_area.b = (Point){ax, ay};
    return &line_area;
}

WI_EXPORT(line_mid) Point *line_mid(double ax, double ay, double bx, double by) {
    point_area.x = (ax + bx) / 2;
    point_area.y = (ay + by) / 2;
    return &point_area;
}

static MixedRev mixed_rev_area;

/* (m: Mixed) -> tuple[str, u16, u64, u8]: flat (i32, i64, i32, i32 ptr, i32 len). */
WI_EXPORT(mixed_rev) MixedRev *mixed_rev(uint32_t a, uint64_t b, uint32_t c, const char *d,
                                         size_t len) {
    mixed_rev_area = (MixedRev){{d, len}, (uint16_t)c, b, (uint8_t)a};
    return &mixed_rev_area;
}
WI_POST_FREE(mixed_rev) /* d is the first word */

static Mixed mixed_area;

/* (t: tuple[str, u16, u64, u8]) -> Mixed */
WI_EXPORT(mixed_from) Mixed *mixed_from(const char *d, size_t len, uint32_t c, uint64_t b,
                                        uint32_t a) {
    mixed_area = (Mixed){(uint8_t)a, b, (uint16_t)c, {d, len}};
    return &mixed_area;
}

WI_EXPORT(cabi_post_mixed_from) void post_mixed_from(Mixed *m) { free_ptr(m->d.ptr); }

typedef struct { MixedRev *ptr; uint32_t len; } ListMixedRev;
static ListMixedRev mixed_list_area;

/* (ms: list[Mixed]) -> list[tuple[str, u16, u64, u8]]: 32-byte elements both ways, the
 * fields at other offsets. */
WI_EXPORT(mixed_list_rev) ListMixedRev *mixed_list_rev(const Mixed *ms, size_t n) {
    MixedRev *out = wi_xmalloc(n * sizeof *out);
    for (size_t i = 0; i < n; i++)
        out[i] = (MixedRev){ms[i].d, ms[i].c, ms[i].b, ms[i].a};
    wi_free_list(ms, n);
    mixed_list_area = (ListMixedRev){out, n};
    return &mixed_list_area;
}

WI_EXPORT(cabi_post_mixed_list_rev) void post_mixed_list_rev(ListMixedRev *l) {
    for (uint32_t i = 0; i < l->len; i++)
        free_ptr(l->ptr[i].d.ptr);
    wi_free(l->ptr);
}

static Bag bag_area;

/* (b: Bag) -> Bag: every item plus one, the tag reversed (None stays None); in place.
 * Flat: (ptr, count, disc, ptr, len). */
WI_EXPORT(bag_bump) Bag *bag_bump(uint32_t *items, size_t n, uint32_t has_tag, char *tag,
                                  size_t tag_len) {
    for (size_t i = 0; i < n; i++)
        items[i] += 1;
    if (has_tag)
        reverse_bytes(tag, tag_len);
    bag_area.items = (ListU32){items, n};
    bag_area.tag = (OptStr){has_tag != 0, {has_tag ? tag : NULL, has_tag ? tag_len : 0}};
    return &bag_area;
}

WI_EXPORT(cabi_post_bag_bump) void post_bag_bump(Bag *b) {
    wi_free(b->items.ptr);
    if (b->tag.is_some)
        free_ptr(b->tag.val.ptr);
}

/* ---- tuples --------------------------------------------------------------------------- */

static StrU32 str_u32_area;

/* (t: tuple[u32, str]) -> tuple[str, u32] */
WI_EXPORT(tup_swap) StrU32 *tup_swap(uint32_t n, const char *s, size_t len) {
    str_u32_area = (StrU32){{s, len}, n};
    return &str_u32_area;
}
WI_POST_FREE(tup_swap)

static U32Str u32_str_area;

/* (n: u32, s: str) -> tuple[u32, str]: (n + 1, s) */
WI_EXPORT(tup_pair) U32Str *tup_pair(uint32_t n, const char *s, size_t len) {
    u32_str_area = (U32Str){n + 1u, {s, len}};
    return &u32_str_area;
}

WI_EXPORT(cabi_post_tup_pair) void post_tup_pair(U32Str *t) { free_ptr(t->s.ptr); }

static Nested nested_area;

/* (t: tuple[f32, tuple[u8, bool]]) -> tuple[tuple[bool, u8], f32]: ((not b, v + 1), f * 2) */
WI_EXPORT(tup_nested) Nested *tup_nested(float f, uint32_t v, uint32_t b) {
    nested_area = (Nested){{b == 0, (uint8_t)(v + 1u)}, f * 2.0f};
    return &nested_area;
}

/* ---- options -------------------------------------------------------------------------- */

static OptU8 opt_u8_area;

/* (x: u8 | None) -> u8 | None: x + 1; None for None and for 255. */
WI_EXPORT(opt_u8) OptU8 *opt_u8(uint32_t is_some, uint32_t x) {
    opt_u8_area = is_some && x < 255u ? (OptU8){1, (uint8_t)(x + 1u)} : (OptU8){0, 0};
    return &opt_u8_area;
}

/* (x: u8 | None, default: u8) -> u8: flat params, a scalar result. */
WI_EXPORT(opt_u8_or) uint32_t opt_u8_or(uint32_t is_some, uint32_t x, uint32_t dflt) {
    return is_some ? x : dflt;
}

static OptU8 opt_bad_area;

/* () -> u8 | None with discriminant 2. */
WI_EXPORT(opt_bad) OptU8 *opt_bad(void) {
    opt_bad_area = (OptU8){2, 7};
    return &opt_bad_area;
}

static OptStr opt_str_area;

/* (s: str | None) -> str | None: s + "?"; None for None and for "". */
WI_EXPORT(opt_str) OptStr *opt_str(uint32_t is_some, const char *s, size_t len) {
    if (!is_some || len == 0) {
        if (is_some)
            wi_free_str(s, len);
        opt_str_area = (OptStr){0, {NULL, 0}};
        return &opt_str_area;
    }
    char *out = wi_xmalloc(len + 1);
    memcpy(out, s, len);
    out[len] = '?';
    wi_free_str(s, len);
    opt_str_area = (OptStr){1, {out, len + 1}};
    return &opt_str_area;
}

WI_EXPORT(cabi_post_opt_str) void post_opt_str(OptStr *o) {
    if (o->is_some)
        free_ptr(o->val.ptr);
}

static OptF32 opt_f32_area;

/* (x: f32 | None) -> f32 | None: -x.  Flat (i32, f32): the payload keeps its f32 slot. */
WI_EXPORT(opt_f32) OptF32 *opt_f32(uint32_t is_some, float x) {
    opt_f32_area = is_some ? (OptF32){1, -x} : (OptF32){0, 0.0f};
    return &opt_f32_area;
}

static OptPoint opt_point_area;

/* (p: Point | None) -> Point | None: swapped.  The payload is at offset 8 in memory. */
WI_EXPORT(opt_point) OptPoint *opt_point(uint32_t is_some, double x, double y) {
    opt_point_area = is_some ? (OptPoint){1, {y, x}} : (OptPoint){0, {0, 0}};
    return &opt_point_area;
}

/* ---- results -------------------------------------------------------------------------- */

typedef struct { uint8_t is_err; union { uint32_t ok; str_t err; } v; } ResU32Str;
typedef struct { uint8_t is_err; str_t err; } ResNoneStr;
typedef struct { uint8_t is_err; str_t ok; } ResStrNone;
typedef struct { uint8_t is_err; union { float ok; uint64_t err; } v; } ResF32U64;
typedef struct { uint8_t is_err; union { double ok; uint8_t err; } v; } ResF64U8;
_Static_assert(offsetof(ResU32Str, v) == 4 && sizeof(ResU32Str) == 12, "result[u32, str]");
_Static_assert(offsetof(ResNoneStr, err) == 4 && sizeof(ResNoneStr) == 12, "result[None, str]");
_Static_assert(offsetof(ResF32U64, v) == 8 && sizeof(ResF32U64) == 16, "result[f32, u64]");
_Static_assert(offsetof(ResF64U8, v) == 8 && sizeof(ResF64U8) == 16, "result[f64, u8]");

static ResU32Str res_u32_str_area;

/* (x: u32) -> result[u32, str]: ok(x / 2) for an even x, else error "odd number". */
WI_EXPORT(res_half) ResU32Str *res_half(uint32_t x) {
    if (x % 2u == 0) {
        res_u32_str_area.is_err = 0;
        res_u32_str_area.v.ok = x / 2u;
    } else {
        res_u32_str_area.is_err = 1;
        res_u32_str_area.v.err = (str_t){"odd number", 10};
    }
    return &res_u32_str_area;
}

/* () -> result[u32, str] with discriminant 2. */
WI_EXPORT(res_bad) ResU32Str *res_bad(void) {
    res_u32_str_area.is_err = 2;
    res_u32_str_area.v.ok = 1;
    return &res_u32_str_area;
}

static ResNoneStr res_none_str_area;

/* (x: u32) -> result[None, str]: ok for non-zero, error "zero". */
WI_EXPORT(res_nonzero) ResNoneStr *res_nonzero(uint32_t x) {
    res_none_str_area = x ? (ResNoneStr){0, {NULL, 0}} : (ResNoneStr){1, {"zero", 4}};
    return &res_none_str_area;
}

static ResStrNone res_str_none_area;

/* (s: str) -> result[str, None]: ok(s reversed); error (no value) for "". */
WI_EXPORT(res_rev) ResStrNone *res_rev(char *s, size_t len) {
    if (len == 0) {
        wi_free_str(s, len);
        res_str_none_area = (ResStrNone){1, {NULL, 0}};
    } else {
        reverse_bytes(s, len);
        res_str_none_area = (ResStrNone){0, {s, len}};
    }
    return &res_str_none_area;
}

WI_EXPORT(cabi_post_res_rev) void post_res_rev(ResStrNone *r) {
    if (!r->is_err)
        free_ptr(r->ok.ptr);
}

static ResF32U64 res_f32_u64_area;

/* (x: f32) -> result[f32, u64]: ok(x) unless x < 0; then error 2**63 | the bits of x. */
WI_EXPORT(res_f32_u64) ResF32U64 *res_f32_u64(float x) {
    if (x < 0) {
        uint32_t bits;
        memcpy(&bits, &x, 4);
        res_f32_u64_area.is_err = 1;
        res_f32_u64_area.v.err = (uint64_t)1 << 63 | bits;
    } else {
        res_f32_u64_area.is_err = 0;
        res_f32_u64_area.v.err = 0;
        res_f32_u64_area.v.ok = x;
    }
    return &res_f32_u64_area;
}

static ResF64U8 res_f64_u8_area;

/* (x: f64) -> result[f64, u8]: ok(x / 2) for x >= 0, error 1 for x < 0, error 0 for NaN. */
WI_EXPORT(res_f64_u8) ResF64U8 *res_f64_u8(double x) {
    if (x >= 0) {
        res_f64_u8_area.is_err = 0;
        res_f64_u8_area.v.ok = x / 2;
    } else {
        res_f64_u8_area.is_err = 1;
        res_f64_u8_area.v.ok = 0;
        res_f64_u8_area.v.err = x < 0 ? 1 : 0;
    }
    return &res_f64_u8_area;
}

/* (x: u32) -> result[None, None]: one flat i32 (the discriminant), no return area. */
WI_EXPORT(res_unit) uint32_t res_unit(uint32_t x) { return x != 0; }

/* () -> result[None, None] with discriminant 7. */
WI_EXPORT(res_unit_bad) uint32_t res_unit_bad(void) { return 7; }

/* ---- enums ---------------------------------------------------------------------------- */

WI_EXPORT(color_next) uint32_t color_next(uint32_t c) { return (c + 1u) % 3u; }

WI_EXPORT(color_name) wi_str *color_name(uint32_t c) {
    static const char *const names[] = {"red", "green", "blue"};
    const char *name = c < 3 ? names[c] : "?";
    return wi_return_str(name, strlen(name)); /* static text: no cabi_post */
}

/* () -> Color: 3 is no case (flat). */
WI_EXPORT(color_bad) uint32_t color_bad(void) { return 3; }

/* (xs: list[Color]) -> list[Color]: each to the next color, in place (one byte each). */
WI_EXPORT(colors_rotate) wi_list_u8 *colors_rotate(uint8_t *xs, size_t n) {
    for (size_t i = 0; i < n; i++)
        xs[i] = (uint8_t)((xs[i] + 1u) % 3u);
    return wi_return_list(xs, n);
}
WI_POST_FREE(colors_rotate)

/* () -> list[Color]: [red, 3]: an invalid case in memory. */
WI_EXPORT(colors_bad) wi_list_u8 *colors_bad(void) {
    static const uint8_t bad[] = {0, 3};
    return wi_return_list(bad, 2);
}

WI_EXPORT(big_next) uint32_t big_next(uint32_t b) { return (b + 1u) % 300u; }

WI_EXPORT(big_bad) uint32_t big_bad(void) { return 300; }

/* (xs: list[Big]) -> list[Big]: 300 cases, so u16 elements; each to the next case. */
WI_EXPORT(big_list) wi_list_u16 *big_list(uint16_t *xs, size_t n) {
    for (size_t i = 0; i < n; i++)
        xs[i] = (uint16_t)((xs[i] + 1u) % 300u);
    return wi_return_list(xs, n);
}
WI_POST_FREE(big_list)

/* (xs: list[E256]) -> list[E256]: 256 cases still fit u8 elements; each x to 255 - x. */
WI_EXPORT(e256_list) wi_list_u8 *e256_list(uint8_t *xs, size_t n) {
    for (size_t i = 0; i < n; i++)
        xs[i] = (uint8_t)(255u - xs[i]);
    return wi_return_list(xs, n);
}
WI_POST_FREE(e256_list)

typedef struct { uint16_t big; uint8_t e256; uint8_t color; } EnumRev;
_Static_assert(offsetof(EnumRev, e256) == 2 && offsetof(EnumRev, color) == 3 &&
               sizeof(EnumRev) == 4, "tuple[Big, E256, Color]");
static EnumRev enum_rev_area;

/* (t: tuple[Color, E256, Big]) -> tuple[Big, E256, Color] */
WI_EXPORT(enum_sizes) EnumRev *enum_sizes(uint32_t color, uint32_t e256, uint32_t big) {
    enum_rev_area = (EnumRev){(uint16_t)big, (uint8_t)e256, (uint8_t)color};
    return &enum_rev_area;
}

/* ---- flags ---------------------------------------------------------------------------- */

/* (p: Perm) -> Perm: toggles w (bit 1). */
WI_EXPORT(perm_flip) uint32_t perm_flip(uint32_t p) { return p ^ 2u; }

/* () -> Perm: all eight bits of the byte set; only r, w, x are flags. */
WI_EXPORT(perm_unknown) uint32_t perm_unknown(void) { return 0xFFu; }

WI_EXPORT(nine_echo) uint32_t nine_echo(uint32_t f) { return f; }

/* (xs: list[Nine]) -> list[Nine]: 9 flags take 2 bytes; each complemented (9 bits). */
WI_EXPORT(nine_not) wi_list_u16 *nine_not(uint16_t *xs, size_t n) {
    for (size_t i = 0; i < n; i++)
        xs[i] ^= 0x1FFu;
    return wi_return_list(xs, n);
}
WI_POST_FREE(nine_not)

/* () -> list[Nine]: elements with bits above the 9 flags. */
WI_EXPORT(nine_unknown) wi_list_u16 *nine_unknown(void) {
    static const uint16_t raw[] = {0xFFFFu, 0xFE00u, 0x8101u};
    return wi_return_list(raw, 3);
}

WI_EXPORT(wide_not) uint32_t wide_not(uint32_t f) { return ~f; }

WI_EXPORT(wide_list) wi_list_u32 *wide_list(uint32_t *xs, size_t n) {
    for (size_t i = 0; i < n; i++)
        xs[i] = ~xs[i];
    return wi_return_list(xs, n);
}
WI_POST_FREE(wide_list)

typedef struct { uint32_t wide; uint16_t nine; uint8_t oct; uint8_t perm; } FlagRev;
_Static_assert(offsetof(FlagRev, nine) == 4 && offsetof(FlagRev, oct) == 6 &&
               offsetof(FlagRev, perm) == 7 && sizeof(FlagRev) == 8, "tuple[Wide, Nine, Oct, Perm]");
static FlagRev flag_rev_area;

/* (t: tuple[Perm, Oct, Nine, Wide]) -> tuple[Wide, Nine, Oct, Perm]: 1, 1, 2, 4 bytes. */
WI_EXPORT(flag_sizes) FlagRev *flag_sizes(uint32_t perm, uint32_t oct, uint32_t nine,
                                          uint32_t wide) {
    flag_rev_area = (FlagRev){wide, (uint16_t)nine, (uint8_t)oct, (uint8_t)perm};
    return &flag_rev_area;
}

/* ---- lists ---------------------------------------------------------------------------- */

typedef struct { str_t *ptr; uint32_t len; } ListStr;
static ListStr list_str_area;

/* (xs: list[str]) -> list[str]: the same strings in reverse order (the array in place). */
WI_EXPORT(strs_rev) ListStr *strs_rev(str_t *xs, size_t n) {
    for (size_t i = 0; i + 1 < n - i; i++) {
        str_t t = xs[i];
        xs[i] = xs[n - 1 - i];
        xs[n - 1 - i] = t;
    }
    list_str_area = (ListStr){xs, n};
    return &list_str_area;
}

WI_EXPORT(cabi_post_strs_rev) void post_strs_rev(ListStr *l) {
    for (uint32_t i = 0; i < l->len; i++)
        free_ptr(l->ptr[i].ptr);
    wi_free(l->ptr);
}

/* (xs: list[str]) -> str: joined with ",". */
WI_EXPORT(strs_join) wi_str *strs_join(str_t *xs, size_t n) {
    size_t total = n ? n - 1 : 0;
    for (size_t i = 0; i < n; i++)
        total += xs[i].len;
    char *out = wi_xmalloc(total), *o = out;
    for (size_t i = 0; i < n; i++) {
        if (i)
            *o++ = ',';
        memcpy(o, xs[i].ptr, xs[i].len);
        o += xs[i].len;
        free_ptr(xs[i].ptr);
    }
    wi_free_list(xs, n);
    return wi_return_str(out, total);
}
WI_POST_FREE(strs_join)

typedef struct { Point *ptr; uint32_t len; } ListPoint;
static ListPoint list_point_area;

/* (ps: list[Point], k: f64) -> list[Point]: 16-byte, 8-aligned elements, scaled in place. */
WI_EXPORT(points_scale) ListPoint *points_scale(Point *ps, size_t n, double k) {
    if ((uintptr_t)ps % 8u)
        __builtin_trap(); /* the host must allocate the array at align(Point) */
    for (size_t i = 0; i < n; i++) {
        ps[i].x *= k;
        ps[i].y *= k;
    }
    list_point_area = (ListPoint){ps, n};
    return &list_point_area;
}
WI_POST_FREE(points_scale)

WI_EXPORT(points_sum) Point *points_sum(const Point *ps, size_t n) {
    Point sum = {0, 0};
    for (size_t i = 0; i < n; i++) {
        sum.x += ps[i].x;
        sum.y += ps[i].y;
    }
    wi_free_list(ps, n);
    point_area = sum;
    return &point_area;
}

typedef struct { ListU8 *ptr; uint32_t len; } ListListU8;
static ListListU8 list_list_area;

/* (xs: list[list[u8]]) -> list[list[u8]]: every inner list reversed, and their order too. */
WI_EXPORT(lists_rev) ListListU8 *lists_rev(ListU8 *xs, size_t n) {
    for (size_t i = 0; i < n; i++)
        reverse_bytes((char *)xs[i].ptr, xs[i].len);
    for (size_t i = 0; i + 1 < n - i; i++) {
        ListU8 t = xs[i];
        xs[i] = xs[n - 1 - i];
        xs[n - 1 - i] = t;
    }
    list_list_area = (ListListU8){xs, n};
    return &list_list_area;
}

WI_EXPORT(cabi_post_lists_rev) void post_lists_rev(ListListU8 *l) {
    for (uint32_t i = 0; i < l->len; i++)
        wi_free(l->ptr[i].ptr);
    wi_free(l->ptr);
}

/* (xs: list[bool]) -> list[bool]: one byte per bool, negated in place. */
WI_EXPORT(bools_not) wi_list_u8 *bools_not(uint8_t *xs, size_t n) {
    for (size_t i = 0; i < n; i++)
        xs[i] = xs[i] == 0;
    return wi_return_list(xs, n);
}
WI_POST_FREE(bools_not)

/* () -> list[bool]: the bytes 0, 1, 2, 255 (any non-zero byte is true). */
WI_EXPORT(bools_raw) wi_list_u8 *bools_raw(void) {
    static const uint8_t raw[] = {0, 1, 2, 255};
    return wi_return_list(raw, 4);
}

typedef struct { StrU16 *ptr; uint32_t len; } ListStrU16;
static ListStrU16 pairs_area;

/* (xs: list[tuple[u16, str]]) -> list[tuple[str, u16]]: 12-byte elements both ways. */
WI_EXPORT(pairs_swap) ListStrU16 *pairs_swap(const U16Str *xs, size_t n) {
    StrU16 *out = wi_xmalloc(n * sizeof *out);
    for (size_t i = 0; i < n; i++)
        out[i] = (StrU16){xs[i].s, xs[i].n};
    wi_free_list(xs, n);
    pairs_area = (ListStrU16){out, n};
    return &pairs_area;
}

WI_EXPORT(cabi_post_pairs_swap) void post_pairs_swap(ListStrU16 *l) {
    for (uint32_t i = 0; i < l->len; i++)
        free_ptr(l->ptr[i].s.ptr);
    wi_free(l->ptr);
}

typedef struct { OptU32 *ptr; uint32_t len; } ListOptU32;
static ListOptU32 opts_area;

/* (xs: list[u32 | None]) -> list[u32 | None]: present values doubled (wrapping), in place. */
WI_EXPORT(opts_double) ListOptU32 *opts_double(OptU32 *xs, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (xs[i].is_some)
            xs[i].val *= 2u;
    opts_area = (ListOptU32){xs, n};
    return &opts_area;
}
WI_POST_FREE(opts_double)

/* (xs: list[u32 | None]) -> u32: how many are None. */
WI_EXPORT(opts_nones) uint32_t opts_nones(const OptU32 *xs, size_t n) {
    uint32_t nones = 0;
    for (size_t i = 0; i < n; i++)
        nones += xs[i].is_some == 0;
    wi_free_list(xs, n);
    return nones;
}

/* () -> list[str]: zero elements at the dummy address 4. */
WI_EXPORT(empty_strs) ListStr *empty_strs(void) {
    list_str_area = (ListStr){(str_t *)(uintptr_t)4u, 0};
    return &list_str_area;
}

/* ---- cstr ----------------------------------------------------------------------------- */

/* (s: cstr) -> i32: strlen, or -1 for NULL (None). */
WI_EXPORT(c_len) int32_t c_len(const char *s) {
    if (s == NULL)
        return -1;
    int32_t n = (int32_t)strlen(s);
    free_ptr(s);
    return n;
}

/* (s: cstr) -> cstr: ASCII upper-cased in place; NULL stays NULL.  cabi_post_c_upper gets
 * the result pointer itself (a one-value result) and frees it. */
WI_EXPORT(c_upper) char *c_upper(char *s) {
    if (s == NULL)
        return NULL;
    for (char *p = s; *p; p++)
        if (*p >= 'a' && *p <= 'z')
            *p = (char)(*p - 'a' + 'A');
    return s;
}

WI_EXPORT(cabi_post_c_upper) void post_c_upper(char *s) { wi_free(s); }

WI_EXPORT(c_null) const char *c_null(void) { return NULL; }

/* (a: cstr, b: cstr) -> cstr: a + b (NULL counts as ""); NULL when both are NULL. */
WI_EXPORT(c_join) char *c_join(const char *a, const char *b) {
    if (a == NULL && b == NULL)
        return NULL;
    size_t na = a ? strlen(a) : 0, nb = b ? strlen(b) : 0;
    char *out = wi_xmalloc(na + nb + 1);
    if (na)
        memcpy(out, a, na);
    if (nb)
        memcpy(out + na, b, nb);
    out[na + nb] = 0;
    free_ptr(a);
    free_ptr(b);
    return out;
}

WI_EXPORT(cabi_post_c_join) void post_c_join(char *s) { wi_free(s); }

/* (xs: list[cstr]) -> list[i32]: c_len of each; the elements are 4-byte pointers. */
WI_EXPORT(c_lens) wi_list_i32 *c_lens(const char **xs, size_t n) {
    int32_t *out = wi_xmalloc(n * sizeof *out);
    for (size_t i = 0; i < n; i++)
        out[i] = c_len(xs[i]);
    wi_free_list(xs, n);
    return wi_return_list(out, n);
}
WI_POST_FREE(c_lens)

/* () -> cstr: the last 16 bytes of memory, all 'x': no NUL before the end.  They lie above
 * the allocator's bump pointer (memory grows a page if they do not), so nothing live is
 * overwritten. */
WI_EXPORT(c_unterminated) const char *c_unterminated(void) {
    uintptr_t end = (uintptr_t)__builtin_wasm_memory_size(0) * WI__PAGE;
    if (wi__heap.top + 16u > end) {
        if (__builtin_wasm_memory_grow(0, 1) == (size_t)-1)
            __builtin_trap();
        end += WI__PAGE;
    }
    memset((void *)(end - 16u), 'x', 16);
    return (const char *)(end - 16u);
}

/* ---- buffer --------------------------------------------------------------------------- */

/* A buffer argument is copied back by the host AFTER the call returns, so it cannot be
 * freed during the call: it is kept here and freed by cabi_post_<name>, which runs after
 * the copy-back. */
static void *pending[2];

static void drop_pending(void) {
    wi_free(pending[0]);
    wi_free(pending[1]);
    pending[0] = pending[1] = NULL;
}

/* (buf: buffer, byte: u8) -> u32: every byte set to `byte`; returns the length. */
WI_EXPORT(fill) uint32_t fill(uint8_t *buf, size_t n, uint32_t byte) {
    memset(buf, (int)byte, n);
    pending[0] = buf;
    return (uint32_t)n;
}

WI_EXPORT(cabi_post_fill) void post_fill(uint32_t result) {
    (void)result;
    drop_pending();
}

/* (buf: buffer, key: u8) -> u32: the sum of the bytes as given, then each XORed with key. */
WI_EXPORT(buf_xor) uint32_t buf_xor(uint8_t *buf, size_t n, uint32_t key) {
    uint32_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        sum += buf[i];
        buf[i] ^= (uint8_t)key;
    }
    pending[0] = buf;
    return sum;
}

WI_EXPORT(cabi_post_buf_xor) void post_buf_xor(uint32_t result) {
    (void)result;
    drop_pending();
}

/* (a: buffer, b: buffer) -> None: swaps the first min(len a, len b) bytes of the two. */
WI_EXPORT(buf_swap) void buf_swap(uint8_t *a, size_t na, uint8_t *b, size_t nb) {
    for (size_t i = 0; i < na && i < nb; i++) {
        uint8_t t = a[i];
        a[i] = b[i];
        b[i] = t;
    }
    pending[0] = a;
    pending[1] = b;
}

WI_EXPORT(cabi_post_buf_swap) void post_buf_swap(void) { drop_pending(); }

/* ---- the 16-flat-value limit ---------------------------------------------------------- */

/* flat16(p: Point, m: Mixed, o: u8 | None, s: str, q: f32 | None, c: Color, f: Perm, n: u64)
 *   flattens to 2 + 5 + 2 + 2 + 2 + 1 + 1 + 1 = 16 values: still passed flat.  The result
 *   is the same values in reverse order, tuple[u64, Perm, Color, f32 | None, str,
 *   u8 | None, Mixed, Point], through a return area. */
typedef struct {
    uint64_t n; uint8_t f; uint8_t c; OptF32 q; str_t s; OptU8 o; Mixed m; Point p;
} Rev16;
_Static_assert(offsetof(Rev16, f) == 8 && offsetof(Rev16, c) == 9 && offsetof(Rev16, q) == 12 &&
               offsetof(Rev16, s) == 20 && offsetof(Rev16, o) == 28 &&
               offsetof(Rev16, m) == 32 && offsetof(Rev16, p) == 64 && sizeof(Rev16) == 80,
               "flat16 result");
static Rev16 rev16_area;

WI_EXPORT(flat16) Rev16 *flat16(double px, double py, uint32_t ma, uint64_t mb, uint32_t mc,
                                const char *md, size_t md_len, uint32_t o_is, uint32_t o_val,
                                const char *s, size_t s_len, uint32_t q_is, float q_val,
                                uint32_t c, uint32_t f, uint64_t n) {
    rev16_area = (Rev16){n, (uint8_t)f, (uint8_t)c, {q_is != 0, q_val}, {s, s_len},
                         {o_is != 0, (uint8_t)o_val}, {(uint8_t)ma, mb, (uint16_t)mc,
                         {md, md_len}}, {px, py}};
    return &rev16_area;
}

WI_EXPORT(cabi_post_flat16) void post_flat16(Rev16 *r) {
    free_ptr(r->s.ptr);
    free_ptr(r->m.d.ptr);
}

/* flat17: flat16's parameters and a bool (17 flat values): the export takes ONE pointer to
 * the parameters stored like Args17, allocated by the host (ours to free).  The result is
 * again every value in reverse order. */
typedef struct {
    Point p; Mixed m; OptU8 o; str_t s; OptF32 q; uint8_t c; uint8_t f; uint64_t n; uint8_t b;
} Args17;
_Static_assert(offsetof(Args17, m) == 16 && offsetof(Args17, o) == 48 &&
               offsetof(Args17, s) == 52 && offsetof(Args17, q) == 60 &&
               offsetof(Args17, c) == 68 && offsetof(Args17, f) == 69 &&
               offsetof(Args17, n) == 72 && offsetof(Args17, b) == 80 && sizeof(Args17) == 88,
               "flat17 parameters");
typedef struct {
    uint8_t b; uint64_t n; uint8_t f; uint8_t c; OptF32 q; str_t s; OptU8 o; Mixed m; Point p;
} Rev17;
_Static_assert(offsetof(Rev17, n) == 8 && offsetof(Rev17, f) == 16 && offsetof(Rev17, c) == 17 &&
               offsetof(Rev17, q) == 20 && offsetof(Rev17, s) == 28 &&
               offsetof(Rev17, o) == 36 && offsetof(Rev17, m) == 40 &&
               offsetof(Rev17, p) == 72 && sizeof(Rev17) == 88, "flat17 result");
static Rev17 rev17_area;

WI_EXPORT(flat17) Rev17 *flat17(Args17 *a) {
    if ((uintptr_t)a % 8u)
        __builtin_trap(); /* the host must align the block to its largest field */
    rev17_area = (Rev17){a->b != 0, a->n, a->f, a->c, a->q, a->s, a->o, a->m, a->p};
    wi_free(a);
    return &rev17_area;
}

WI_EXPORT(cabi_post_flat17) void post_flat17(Rev17 *r) {
    free_ptr(r->s.ptr);
    free_ptr(r->m.d.ptr);
}

/* ---- memory --------------------------------------------------------------------------- */

WI_EXPORT(mem_pages) uint32_t mem_pages(void) { return (uint32_t)__builtin_wasm_memory_size(0); }

/* Returns its argument.  Declared in rich.wasm.toml as (p: u32) -> u32; the round-trip tests
 * declare it as (x: T, pad: tuple[u64, ...16]) -> tuple[T, tuple[u64, ...16]], whose
 * parameters spill to memory: the result is then read from the parameter block. */
WI_EXPORT(echo_mem) uint32_t echo_mem(uint32_t p) { return p; }
