/*
 * brotli_abi.c -- Brotli's streaming encoder and decoder, in the Canonical ABI terms the
 * manifest (src/brotli/_brotli.wasm.toml) gives Python.  Built with Brotli's own C library
 * (c/ of the pinned brotli sdist); this file is what python/_brotli.c does in CPython's C API:
 * growing output buffers, the decoder's unconsumed input, the error messages.
 *
 * Compressor and Decompressor are manifest resources: Python holds our pointer as the
 * handle and calls compressor_free / decompressor_free exactly once.  No handle table.
 *
 * A result[bytes, str] is returned through a return area {tag, pad, ptr, len}: tag 0 with
 * the output (malloc'd: cabi_post_<name> frees it), or tag 1 with a static message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <brotli/decode.h>
#include <brotli/encode.h>

#include "wasmimport.h"

typedef struct {
    uint8_t tag;               /* 0: ok, 1: error */
    const void *ptr;           /* the bytes (tag 0) or the message (tag 1) */
    size_t len;
} outcome;
_Static_assert(offsetof(outcome, ptr) == 4 && sizeof(outcome) == 12, "result layout");

static outcome area;

static outcome *fail(const char *message) {
    area.tag = 1;
    area.ptr = message;
    area.len = strlen(message);
    return &area;
}

static outcome *ok_bytes(uint8_t *data, size_t len) {
    area.tag = 0;
    area.ptr = data;
    area.len = len;
    return &area;
}

/* frees a result's output after the host read it (never the static messages) */
static void post(outcome *result) {
    if (result->tag == 0) wi_free((void *)result->ptr);
}

/* An output buffer that doubles as it fills, as python/_brotli.c's Buffer grows. */
typedef struct {
    uint8_t *data;
    size_t size, used;
} buffer;

static int grow(buffer *b, size_t *avail_out, uint8_t **next_out) {
    size_t size = b->size ? b->size * 2 : 32768;
    uint8_t *data = wi_realloc(b->data, size);
    if (!data) return 0;
    b->data = data;
    b->size = size;
    *next_out = data + b->used;
    *avail_out = size - b->used;
    return 1;
}

/* ---- Compressor ---- */

typedef struct {
    BrotliEncoderState *enc;
    int healthy;
} compressor;

WI_EXPORT(compressor_new) outcome *compressor_new(uint32_t mode, uint32_t quality,
                                                  uint32_t lgwin, uint32_t lgblock) {
    if (mode > 2) return fail("brotli: invalid mode");
    if (quality > 11) return fail("brotli: invalid quality; range is 0 to 11");
    if (lgwin < 10 || lgwin > 24) return fail("brotli: invalid lgwin; range is 10 to 24");
    if (lgblock != 0 && (lgblock < 16 || lgblock > 24))
        return fail("brotli: invalid lgblock; range is 16 to 24, or 0");
    compressor *c = WI_NEW(compressor);
    c->enc = BrotliEncoderCreateInstance(0, 0, 0);
    if (!c->enc) {
        wi_free(c);
        return fail("brotli: failed to create native encoder instance");
    }
    BrotliEncoderSetParameter(c->enc, BROTLI_PARAM_MODE, mode);
    BrotliEncoderSetParameter(c->enc, BROTLI_PARAM_QUALITY, quality);
    BrotliEncoderSetParameter(c->enc, BROTLI_PARAM_LGWIN, lgwin);
    BrotliEncoderSetParameter(c->enc, BROTLI_PARAM_LGBLOCK, lgblock);
    c->healthy = 1;
    area.tag = 0;
    area.ptr = c;             /* the resource's representation, at the payload's offset */
    return &area;
}

WI_EXPORT(compressor_free) void compressor_free(compressor *c) {
    BrotliEncoderDestroyInstance(c->enc);
    wi_free(c);
}

static outcome *compress_stream(compressor *c, BrotliEncoderOperation op,
                                const uint8_t *input, size_t input_len) {
    if (!c->healthy) return fail("brotli: encoder is unhealthy");
    buffer out = {0};
    size_t avail_in = input_len, avail_out = 0;
    const uint8_t *next_in = input;
    uint8_t *next_out = NULL;
    if (!grow(&out, &avail_out, &next_out)) goto oom;
    for (;;) {
        size_t before = avail_out;
        if (!BrotliEncoderCompressStream(c->enc, op, &avail_in, &next_in, &avail_out,
                                         &next_out, NULL)) {
            wi_free(out.data);
            c->healthy = 0;
            return fail("brotli: encoder failed");
        }
        out.used += before - avail_out;
        if (avail_in > 0 || BrotliEncoderHasMoreOutput(c->enc)) {
            if (avail_out == 0 && !grow(&out, &avail_out, &next_out)) goto oom;
            continue;
        }
        break;
    }
    return ok_bytes(out.data, out.used);
oom:
    wi_free(out.data);
    c->healthy = 0;
    return fail("brotli: unable to allocate memory");
}

WI_EXPORT(compressor_process) outcome *compressor_process(compressor *c, const uint8_t *data,
                                                          size_t len) {
    outcome *result = compress_stream(c, BROTLI_OPERATION_PROCESS, data, len);
    wi_free_bytes(data, len);
    return result;
}

WI_EXPORT(compressor_flush) outcome *compressor_flush(compressor *c) {
    return compress_stream(c, BROTLI_OPERATION_FLUSH, NULL, 0);
}

WI_EXPORT(compressor_finish) outcome *compressor_finish(compressor *c) {
    return compress_stream(c, BROTLI_OPERATION_FINISH, NULL, 0);
}

WI_EXPORT(cabi_post_compressor_process) void post_process(outcome *r) { post(r); }
WI_EXPORT(cabi_post_compressor_flush) void post_flush(outcome *r) { post(r); }
WI_EXPORT(cabi_post_compressor_finish) void post_finish(outcome *r) { post(r); }

