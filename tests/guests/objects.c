/*
 * objects.c -- guest objects owned by Python objects: a manifest `resource` type
 * (manifest: objects.wasm.toml).  No handle table here: the handle is the pointer.
 *
 *   acc_new / acc_free       an accumulator (a resource's constructor and drop export)
 *   acc_add / acc_get        methods (borrow self)
 *   acc_merge                consumes its first argument (own), borrows the second
 *   acc_copy                 a new accumulator with the same value
 *   live / drops             how many exist / have been dropped, for tests of leaks
 *   env.dropped              a host function told of each drop (at exit too)
 */
#include "wasmimport.h"

__attribute__((import_module("env"), import_name("dropped"))) void host_dropped(int64_t value);

typedef struct { int64_t value; uint32_t magic; } acc;
#define MAGIC 0xACC0ACC0u

static int32_t live_count, drop_count, notify;

static acc *check(acc *a) {
    if (!a || a->magic != MAGIC) __builtin_trap();   /* a stale or forged pointer */
    return a;
}

WI_EXPORT(acc_new) acc *acc_new(int64_t start) {
    acc *a = WI_NEW(acc);
    a->value = start;
    a->magic = MAGIC;
    live_count++;
    return a;
}

WI_EXPORT(acc_free) void acc_free(acc *a) {
    check(a)->magic = 0;
    if (notify) host_dropped(a->value);
    wi_free(a);
    live_count--;
    drop_count++;
}

WI_EXPORT(acc_add) void acc_add(acc *a, int64_t by) { check(a)->value += by; }
WI_EXPORT(acc_get) int64_t acc_get(acc *a) { return check(a)->value; }
WI_EXPORT(acc_copy) acc *acc_copy(acc *a) { return acc_new(check(a)->value); }

WI_EXPORT(acc_merge) acc *acc_merge(acc *a, acc *b) {
    acc *sum = acc_new(check(a)->value + check(b)->value);
    acc_free(a);
    return sum;
}

/* A method with memory on both sides: adds the bytes' values, returns the total as text. */
WI_EXPORT(acc_feed) wi_str *acc_feed(acc *a, const uint8_t *data, size_t len) {
    static char text[24];
    int64_t v = check(a)->value;
    for (size_t i = 0; i < len; i++) v += data[i];
    wi_free_bytes(data, len);
    a->value = v;
    size_t n = 0;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do text[sizeof text - 1 - n++] = (char)('0' + u % 10); while ((u /= 10) != 0);
    if (v < 0) text[sizeof text - 1 - n++] = '-';
    return wi_return_str(text + sizeof text - n, n);
}

WI_EXPORT(live) int32_t live(void) { return live_count; }
WI_EXPORT(drops) int32_t drops(void) { return drop_count; }
WI_EXPORT(notify_drops) void notify_drops(int32_t on) { notify = on; }

/* Handles inside lists: n new accumulators (the host owns them and the list's memory, which
 * cabi_post_acc_range frees once the host has read it), and the sum of a list of
 * accumulators that are moved in (this function drops them, and frees the list). */
WI_EXPORT(acc_range) wi_list_i32 *acc_range(int32_t n) {
    int32_t *items = wi_xmalloc((size_t)n * sizeof *items + 1);
    for (int32_t i = 0; i < n; i++) items[i] = (int32_t)(uintptr_t)acc_new(i);
    return wi_return_list_i32(items, (size_t)n);
}
WI_POST_FREE(acc_range)

WI_EXPORT(acc_consume_all) int64_t acc_consume_all(acc **items, size_t n) {
    int64_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        sum += check(items[i])->value;
        acc_free(items[i]);
    }
    wi_free(items);
    return sum;
}
