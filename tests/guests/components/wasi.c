/* The wasi component (wasi.wit): a wasi-libc reactor using stdio, files and the
 * environment, made a component with the WASI preview1 adapter (build --wasi --wit).  The
 * Canonical ABI by hand, as in calc.c. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXPORT(name) __attribute__((export_name(name)))

EXPORT("cabi_realloc")
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

static _Alignas(8) uint8_t ret[16];
#define RET(type, offset) (*(type *)(ret + (offset)))

/* a NUL-terminated copy of an argument string, which is freed */
static char *c_string(char *s, size_t n) {
    char *z = malloc(n + 1);
    if (!z) __builtin_trap();
    memcpy(z, s, n);
    z[n] = 0;
    if (n) free(s);
    return z;
}

EXPORT("greet") uint32_t greet(char *name, size_t n) {
    int written = printf("hello, %.*s\n", (int)n, name);
    fflush(stdout);
    if (n) free(name);
    return written < 0 ? 0 : (uint32_t)written;
}

/* result<string, string>: discriminant at 0, the string's (pointer, length) at 4 */
static uint8_t *result(uint8_t is_err, char *bytes, size_t n) {
    RET(uint8_t, 0) = is_err;
    RET(char *, 4) = bytes;
    RET(size_t, 8) = n;
    return ret;
}

static uint8_t *error(const char *what) {
    const char *message = strerror(errno);
    size_t a = strlen(what), b = strlen(message);
    char *text = malloc(a + 2 + b);
    if (!text) __builtin_trap();
    memcpy(text, what, a);
    memcpy(text + a, ": ", 2);
    memcpy(text + a + 2, message, b);
    return result(1, text, a + 2 + b);
}

EXPORT("read-file") uint8_t *read_file(char *path_bytes, size_t n) {
    char *path = c_string(path_bytes, n);
    FILE *f = fopen(path, "rb");
    uint8_t *out;
    if (!f) {
        out = error(path);
        free(path);
        return out;
    }
    size_t size = 0, cap = 256;
    char *data = malloc(cap);
    if (!data) __builtin_trap();
    for (size_t got; (got = fread(data + size, 1, cap - size, f)) > 0;) {
        size += got;
        if (size == cap && !(data = realloc(data, cap *= 2))) __builtin_trap();
    }
    if (ferror(f)) {
        free(data);
        out = error(path);
    } else {
        out = result(0, data, size);
    }
    fclose(f);
    free(path);
    return out;
}
EXPORT("cabi_post_read-file") void post_read_file(uint8_t *area) { free(*(void **)(area + 4)); }

/* option<string>: discriminant at 0, (pointer, length) at 4 */
EXPORT("get-env") uint8_t *get_env(char *name_bytes, size_t n) {
    char *name = c_string(name_bytes, n);
    const char *value = getenv(name);
    free(name);
    RET(uint8_t, 0) = value != NULL;
    if (value) {
        size_t len = strlen(value);
        char *copy = malloc(len ? len : 1);
        if (!copy) __builtin_trap();
        memcpy(copy, value, len);
        RET(char *, 4) = copy;
        RET(size_t, 8) = len;
    }
    return ret;
}
EXPORT("cabi_post_get-env") void post_get_env(uint8_t *area) {
    if (area[0]) free(*(void **)(area + 4));
}