/* ---- Decompressor ---- */

typedef struct {
    BrotliDecoderState *dec;
    uint8_t *tail;             /* input the decoder has not consumed yet */
    size_t tail_len;
    int healthy;
} decompressor;

WI_EXPORT(decompressor_new) decompressor *decompressor_new(void) {
    decompressor *d = WI_NEW(decompressor);
    d->dec = BrotliDecoderCreateInstance(0, 0, 0);
    if (!d->dec) __builtin_trap();      /* out of memory: a MemoryError-like trap */
    d->healthy = 1;
    return d;
}

WI_EXPORT(decompressor_free) void decompressor_free(decompressor *d) {
    BrotliDecoderDestroyInstance(d->dec);
    wi_free(d->tail);
    wi_free(d);
}

WI_EXPORT(decompressor_process) outcome *decompressor_process(decompressor *d,
                                                              const uint8_t *data, size_t len,
                                                              int64_t limit) {
    outcome *result;
    if (!d->healthy) {
        wi_free_bytes(data, len);
        return fail("brotli: decoder is unhealthy");
    }
    const uint8_t *next_in = data;
    size_t avail_in = len;
    if (d->tail_len > 0) {
        if (len > 0) {
            d->healthy = 0;
            wi_free_bytes(data, len);
            return fail("brotli: decoder process called with data when "
                        "'can_accept_more_data()' is False");
        }
        next_in = d->tail;
        avail_in = d->tail_len;
    }
    buffer out = {0};
    size_t avail_out = 0;
    uint8_t *next_out = NULL;
    BrotliDecoderResult r = BROTLI_DECODER_RESULT_ERROR;
    if (!grow(&out, &avail_out, &next_out)) goto oom;
    for (;;) {
        size_t before = avail_out;
        r = BrotliDecoderDecompressStream(d->dec, &avail_in, &next_in, &avail_out, &next_out,
                                          NULL);
        out.used += before - avail_out;
        if (r == BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT) {
            if ((int64_t)out.size >= limit) break;    /* the caller's output limit */
            if (!grow(&out, &avail_out, &next_out)) goto oom;
            continue;
        }
        break;
    }
    if (r == BROTLI_DECODER_RESULT_ERROR ||
            (r == BROTLI_DECODER_RESULT_SUCCESS && avail_in > 0)) {
        wi_free(out.data);
        out.data = NULL;
        d->healthy = 0;
        result = fail("brotli: decoder failed");
    } else {
        result = ok_bytes(out.data, out.used);
    }
    /* keep what was not consumed (it may point into the old tail or into data) */
    uint8_t *tail = NULL;
    if (avail_in > 0 && result->tag == 0) {
        tail = wi_xmalloc(avail_in);
        memcpy(tail, next_in, avail_in);
    }
    wi_free(d->tail);
    d->tail = tail;
    d->tail_len = tail ? avail_in : 0;
    wi_free_bytes(data, len);
    return result;
oom:
    wi_free(out.data);
    wi_free_bytes(data, len);
    d->healthy = 0;
    return fail("brotli: unable to allocate memory");
}

WI_EXPORT(cabi_post_decompressor_process) void post_decompress(outcome *r) { post(r); }

WI_EXPORT(decompressor_is_finished) outcome *decompressor_is_finished(decompressor *d) {
    if (!d->healthy) return fail("brotli: decoder is unhealthy");
    area.tag = 0;
    area.ptr = (void *)(uintptr_t)BrotliDecoderIsFinished(d->dec);
    return &area;
}

WI_EXPORT(decompressor_can_accept_more_data) outcome *decompressor_can_accept(decompressor *d) {
    if (!d->healthy) return fail("brotli: decoder is unhealthy");
    area.tag = 0;
    area.ptr = (void *)(uintptr_t)(d->tail_len == 0);
    return &area;
}

/* ---- one-shot decompress ---- */

WI_EXPORT(decompress) outcome *decompress(const uint8_t *data, size_t len) {
    BrotliDecoderState *s = BrotliDecoderCreateInstance(0, 0, 0);
    if (!s) {
        wi_free_bytes(data, len);
        return fail("brotli: unable to allocate memory");
    }
    buffer out = {0};
    size_t avail_in = len, avail_out = 0;
    const uint8_t *next_in = data;
    uint8_t *next_out = NULL;
    BrotliDecoderResult r = BROTLI_DECODER_RESULT_ERROR;
    outcome *result;
    if (!grow(&out, &avail_out, &next_out)) goto oom;
    for (;;) {
        size_t before = avail_out;
        r = BrotliDecoderDecompressStream(s, &avail_in, &next_in, &avail_out, &next_out, 0);
        out.used += before - avail_out;
        if (r == BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT) {
            if (!grow(&out, &avail_out, &next_out)) goto oom;
            continue;
        }
        break;
    }
    if (r != BROTLI_DECODER_RESULT_SUCCESS || avail_in > 0) {
        wi_free(out.data);
        result = fail("brotli: decoder failed");
    } else {
        result = ok_bytes(out.data, out.used);
    }
    BrotliDecoderDestroyInstance(s);
    wi_free_bytes(data, len);
    return result;
oom:
    wi_free(out.data);
    BrotliDecoderDestroyInstance(s);
    wi_free_bytes(data, len);
    return fail("brotli: unable to allocate memory");
}

WI_EXPORT(cabi_post_decompress) void post_one_shot(outcome *r) { post(r); }

/* BrotliDecoderVersion as "1.2.1" is the package's __version__ (Python side) */
WI_EXPORT(brotli_version) uint32_t brotli_version(void) { return BrotliDecoderVersion(); }
