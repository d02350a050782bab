/*
 * benchref.c -- the native reference of benchmarks/bench_call.py.
 *
 * A minimal CPython extension module, built by the benchmark itself with the running
 * interpreter's headers, so every wasmimport row is compared with what the same work costs
 * when it is written as an ordinary C extension on the same machine, in the same process:
 *
 *   add(a, b)     two C longs in, a long out: the cheapest useful call
 *   nop()         no arguments, returns None: the bare cost of a call
 *   copy_in(buf)  any C-contiguous buffer, memcpy'd into a destination of this module:
 *                 "a plain memcpy", plus the buffer-protocol work a C extension has;
 *                 returns len(buf) + the last byte copied, so the copy cannot be elided
 *                 and the caller can check that all of it arrived
 *   sum_f64(xs)   a list of floats converted into a C double array (PyFloat_AsDouble per
 *                 item, as a C extension taking list[f64] does), then summed
 *
 * All functions use METH_FASTCALL, the calling convention of CPython's own builtins.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

/* copy_in's destination: grown on demand, kept for the life of the process. */
static unsigned char *dest;
static Py_ssize_t dest_size;

static int check_nargs(const char *name, Py_ssize_t nargs, Py_ssize_t expected) {
    if (nargs == expected)
        return 0;
    PyErr_Format(PyExc_TypeError, "%s() takes exactly %zd argument(s) (%zd given)", name,
                 expected, nargs);
    return -1;
}

static PyObject *add(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (check_nargs("add", nargs, 2) < 0)
        return NULL;
    long a = PyLong_AsLong(args[0]);
    if (a == -1 && PyErr_Occurred())
        return NULL;
    long b = PyLong_AsLong(args[1]);
    if (b == -1 && PyErr_Occurred())
        return NULL;
    return PyLong_FromLong((long)((unsigned long)a + (unsigned long)b));
}

static PyObject *nop(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    (void)args;
    if (check_nargs("nop", nargs, 0) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *copy_in(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (check_nargs("copy_in", nargs, 1) < 0)
        return NULL;
    Py_buffer view;
    if (PyObject_GetBuffer(args[0], &view, PyBUF_SIMPLE) < 0)
        return NULL;
    if (view.len > dest_size) {
        unsigned char *bigger = PyMem_RawRealloc(dest, (size_t)view.len);
        if (bigger == NULL) {
            PyBuffer_Release(&view);
            return PyErr_NoMemory();
        }
        dest = bigger;
        dest_size = view.len;
    }
    memcpy(dest, view.buf, (size_t)view.len);
    Py_ssize_t result = view.len + (view.len ? dest[view.len - 1] : 0);
    PyBuffer_Release(&view);
    return PyLong_FromSsize_t(result);
}

static PyObject *sum_f64(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (check_nargs("sum_f64", nargs, 1) < 0)
        return NULL;
    PyObject *list = args[0];
    if (!PyList_Check(list)) {
        PyErr_SetString(PyExc_TypeError, "sum_f64() argument must be a list");
        return NULL;
    }
    Py_ssize_t n = PyList_GET_SIZE(list);
    double *xs = PyMem_Malloc(n ? (size_t)n * sizeof(double) : 1);
    if (xs == NULL)
        return PyErr_NoMemory();
    for (Py_ssize_t i = 0; i < n; i++) {
        xs[i] = PyFloat_AsDouble(PyList_GET_ITEM(list, i));
        if (xs[i] == -1.0 && PyErr_Occurred()) {
            PyMem_Free(xs);
            return NULL;
        }
    }
    double sum = 0.0;
    for (Py_ssize_t i = 0; i < n; i++)
        sum += xs[i];
    PyMem_Free(xs);
    return PyFloat_FromDouble(sum);
}

#define FASTCALL(name) {#name, (PyCFunction)(void (*)(void))name, METH_FASTCALL, NULL}

static PyMethodDef methods[] = {
    FASTCALL(add), FASTCALL(nop), FASTCALL(copy_in), FASTCALL(sum_f64), {NULL, NULL, 0, NULL},
};

static struct PyModuleDef benchref_module = {
    PyModuleDef_HEAD_INIT, "benchref", "Native reference functions for bench_call.py.", -1,
    methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit_benchref(void) { return PyModule_Create(&benchref_module); }
