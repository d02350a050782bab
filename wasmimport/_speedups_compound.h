/*
 * The compiled call path's compound types: tuples, records, lists of anything, options,
 * results, variants, enums, flags, char and cstr (see wasmimport/_compound.py, their pure twin and the
 * source of every error message).  Included by _speedups.c after guest_alloc().
 *
 * A type is a tree of Nodes, built once from the spec wasmimport._binding.node_spec()
 * makes.  An argument is lowered either as the caller gave it (when node_fast() says C
 * understands it exactly: exact tuples, lists, None, enum members, exact ints and floats,
 * str) or, for anything else, as the pure converter converted it (which raises the labelled
 * TypeError for a bad one) -- the `conv` flag below says which form a value is in.
 * Lifting that meets anything wrong (a bad discriminant, invalid UTF-8, a pointer out of
 * bounds, the error case of a result) declines: it returns NULL with no exception set, and
 * the pure lift then raises the Trap or GuestError.
 */

enum { K_SCALAR, K_STR, K_BYTES, K_CSTR, K_NLIST, K_LIST, K_TUPLE, K_OPTION, K_RESULT,
       K_ENUM, K_FLAGS, K_CHAR, K_VARIANT, K_KINDS };
static const char *const kind_names[K_KINDS] = {
    "scalar", "str", "bytes", "cstr", "nlist", "list", "tuple", "option", "result", "enum",
    "flags", "char", "variant"
};

typedef struct Node {
    int kind;
    int t;                     /* K_SCALAR: its T_*; K_NLIST: the element's T_* */
    uint32_t size, align;      /* in memory */
    int nflat;
    const char *flat;          /* core types when flattened: 'i' i32, 'I' i64, 'f', 'd' */
    int n;                     /* tuple fields, variant cases */
    struct Node **sub;         /* fields / cases (NULL: a case without payload) / element */
    uint32_t *offsets;         /* tuple field offsets */
    uint32_t payload_offset;   /* variants: where the payload is */
    uint32_t disc;             /* variants: bytes of the discriminant */
    PyObject *cls;             /* borrowed from the spec: record class, flags class, the
                                  tuple of enum members, or of a variant's case classes */
    uint32_t mask;             /* flags: the known bits */
} Node;

static void node_free(Node *n) {
    if (n == NULL)
        return;
    for (int k = 0; n->sub && k < n->n; k++)
        node_free(n->sub[k]);
    PyMem_Free(n->sub);
    PyMem_Free(n->offsets);
    PyMem_Free(n);
}

static int type_code(PyObject *name);

