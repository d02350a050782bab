/* The host component (host.wit): imports functions, by hand to the Canonical ABI.
 *
 * Lowered imports come from module "$root" (world-level functions) or the interface's name;
 * their parameters flatten as an export's do, and a result of more than one flat value
 * (name's string) is written by the host into a return area whose pointer we pass last,
 * its bytes allocated in our memory with cabi_realloc (so they are ours to free).  No stdio:
 * it would bring WASI imports, and this component imports only what host.wit says.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define IMPORT(module, name) __attribute__((import_module(module), import_name(name)))

IMPORT("$root", "log") void host_log(const char *msg, size_t len);
IMPORT("$root", "add-one") int32_t host_add_one(int32_t x);
IMPORT("$root", "name") void host_name(uint32_t *ret);   /* ret[0] pointer, ret[1] length */
IMPORT("demo:host/clock@0.1.0", "now") uint64_t clock_now(void);
/* record moment { secs: u64, nanos: u32 }: two flat results, so the host writes it into a
 * return area (u64 at 0, u32 at 8; size 16, align 8); enum zone is its index, an i32. */
typedef struct { uint64_t secs; uint32_t nanos; } moment;
IMPORT("demo:host/clock@0.1.0", "at") void clock_at(int32_t zone, moment *ret);

__attribute__((export_name("cabi_realloc")))
void *cabi_realloc(void *old, size_t old_size, size_t align, size_t new_size) {
    (void)old_size;
    if (new_size == 0) {
        free(old);
        return (void *)align;
    }
    void *p = realloc(old, new_size);
    if (!p) __builtin_trap();
    return p;
}

static char *put(char *at, const void *bytes, size_t n) {
    memcpy(at, bytes, n);
    return at + n;
}

static char *put_decimal(char *at, uint64_t v, int negative) {
    char digits[20];
    int n = 0;
    do digits[n++] = (char)('0' + v % 10); while (v /= 10);
    if (negative) *at++ = '-';
    while (n) *at++ = digits[--n];
    return at;
}

__attribute__((export_name("run"))) int32_t run(int32_t x) {
    uint32_t name[2];
    host_name(name);
    uint64_t now = clock_now();
    char *line = malloc(name[1] + 64), *at = line;
    if (!line) __builtin_trap();
    at = put(at, "run ", 4);
    at = put_decimal(at, x < 0 ? 0 - (uint64_t)(int64_t)x : (uint64_t)x, x < 0);
    at = put(at, " for ", 5);
    at = put(at, (const char *)(uintptr_t)name[0], name[1]);
    at = put(at, " at ", 4);
    at = put_decimal(at, now, 0);
    if (name[1]) free((void *)(uintptr_t)name[0]);
    host_log(line, (size_t)(at - line));
    free(line);
    return (int32_t)((uint32_t)host_add_one(x) + (uint32_t)(now % 1000));
}

__attribute__((export_name("stamp"))) uint64_t stamp(int32_t zone) {
    moment m;
    clock_at(zone, &m);
    return m.secs * 1000 + m.nanos / 1000000;
}

/* A moment result is returned in memory: a pointer to a static return area. */
static moment later_result;

__attribute__((export_name("later"))) moment *later(uint64_t secs, uint32_t nanos,
                                                   uint32_t plus) {
    later_result.secs = secs + plus;
    later_result.nanos = nanos;
    return &later_result;
}
