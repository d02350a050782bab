/*
 * kernels/native.c -- the compute kernels of kernels.h as a native CPython extension
 * (module `kernelref`), the reference of bench_traps.py.  METH_O: one int argument each.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include "kernels.h"

static int argument(PyObject *arg, uint32_t *n) {
    unsigned long value = PyLong_AsUnsignedLong(arg);
    if (value == (unsigned long)-1 && PyErr_Occurred())
        return -1;
    *n = (uint32_t)value;
    return 0;
}

static PyObject *crc32_rounds(PyObject *self, PyObject *arg) {
    uint32_t n;
    return argument(arg, &n) < 0 ? NULL : PyLong_FromUnsignedLong(kernel_crc32_rounds(n));
}

static PyObject *sieve(PyObject *self, PyObject *arg) {
    uint32_t n;
    return argument(arg, &n) < 0 ? NULL : PyLong_FromUnsignedLong(kernel_sieve(n));
}

static PyObject *matmul(PyObject *self, PyObject *arg) {
    uint32_t n;
    return argument(arg, &n) < 0 ? NULL : PyFloat_FromDouble(kernel_matmul(n));
}

static PyMethodDef methods[] = {
    {"crc32_rounds", crc32_rounds, METH_O, "CRC-32 of a 64 KiB buffer, n times over."},
    {"sieve", sieve, METH_O, "The number of primes below n."},
    {"matmul", matmul, METH_O, "The trace of the product of two n x n matrices."},
    {NULL}
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "kernelref", NULL, 0, methods};

PyMODINIT_FUNC PyInit_kernelref(void) { return PyModule_Create(&module); }
