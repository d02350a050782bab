/*
 * wasi_reactor.c -- a WASI reactor (a library: no main) for the [wasi] tests.
 * Built with wasi-libc: clang --target=wasm32-wasi -mexec-model=reactor ...
 *
 *   say(s)             writes s to stdout and "err:" s to stderr
 *   env(name)          getenv(name), or "<unset>"
 *   read_file(path)    the file's contents, or "<error: ...>"
 *   write_file(path, data) -> 0, or -errno
 *   quit(status)       exit(status): WASI proc_exit
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wasmimport.h"

static char *cstring(const char *s, size_t len) {
    char *out = wi_xmalloc(len + 1);
    memcpy(out, s, len);
    out[len] = '\0';
    wi_free_str(s, len);
    return out;
}

WI_EXPORT(say) void say(const char *s, size_t len) {
    printf("%.*s\n", (int)len, s);
    fprintf(stderr, "err:%.*s\n", (int)len, s);
    fflush(stdout);
    fflush(stderr);
    wi_free_str(s, len);
}

static char result[4096];

WI_EXPORT(env) wi_str *env(const char *name, size_t len) {
    char *key = cstring(name, len);
    const char *value = getenv(key);
    free(key);
    snprintf(result, sizeof result, "%s", value ? value : "<unset>");
    return wi_return_str(result, strlen(result));
}

WI_EXPORT(read_file) wi_str *read_file(const char *path, size_t len) {
    char *name = cstring(path, len);
    FILE *f = fopen(name, "r");
    free(name);
    if (f == NULL) {
        snprintf(result, sizeof result, "<error: %s>", strerror(errno));
        return wi_return_str(result, strlen(result));
    }
    size_t n = fread(result, 1, sizeof result - 1, f);
    fclose(f);
    return wi_return_str(result, n);
}

WI_EXPORT(write_file) int32_t write_file(const char *path, size_t len, const char *data,
                                         size_t data_len) {
    char *name = cstring(path, len);
    FILE *f = fopen(name, "w");
    free(name);
    if (f == NULL) {
        wi_free_str(data, data_len);
        return -errno;
    }
    size_t n = fwrite(data, 1, data_len, f);
    int closed = fclose(f);
    wi_free_str(data, data_len);
    return n == data_len && closed == 0 ? 0 : -EIO;
}

WI_EXPORT(quit) void quit(int32_t status) {
    exit(status);
}