/* A node from its spec: (kind, flat, size, align, ...) -- see node_spec() in _binding.py. */
static Node *node_new(PyObject *spec) {
    if (!PyTuple_Check(spec) || PyTuple_GET_SIZE(spec) < 4
            || !PyUnicode_Check(PyTuple_GET_ITEM(spec, 0))
            || !PyUnicode_Check(PyTuple_GET_ITEM(spec, 1))) {
        PyErr_Format(PyExc_ValueError, "bad type node %R", spec);
        return NULL;
    }
    PyObject *kind_name = PyTuple_GET_ITEM(spec, 0), *flat = PyTuple_GET_ITEM(spec, 1);
    unsigned long size = PyLong_AsUnsignedLong(PyTuple_GET_ITEM(spec, 2));
    unsigned long align = PyLong_AsUnsignedLong(PyTuple_GET_ITEM(spec, 3));
    if (PyErr_Occurred())
        return NULL;
    Node *n = PyMem_Calloc(1, sizeof(Node));
    if (n == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    n->kind = -1;
    for (int k = 0; k < K_KINDS; k++)
        if (PyUnicode_CompareWithASCIIString(kind_name, kind_names[k]) == 0)
            n->kind = k;
    Py_ssize_t nflat;
    n->flat = PyUnicode_AsUTF8AndSize(flat, &nflat);   /* kept alive by the spec */
    n->nflat = (int)nflat;
    n->size = (uint32_t)size;
    n->align = align ? (uint32_t)align : 1;
    PyObject *extra = PyTuple_GET_SIZE(spec) > 4 ? PyTuple_GET_ITEM(spec, 4) : NULL;
    switch (n->kind) {
    case K_SCALAR:
    case K_NLIST:
        if (extra == NULL || (n->t = type_code(extra)) < 0)
            goto error;
        break;
    case K_STR: case K_BYTES: case K_CSTR: case K_CHAR:
        break;
    case K_LIST: case K_TUPLE: case K_OPTION: case K_RESULT: case K_VARIANT: {
        /* K_LIST: (element,); K_TUPLE: (fields), (offsets), cls; variants: (cases), offset,
         * discriminant size (and K_VARIANT: its case classes) */
        PyObject *subs = n->kind == K_LIST ? NULL : extra;
        if (n->kind == K_LIST) {
            n->n = 1;
        } else {
            if (subs == NULL || !PyTuple_Check(subs))
                goto bad;
            n->n = (int)PyTuple_GET_SIZE(subs);
        }
        n->sub = PyMem_Calloc(n->n ? n->n : 1, sizeof(Node *));
        if (n->sub == NULL) {
            PyErr_NoMemory();
            goto error;
        }
        for (int k = 0; k < n->n; k++) {
            PyObject *s = subs ? PyTuple_GET_ITEM(subs, k) : extra;
            if (s != Py_None && (n->sub[k] = node_new(s)) == NULL)
                goto error;
        }
        if (n->kind == K_TUPLE) {
            PyObject *offsets = PyTuple_GET_SIZE(spec) > 5 ? PyTuple_GET_ITEM(spec, 5) : NULL;
            if (offsets == NULL || !PyTuple_Check(offsets) || PyTuple_GET_SIZE(offsets) != n->n
                    || PyTuple_GET_SIZE(spec) < 7)
                goto bad;
            n->offsets = PyMem_Calloc(n->n ? n->n : 1, sizeof(uint32_t));
            if (n->offsets == NULL) {
                PyErr_NoMemory();
                goto error;
            }
            for (int k = 0; k < n->n; k++)
                n->offsets[k] = (uint32_t)PyLong_AsUnsignedLong(PyTuple_GET_ITEM(offsets, k));
            PyObject *cls = PyTuple_GET_ITEM(spec, 6);
            n->cls = cls == Py_None ? NULL : cls;
        } else if (n->kind != K_LIST) {
            if (PyTuple_GET_SIZE(spec) < 7)
                goto bad;
            n->payload_offset = (uint32_t)PyLong_AsUnsignedLong(PyTuple_GET_ITEM(spec, 5));
            n->disc = (uint32_t)PyLong_AsUnsignedLong(PyTuple_GET_ITEM(spec, 6));
            if (n->kind == K_VARIANT) {
                if (PyTuple_GET_SIZE(spec) < 8 || !PyTuple_Check(PyTuple_GET_ITEM(spec, 7))
                        || PyTuple_GET_SIZE(PyTuple_GET_ITEM(spec, 7)) != n->n)
                    goto bad;
                n->cls = PyTuple_GET_ITEM(spec, 7);
            }
        }
        break;
    }
    case K_ENUM:
        if (extra == NULL || !PyTuple_Check(extra))
            goto bad;
        n->cls = extra;
        break;
    case K_FLAGS:
        if (extra == NULL || PyTuple_GET_SIZE(spec) < 6)
            goto bad;
        n->cls = extra;
        n->mask = (uint32_t)PyLong_AsUnsignedLong(PyTuple_GET_ITEM(spec, 5));
        break;
    default:
        goto bad;
    }
    if (PyErr_Occurred())
        goto error;
    return n;
bad:
    PyErr_Format(PyExc_ValueError, "bad type node %R", spec);
error:
    node_free(n);
    return NULL;
}

/* True when lowering or lifting a value of this type touches guest memory. */
static int node_uses_memory(const Node *n) {
    switch (n->kind) {
    case K_STR: case K_BYTES: case K_CSTR: case K_NLIST: case K_LIST:
        return 1;
    case K_TUPLE: case K_OPTION: case K_RESULT: case K_VARIANT:
        for (int k = 0; k < n->n; k++)
            if (n->sub[k] && node_uses_memory(n->sub[k]))
                return 1;
        return 0;
    default:
        return 0;
    }
}

/* ---- argument checks: can C lower this value as it is? (no exception is left set) ---- */

static int node_fast(const Node *n, PyObject *o);

static int items_fast(const Node *elem, PyObject *o) {
    if (!PyList_CheckExact(o) && !PyTuple_CheckExact(o))
        return 0;
    Py_ssize_t count = PySequence_Fast_GET_SIZE(o);
    PyObject **items = PySequence_Fast_ITEMS(o);
    for (Py_ssize_t k = 0; k < count; k++)
        if (!node_fast(elem, items[k]))
            return 0;
    return 1;
}

static int utf8_fast(PyObject *o, const char **data, Py_ssize_t *len) {
    if (!PyUnicode_Check(o))
        return 0;
    *data = PyUnicode_AsUTF8AndSize(o, len);
    if (*data == NULL) {      /* lone surrogates: the pure converter words the error */
        PyErr_Clear();
        return 0;
    }
    return 1;
}

static Py_ssize_t enum_index(const Node *n, PyObject *o) {
    Py_ssize_t count = PyTuple_GET_SIZE(n->cls);
    for (Py_ssize_t k = 0; k < count; k++)
        if (PyTuple_GET_ITEM(n->cls, k) == o)
            return k;
    return -1;
}

/* A char as given: a str of one character that is a Unicode scalar value (no surrogate),
 * or -1. */
static int32_t char_fast(PyObject *o) {
    if (!PyUnicode_Check(o) || PyUnicode_GET_LENGTH(o) != 1)
        return -1;
    Py_UCS4 code = PyUnicode_READ_CHAR(o, 0);
    return code >= 0xD800 && code <= 0xDFFF ? -1 : (int32_t)code;
}

/* A char from the guest, or NULL (declined: the pure lift raises the Trap) when it is a
 * surrogate or past U+10FFFF. */
static PyObject *char_of(uint32_t code) {
    if (code >= 0x110000 || (code >= 0xD800 && code <= 0xDFFF))
        return NULL;
    return PyUnicode_FromOrdinal((int)code);
}

/* The case a variant's argument is (its exact class among the case classes), or -1. */
static Py_ssize_t case_index(const Node *n, PyObject *o) {
    for (Py_ssize_t k = 0; k < n->n; k++)
        if ((PyObject *)Py_TYPE(o) == PyTuple_GET_ITEM(n->cls, k))
            return k;
    return -1;
}

/* A case's payload, borrowed: the immutable case object holds it in its `value` slot. */
static PyObject *case_payload(PyObject *o) {
    PyObject *payload = PyObject_GetAttrString(o, "value");
    Py_XDECREF(payload);
    return payload;
}

static int node_fast(const Node *n, PyObject *o) {
    const char *data;
    Py_ssize_t len;
    switch (n->kind) {
    case K_SCALAR: {
        if (n->t == T_BOOL)
            return PyBool_Check(o);
        int64_t i;
        double f;
        return scalar_fast(n->t, o, &i, &f);
    }
    case K_STR:
        return utf8_fast(o, &data, &len);
    case K_BYTES:
        return PyBytes_CheckExact(o);
    case K_CSTR:
        return o == Py_None || (utf8_fast(o, &data, &len) && memchr(data, 0, len) == NULL);
    case K_NLIST: {
        if (!PyList_CheckExact(o) && !PyTuple_CheckExact(o))
            return 0;
        Py_ssize_t count = PySequence_Fast_GET_SIZE(o);
        PyObject **items = PySequence_Fast_ITEMS(o);
        for (Py_ssize_t k = 0; k < count; k++) {
            int64_t i;
            double f;
            if (!scalar_fast(n->t, items[k], &i, &f))
                return 0;
        }
        return 1;
    }
    case K_LIST:
        return items_fast(n->sub[0], o);
    case K_TUPLE:
        if (!PyTuple_Check(o) || PyTuple_GET_SIZE(o) != n->n)
            return 0;
        for (int k = 0; k < n->n; k++)
            if (!node_fast(n->sub[k], PyTuple_GET_ITEM(o, k)))
                return 0;
        return 1;
    case K_OPTION:
        return o == Py_None || node_fast(n->sub[1], o);
    case K_ENUM:
        return enum_index(n, o) >= 0;
    case K_CHAR:
        return char_fast(o) >= 0;
    case K_VARIANT: {
        Py_ssize_t k = case_index(n, o);
        if (k < 0)
            return 0;
        if (n->sub[k] == NULL)
            return 1;
        PyObject *payload = case_payload(o);
        if (payload == NULL) {
            PyErr_Clear();
            return 0;
        }
        return node_fast(n->sub[k], payload);
    }
    default:        /* flags, results: the pure converter */
        return 0;
    }
}

/* ---- lowering (the store lock is held) ---- */

/* the widest flat payload of a variant: a parameter's flat values never exceed 16 */
#define MAX_NODE_FLAT 16

static int changed(void) {
    PyErr_SetString(PyExc_RuntimeError, "wasmimport: an argument changed while it was "
                    "being passed to the guest");
    return -1;
}

/* The core value of a scalar: as given (conv = 0) or as its converter returned it. */
static int node_scalar(const Node *n, PyObject *o, int conv, int64_t *i, double *f) {
    if (n->t == T_BOOL) {
        int truth = PyObject_IsTrue(o);
        *i = truth;
        return truth < 0 ? -1 : 0;
    }
    if (conv)
        return scalar_core(n->t, o, i, f);
    return scalar_fast(n->t, o, i, f) ? 0 : changed();
}

static int node_store(FunctionObject *fn, const Node *n, PyObject *o, int conv, uint32_t ptr,
                      Owned *owned);

/* A value that lives in its own guest allocation (str, bytes, lists): its (ptr, count). */
static int node_block(FunctionObject *fn, const Node *n, PyObject *o, int conv,
                      uint32_t pair[2], Owned *owned) {
    if (n->kind == K_LIST || (n->kind == K_NLIST && !conv)) {
        const Node *elem = n->kind == K_LIST ? n->sub[0] : NULL;
        uint32_t stride = elem ? elem->size : (uint32_t)type_sizes[n->t];
        uint32_t align = elem ? elem->align : stride;
        if (!PyList_Check(o) && !PyTuple_Check(o))
            return changed();
        Py_ssize_t count = PySequence_Fast_GET_SIZE(o);
        if ((uint64_t)count * stride > 0xFFFFFFFFu) {
            PyErr_SetString(PyExc_OverflowError, "list does not fit in 32-bit guest memory");
            return -1;
        }
        uint32_t ptr;
        if (guest_alloc(fn, align, (Py_ssize_t)count * stride, &ptr, owned) < 0)
            return -1;
        for (Py_ssize_t k = 0; k < count; k++) {
            /* guest code ran (the allocator): re-read the sequence, hold the item */
            if (k >= PySequence_Fast_GET_SIZE(o))
                return changed();
            PyObject *item = Py_NewRef(PySequence_Fast_ITEMS(o)[k]);
            int r;
            if (elem)
                r = node_store(fn, elem, item, conv, ptr + (uint32_t)k * stride, owned);
            else {
                int64_t i = 0;
                double f = 0;
                r = scalar_fast(n->t, item, &i, &f) ? 0 : changed();
                if (r == 0)
                    store_scalar((char *)fn->guest->base + ptr + k * stride, n->t, i, f);
            }
            Py_DECREF(item);
            if (r < 0)
                return -1;
        }
        pair[0] = ptr;
        pair[1] = (uint32_t)count;
        return 0;
    }
    /* str, bytes, cstr and converted numeric lists: bytes to copy */
    const char *data;
    Py_ssize_t len;
    Py_buffer view;
    int has_view = 0;
    if (o == Py_None) {                     /* a NULL cstr */
        pair[0] = pair[1] = 0;
        return 0;
    }
    if (n->kind == K_STR && !conv) {
        if (!utf8_fast(o, &data, &len))
            return changed();
    } else if (n->kind == K_CSTR && !conv) {
        if (!utf8_fast(o, &data, &len))
            return changed();
        len++;                              /* and its NUL */
    } else {
        if (PyObject_GetBuffer(o, &view, PyBUF_C_CONTIGUOUS) < 0)
            return -1;
        has_view = 1;
        data = view.buf;
        len = view.len;
    }
    uint32_t ptr;
    int r = guest_alloc(fn, n->kind == K_NLIST ? (uint32_t)type_sizes[n->t] : 1, len, &ptr,
                        owned);
    if (r == 0 && len)
        memcpy(fn->guest->base + ptr, data, len);
    if (has_view)
        PyBuffer_Release(&view);
    pair[0] = ptr;
    pair[1] = (uint32_t)(n->kind == K_NLIST ? len / type_sizes[n->t] : len);
    return r;
}

/* The payload of an option or the case of a result, and its case index. */
static int node_case(const Node *n, PyObject *o, int conv, PyObject **payload) {
    if (n->kind == K_OPTION) {
        if (o == Py_None) {
            *payload = NULL;
            return 0;
        }
        if (!conv) {
            *payload = o;
            return 1;
        }
        if (!PyTuple_Check(o) || PyTuple_GET_SIZE(o) != 1)
            return changed();
        *payload = PyTuple_GET_ITEM(o, 0);
        return 1;
    }
    if (n->kind == K_VARIANT && !conv) {      /* a case object, as node_fast saw it */
        Py_ssize_t k = case_index(n, o);
        if (k < 0)
            return changed();
        if (n->sub[k] == NULL)
            *payload = NULL;
        else if ((*payload = case_payload(o)) == NULL)
            return -1;
        return (int)k;
    }
    /* a result or variant, converted: (index, value) */
    if (!PyTuple_Check(o) || PyTuple_GET_SIZE(o) != 2)
        return changed();
    long index = PyLong_AsLong(PyTuple_GET_ITEM(o, 0));
    if (index < 0 || index >= n->n)
        return PyErr_Occurred() ? -1 : changed();
    *payload = PyTuple_GET_ITEM(o, 1);
    return (int)index;
}

/* An enum's or flags' integer or a char's code, as given or converted. */
static int node_int(const Node *n, PyObject *o, int conv, uint32_t *out) {
    if (n->kind == K_ENUM && !conv) {
        Py_ssize_t index = enum_index(n, o);
        if (index < 0)
            return changed();
        *out = (uint32_t)index;
        return 0;
    }
    if (n->kind == K_CHAR && !conv) {
        int32_t code = char_fast(o);
        if (code < 0)
            return changed();
        *out = (uint32_t)code;
        return 0;
    }
    unsigned long v = PyLong_AsUnsignedLong(o);
    if (v == (unsigned long)-1 && PyErr_Occurred())
        return -1;
    *out = (uint32_t)v;
    return 0;
}

static void store_uint(uint8_t *dst, uint32_t size, uint32_t v) {
    if (size == 1) dst[0] = (uint8_t)v;
    else if (size == 2) { uint16_t x = (uint16_t)v; memcpy(dst, &x, 2); }
    else memcpy(dst, &v, 4);
}

static uint32_t load_uint(const uint8_t *src, uint32_t size) {
    if (size == 1) return src[0];
    if (size == 2) { uint16_t x; memcpy(&x, src, 2); return x; }
    uint32_t x;
    memcpy(&x, src, 4);
    return x;
}

/* Lower into flat core values (Canonical ABI lower_flat). */
static int node_lower(FunctionObject *fn, const Node *n, PyObject *o, int conv, RawVal *out,
                      Owned *owned) {
    switch (n->kind) {
    case K_SCALAR: {
        int64_t i = 0;
        double f = 0;
        if (node_scalar(n, o, conv, &i, &f) < 0)
            return -1;
        write_slot(out, n->t, i, f);
        return 0;
    }
    case K_STR: case K_BYTES: case K_NLIST: case K_LIST: {
        uint32_t pair[2];
        if (node_block(fn, n, o, conv, pair, owned) < 0)
            return -1;
        out[0].i32 = (int32_t)pair[0];
        out[1].i32 = (int32_t)pair[1];
        return 0;
    }
    case K_CSTR: {
        uint32_t pair[2];
        if (node_block(fn, n, o, conv, pair, owned) < 0)
            return -1;
        out[0].i32 = (int32_t)pair[0];
        return 0;
    }
    case K_TUPLE: {
        if (!PyTuple_Check(o) || PyTuple_GET_SIZE(o) != n->n)
            return changed();
        int pos = 0;
        for (int k = 0; k < n->n; k++) {
            if (node_lower(fn, n->sub[k], PyTuple_GET_ITEM(o, k), conv, out + pos, owned) < 0)
                return -1;
            pos += n->sub[k]->nflat;
        }
        return 0;
    }
    case K_OPTION: case K_RESULT: case K_VARIANT: {
        PyObject *payload;
        int index = node_case(n, o, conv, &payload);
        if (index < 0)
            return -1;
        memset(out, 0, sizeof(RawVal) * n->nflat);
        out[0].i32 = index;
        const Node *c = n->sub[index];
        if (c == NULL)
            return 0;
        RawVal tmp[MAX_NODE_FLAT];
        memset(tmp, 0, sizeof tmp);
        if (c->nflat > MAX_NODE_FLAT) {
            PyErr_SetString(PyExc_SystemError, "wasmimport: variant payload too wide");
            return -1;
        }
        if (node_lower(fn, c, payload, conv, tmp, owned) < 0)
            return -1;
        for (int k = 0; k < c->nflat; k++) {
            /* the join: an i32 or f32 in an i64 slot is zero-extended; others keep bits */
            if (n->flat[1 + k] == 'I' && (c->flat[k] == 'i' || c->flat[k] == 'f'))
                out[1 + k].i64 = (int64_t)(uint32_t)tmp[k].i32;
            else
                out[1 + k] = tmp[k];
        }
        return 0;
    }
    default: {     /* enum, flags, char */
        uint32_t v;
        if (node_int(n, o, conv, &v) < 0)
            return -1;
        out[0].i32 = (int32_t)v;
        return 0;
    }
    }
}

/* Store into guest memory at ptr (Canonical ABI store); allocations never move memory. */
static int node_store(FunctionObject *fn, const Node *n, PyObject *o, int conv, uint32_t ptr,
                      Owned *owned) {
    switch (n->kind) {
    case K_SCALAR: {
        int64_t i = 0;
        double f = 0;
        if (node_scalar(n, o, conv, &i, &f) < 0)
            return -1;
        store_scalar((char *)fn->guest->base + ptr, n->t, i, f);
        return 0;
    }
    case K_STR: case K_BYTES: case K_NLIST: case K_LIST: case K_CSTR: {
        uint32_t pair[2];
        if (node_block(fn, n, o, conv, pair, owned) < 0)
            return -1;
        memcpy(fn->guest->base + ptr, pair, n->kind == K_CSTR ? 4 : 8);
        return 0;
    }
    case K_TUPLE:
        if (!PyTuple_Check(o) || PyTuple_GET_SIZE(o) != n->n)
            return changed();
        for (int k = 0; k < n->n; k++)
            if (node_store(fn, n->sub[k], PyTuple_GET_ITEM(o, k), conv, ptr + n->offsets[k],
                           owned) < 0)
                return -1;
        return 0;
    case K_OPTION: case K_RESULT: case K_VARIANT: {
        PyObject *payload;
        int index = node_case(n, o, conv, &payload);
        if (index < 0)
            return -1;
        store_uint(fn->guest->base + ptr, n->disc, (uint32_t)index);
        const Node *c = n->sub[index];
        return c == NULL ? 0 : node_store(fn, c, payload, conv, ptr + n->payload_offset, owned);
    }
    default: {
        uint32_t v;
        if (node_int(n, o, conv, &v) < 0)
            return -1;
        store_uint(fn->guest->base + ptr, n->size, v);
        return 0;
    }
    }
}

/* ---- lifting: NULL without an exception means "declined" (see the top) ---- */

/* A str at a guest address, NUL-terminated; None for NULL. */
static PyObject *cstr_at(FunctionObject *fn, uint32_t ptr) {
    if (ptr == 0)
        Py_RETURN_NONE;
    GuestObject *g = fn->guest;
    if (!guest_contains(g, ptr, 1))
        return NULL;
    const char *start = (const char *)g->base + ptr;
    const char *end = memchr(start, 0, g->size - ptr);
    if (end == NULL)
        return NULL;
    PyObject *s = PyUnicode_DecodeUTF8(start, end - start, NULL);
    if (s == NULL)
        PyErr_Clear();
    return s;
}

static PyObject *flags_of(const Node *n, uint32_t bits) {
    PyObject *v = PyLong_FromUnsignedLong(bits & n->mask);
    if (v == NULL)
        return NULL;
    PyObject *member = PyObject_CallOneArg(n->cls, v);
    Py_DECREF(v);
    return member;
}

/* A variant's case: an instance of its case class holding `payload` (stolen; NULL for a
 * case without one). */
static PyObject *case_of(const Node *n, uint32_t index, PyObject *payload) {
    PyObject *member = PyObject_CallOneArg(PyTuple_GET_ITEM(n->cls, index),
                                           payload ? payload : Py_None);
    Py_XDECREF(payload);
    return member;
}

static PyObject *enum_of(const Node *n, uint32_t index) {
    if (index >= (uint32_t)PyTuple_GET_SIZE(n->cls))
        return NULL;
    return Py_NewRef(PyTuple_GET_ITEM(n->cls, index));
}

/* A tuple of `items` (stolen), as an instance of the record class when there is one. */
static PyObject *as_record(const Node *n, PyObject *items) {
    if (items == NULL || n->cls == NULL)
        return items;
    PyObject *args = PyTuple_Pack(1, items);
    Py_DECREF(items);
    if (args == NULL)
        return NULL;
    PyObject *record = PyTuple_Type.tp_new((PyTypeObject *)n->cls, args, NULL);
    Py_DECREF(args);
    return record;
}

/* A result of one flat core value (Canonical ABI lift_flat; wider results are loaded). */
static PyObject *node_lift_flat(FunctionObject *fn, const Node *n, const RawVal *v) {
    switch (n->kind) {
    case K_SCALAR:
        return lift_scalar(n->t, v);
    case K_CSTR:
        return cstr_at(fn, (uint32_t)v->i32);
    case K_ENUM:
        return enum_of(n, (uint32_t)v->i32);
    case K_CHAR:
        return char_of((uint32_t)v->i32);
    case K_FLAGS:
        return flags_of(n, (uint32_t)v->i32);
    case K_OPTION: case K_RESULT: {   /* result[None, None]: only the discriminant */
        uint32_t index = (uint32_t)v->i32;
        if (index >= (uint32_t)n->n || (n->kind == K_RESULT && index == 1) || n->sub[index])
            return NULL;      /* a bad discriminant, or an error: the pure lift raises */
        Py_RETURN_NONE;
    }
    case K_VARIANT: {  /* cases without payloads: only the discriminant */
        uint32_t index = (uint32_t)v->i32;
        if (index >= (uint32_t)n->n || n->sub[index])
            return NULL;
        return case_of(n, index, NULL);
    }
    case K_TUPLE: {    /* of one field */
        PyObject *item = node_lift_flat(fn, n->sub[0], v);
        if (item == NULL)
            return NULL;
        PyObject *items = PyTuple_Pack(1, item);
        Py_DECREF(item);
        return as_record(n, items);
    }
    default:
        PyErr_SetString(PyExc_SystemError, "wasmimport: a wide type lifted flat");
        return NULL;
    }
}

/* Load from guest memory at ptr; the caller checked [ptr, ptr + n->size) is inside. */
static PyObject *node_load(FunctionObject *fn, const Node *n, uint32_t ptr) {
    GuestObject *g = fn->guest;
    const uint8_t *src = g->base + ptr;
    switch (n->kind) {
    case K_SCALAR: {
        RawVal v;
        memset(&v, 0, sizeof v);
        memcpy(&v, src, n->size);
        return lift_scalar(n->t, &v);
    }
    case K_CSTR: {
        uint32_t p;
        memcpy(&p, src, 4);
        return cstr_at(fn, p);
    }
    case K_STR: case K_BYTES: case K_NLIST: case K_LIST: {
        uint32_t pair[2];
        memcpy(pair, src, 8);
        if (n->kind != K_LIST)
            return lift_block(g, n->kind == K_STR ? T_STR : n->kind == K_BYTES ? T_BYTES
                              : T_LIST, n->t, pair);
        const Node *elem = n->sub[0];
        uint32_t stride = elem->size;
        if (pair[0] % elem->align
                || !guest_contains(g, pair[0], (uint64_t)pair[1] * stride))
            return NULL;
        PyObject *list = PyList_New(pair[1]);
        if (list == NULL)
            return NULL;
        for (uint32_t k = 0; k < pair[1]; k++) {
            PyObject *item = node_load(fn, elem, pair[0] + k * stride);
            if (item == NULL) {
                Py_DECREF(list);
                return NULL;
            }
            PyList_SET_ITEM(list, k, item);
        }
        return list;
    }
    case K_TUPLE: {
        PyObject *items = PyTuple_New(n->n);
        if (items == NULL)
            return NULL;
        for (int k = 0; k < n->n; k++) {
            PyObject *item = node_load(fn, n->sub[k], ptr + n->offsets[k]);
            if (item == NULL) {
                Py_DECREF(items);
                return NULL;
            }
            PyTuple_SET_ITEM(items, k, item);
        }
        return as_record(n, items);
    }
    case K_OPTION: case K_RESULT: {
        uint32_t index = load_uint(src, n->disc);
        if (index >= (uint32_t)n->n || (n->kind == K_RESULT && index == 1))
            return NULL;         /* a bad discriminant, or an error: the pure lift raises */
        const Node *c = n->sub[index];
        if (c == NULL)
            Py_RETURN_NONE;
        return node_load(fn, c, ptr + n->payload_offset);
    }
    case K_VARIANT: {
        uint32_t index = load_uint(src, n->disc);
        if (index >= (uint32_t)n->n)
            return NULL;         /* a bad discriminant: the pure lift raises */
        const Node *c = n->sub[index];
        PyObject *payload = NULL;
        if (c != NULL && (payload = node_load(fn, c, ptr + n->payload_offset)) == NULL)
            return NULL;
        return case_of(n, index, payload);
    }
    case K_ENUM:
        return enum_of(n, load_uint(src, n->size));
    case K_CHAR:
        return char_of(load_uint(src, 4));
    default:
        return flags_of(n, load_uint(src, n->size));
    }
}
