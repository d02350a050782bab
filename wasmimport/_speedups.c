/*
 * wasmimport._speedups -- the compiled call path.
 *
 * A bound wasm export becomes a `Function`: a vectorcall object that checks and converts
 * its Python arguments, lowers them into guest memory, calls the export through the
 * engine's unchecked C entry point (for wasmtime: wasmtime_func_call_unchecked), and lifts
 * the result, all in C.  Every decision is taken once, when the function is bound; the
 * call only runs the conversions.
 *
 * The extension links against nothing but Python: the backend hands over the addresses of
 * the engine's C functions (`Store`), so no engine headers or import libraries are needed
 * to build it.
 *
 * Errors have one source of truth, the pure-Python call path (`wasmimport._binding`,
 * `wasmimport._types`).  The C code handles the common case; whenever it meets anything
 * else -- an argument it does not convert itself, an argument-binding problem, a guest
 * pointer that fails a check -- it calls back into that Python code, which either produces
 * the value or raises the exact error the pure path raises.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pythread.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#if PY_VERSION_HEX < 0x030B0000
#include <longintrepr.h>
#endif
#ifdef _WIN32
#include <windows.h>
#define THREAD_ID() ((unsigned long)GetCurrentThreadId())
#include <process.h>
#define getpid _getpid
#else
#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>
#define THREAD_ID() ((unsigned long)pthread_self())
#endif

#if PY_BIG_ENDIAN
#error "the compiled call path assumes a little-endian host (wasm memory is little-endian)"
#endif

/* ---------------------------------------------------------------- engine entry points */

/* wasmtime_val_raw_t: a 16-byte union; the first bytes hold the scalar */
typedef union {
    int32_t i32;
    int64_t i64;
    float f32;
    double f64;
    unsigned char bytes[16];
} RawVal;

typedef void *(*call_fn)(void *ctx, const void *func, RawVal *vals, size_t nvals,
                         void **trap);
typedef uint8_t *(*memory_data_fn)(const void *ctx, const void *memory);
typedef size_t (*memory_size_fn)(const void *ctx, const void *memory);

/* an exported item as the engine describes it (a wasmtime_func_t / wasmtime_memory_t) */
#define HANDLE_SIZE 56
typedef struct {
    unsigned char bytes[HANDLE_SIZE];
} Handle;

/* ---------------------------------------------------------------- type codes */

/* T_BUFFER: wasmimport's `buffer`, copied back after the call; T_NODE: a compound type,
 * described by a tree of Nodes (see _speedups_compound.h) */
enum {
    T_I8, T_I16, T_I32, T_I64, T_U8, T_U16, T_U32, T_U64, T_F32, T_F64, T_BOOL,
    T_STR, T_BYTES, T_LIST, T_BUFFER, T_NODE, T_COUNT
};
static const char *const type_names[T_COUNT] = {
    "i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64", "f32", "f64", "bool",
    "str", "bytes", "list", "buffer", "node"
};
/* size of a scalar in memory (also a list element's size and alignment) */
static const int type_sizes[T_COUNT] = {1, 2, 4, 8, 1, 2, 4, 8, 4, 8, 1, 8, 8, 8, 8, 0};

#define IS_BUFFER(t) ((t) >= T_STR && (t) <= T_BUFFER)
#define HOLDS(t) (IS_BUFFER(t) || (t) == T_NODE)   /* its Arg may own a view or object */
#define CORE_IS_I64(t) ((t) == T_I64 || (t) == T_U64)

/* the smallest double that rounds to infinity as an f32 (FLT_MAX plus half an ulp) */
static const double F32_OVERFLOW = 340282356779733661637539395458142568448.0;

/* the range of each integer type (u64: see scalar_fast) */
static const int64_t type_lo[T_COUNT] = {INT8_MIN, INT16_MIN, INT32_MIN, INT64_MIN};
static const int64_t type_hi[T_COUNT] = {INT8_MAX, INT16_MAX, INT32_MAX, INT64_MAX,
                                         UINT8_MAX, UINT16_MAX, UINT32_MAX, INT64_MAX};

/* ================================================================= Module state */

/*
 * The extension keeps no Python object in C globals: its types are heap types made per
 * module object, so every interpreter (subinterpreters with their own GIL included) has its
 * own.  What is process-wide -- the watchdog thread and the engines it ticks -- touches no
 * Python object and is guarded by its own lock (see "The watchdog").
 */
typedef struct {
    PyTypeObject *Engine_Type;
    PyTypeObject *Store_Type;
    PyTypeObject *Region_Type;
    PyTypeObject *Host_Type;
    PyTypeObject *Guest_Type;
    PyTypeObject *Function_Type;
} ModuleState;

static struct PyModuleDef speedups_module;

/* The state of the module that made `type` (one of the extension's own types). */
static inline ModuleState *type_state(PyTypeObject *type) {
    return (ModuleState *)PyType_GetModuleState(type);
}

/* tp_dealloc's last step for an instance of a heap type: its type loses a reference. */
static void free_instance(PyObject *self) {
    PyTypeObject *type = Py_TYPE(self);
    type->tp_free(self);
    Py_DECREF(type);
}

static int watch(void *engine, void (*increment)(void *));
static void unwatch(void *engine);

/* ================================================================= Engine */

/*
 * An engine, owned: watched by the watchdog from creation and deleted when the last store
 * made from it is gone (stores hold their engine), never from a finalizer that could run
 * while something still uses it.
 */
typedef struct {
    PyObject_HEAD
    void *engine;
    void (*delete_)(void *engine);
} EngineObject;

static PyObject *Engine_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"engine", "increment_epoch", "delete", NULL};
    unsigned long long engine, increment, delete_;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "$KKK:Engine", kwlist, &engine, &increment,
                                     &delete_))
        return NULL;
    if (!engine || !increment || !delete_) {
        PyErr_SetString(PyExc_ValueError, "Engine() needs engine, increment_epoch and delete");
        return NULL;
    }
    EngineObject *e = (EngineObject *)type->tp_alloc(type, 0);
    if (e == NULL)
        return NULL;
    if (watch((void *)(uintptr_t)engine, (void (*)(void *))(uintptr_t)increment) < 0) {
        Py_DECREF(e);
        return NULL;
    }
    e->engine = (void *)(uintptr_t)engine;
    e->delete_ = (void (*)(void *))(uintptr_t)delete_;
    return (PyObject *)e;
}

static void Engine_dealloc(EngineObject *e) {
    if (e->engine) {
        unwatch(e->engine);        /* the watchdog is done with it before it goes */
        e->delete_(e->engine);
    }
    free_instance((PyObject *)e);
}

static PyType_Slot Engine_slots[] = {
    {Py_tp_doc, "An engine, ticked by the watchdog while it lives; deleted with the last "
                "store made from it."},
    {Py_tp_new, Engine_new},
    {Py_tp_dealloc, Engine_dealloc},
    {0, NULL}
};

static PyType_Spec Engine_spec = {
    "wasmimport._speedups.Engine", sizeof(EngineObject), 0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE, Engine_slots
};

/* ================================================================= Store */

/*
 * One engine store (one instance), owned: how to call into it, and its lock.
 *
 * The engine store is deleted in `Store_dealloc`, that is only once no object that can call
 * into it or see its memory is left: Functions, Guests, Hosts and memory views hold the
 * Store, and none of them lets go of it before it is freed itself (their tp_clear keeps
 * it), so a call from a `__del__` while the garbage collector tears a module down -- at
 * any time, interpreter shutdown included -- still finds its store alive.
 *
 * The lock is re-entrant and serialises every call into the store.  Its state (owner,
 * depth, waiters) is only read and written with the GIL held, so taking a free lock is a
 * few plain stores -- CPython's own locks read the clock on every acquire, which would
 * double the cost of a small call.  A thread that finds the store taken by another thread
 * (one that released the GIL inside the store: a `release_gil` call, or Python code run from
 * within a call) releases the GIL and sleeps on `gate`, a real lock that is normally held;
 * the owner releases `gate` once when it leaves a store that has waiters.  The Python-level
 * call path and the module's binding use the same object as their lock (`with store:`).
 */
typedef struct {
    PyObject_HEAD
    void *ctx;
    call_fn call;
    memory_data_fn memory_data;
    memory_size_fn memory_size;
    void *store;               /* the engine's store, deleted with this object */
    void (*store_delete)(void *store);
    PyObject *engine;          /* the Engine the store was made from: outlives it */
    PyObject *hosts;           /* the Hosts the store's imports call: they outlive it too */
    PyObject *fail;            /* fail(owner, error, trap, label): the exception to raise */
    PyThread_type_lock gate;
    unsigned long owner;
    long depth;
    int waiters;
    char signalled;            /* gate released for a waiter that has not yet woken */
    /* limits, checked by the epoch deadline callback (see "The watchdog" below) */
    uint64_t serial;           /* outermost calls so far: tells one call from the next */
    uint64_t seen;             /* the serial the callback last saw */
    uint64_t ticks;            /* watchdog ticks seen during that call */
    uint64_t timeout_ticks;    /* 0: no time limit */
    uint64_t fuel;             /* 0: no fuel limit; else the budget of each call */
    int reason;                /* why the callback stopped the call: STOP_* */
    void *(*set_fuel)(void *ctx, uint64_t fuel);
    void *(*error_new)(const char *message);
    /* [limits] memory, for memories made by the extension's creator ("Memories" below) */
    uint64_t memory_cap;       /* bytes per memory; 0: no cap */
    uint64_t refused_serial;   /* the call during which the cap last refused to grow */
    uint64_t refused_size;     /* the size in bytes that grow asked for */
    /* host functions (see "Host functions" below) */
    void *(*trap_new)(const char *message, size_t len);
    PyObject *pending;         /* what a host function raised, until the call fails with it */
    long host_depth;           /* host functions running now (wasm may call wasm again) */
    /* the calling thread's state while a call runs with the GIL released (else NULL): the
     * engine's callbacks take the GIL back through it, in whichever interpreter it is */
    PyThreadState *released;
} StoreObject;

enum { STOP_NONE, STOP_INTERRUPT, STOP_TIMEOUT };

static inline int store_enter(StoreObject *s) {
    unsigned long me = THREAD_ID();
    if (s->depth > 0) {
        if (s->owner == me) {
            s->depth++;
            return 0;
        }
        do {
            PyLockStatus r;
            s->waiters++;
            Py_BEGIN_ALLOW_THREADS
            r = PyThread_acquire_lock_timed(s->gate, -1, 1);
            Py_END_ALLOW_THREADS
            s->waiters--;
            if (r == PY_LOCK_ACQUIRED)
                s->signalled = 0;
            else if (PyErr_CheckSignals() < 0)
                return -1;
        } while (s->depth > 0);
    }
    s->owner = me;
    s->depth = 1;
    s->serial++;
    if (s->fuel) {
        void *error = s->set_fuel(s->ctx, s->fuel);
        if (error != NULL) {   /* only if the engine does not meter fuel: a wasmimport bug */
            s->depth = 0;
            PyErr_SetString(PyExc_SystemError, "wasmimport: cannot set the call's fuel");
            return -1;
        }
    }
    return 0;
}

static inline void store_exit(StoreObject *s) {
    if (--s->depth == 0) {
        s->owner = 0;
        if (s->waiters && !s->signalled) {
            s->signalled = 1;
            PyThread_release_lock(s->gate);
        }
    }
}

static PyObject *Store_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"store", "delete", "engine", "ctx", "call", "memory_data",
                             "memory_size", "fail", "set_fuel", "error_new", "trap_new",
                             "timeout_ticks", "fuel", "memory_cap", NULL};
    unsigned long long store = 0, delete_ = 0, ctx = 0, call = 0, data = 0, size = 0;
    unsigned long long set_fuel = 0, error_new = 0, trap_new = 0, timeout_ticks = 0;
    unsigned long long fuel = 0, memory_cap = 0;
    PyObject *fail = NULL, *engine = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|$KKOKKKKOKKKKKK:Store", kwlist, &store,
                                     &delete_, &engine, &ctx, &call, &data, &size, &fail,
                                     &set_fuel, &error_new, &trap_new, &timeout_ticks, &fuel,
                                     &memory_cap))
        return NULL;
    if (!store || !delete_ || !ctx || !call || !data || !size || !set_fuel || !error_new
            || !trap_new || !fail || !engine) {
        PyErr_SetString(PyExc_TypeError, "Store() needs store, delete, engine, ctx, call, "
                        "memory_data, memory_size, fail, set_fuel, error_new and trap_new");
        return NULL;
    }
    StoreObject *s = (StoreObject *)type->tp_alloc(type, 0);
    if (s == NULL)
        return NULL;
    s->hosts = PyList_New(0);
    s->gate = PyThread_allocate_lock();
    if (s->hosts == NULL || s->gate == NULL) {
        Py_DECREF(s);
        return PyErr_NoMemory();
    }
    PyThread_acquire_lock(s->gate, WAIT_LOCK);   /* held: waiters sleep on it */
    s->store = (void *)(uintptr_t)store;         /* from here on, this object owns it */
    s->store_delete = (void (*)(void *))(uintptr_t)delete_;
    s->engine = Py_NewRef(engine);
    s->ctx = (void *)(uintptr_t)ctx;
    s->call = (call_fn)(uintptr_t)call;
    s->memory_data = (memory_data_fn)(uintptr_t)data;
    s->memory_size = (memory_size_fn)(uintptr_t)size;
    s->set_fuel = (void *(*)(void *, uint64_t))(uintptr_t)set_fuel;
    s->error_new = (void *(*)(const char *))(uintptr_t)error_new;
    s->trap_new = (void *(*)(const char *, size_t))(uintptr_t)trap_new;
    s->timeout_ticks = timeout_ticks;
    s->fuel = fuel;
    s->memory_cap = memory_cap;
    s->fail = Py_NewRef(fail);
    return (PyObject *)s;
}

static void Store_dealloc(StoreObject *s) {
    PyObject_GC_UnTrack(s);
    if (s->store)
        s->store_delete(s->store);   /* first: it may still point at the Hosts */
    Py_CLEAR(s->hosts);
    Py_CLEAR(s->engine);             /* after the store made from it */
    Py_CLEAR(s->fail);
    Py_CLEAR(s->pending);
    if (s->gate) {
        if (!s->signalled)
            PyThread_release_lock(s->gate);
        PyThread_free_lock(s->gate);
    }
    free_instance((PyObject *)s);
}

static int Store_traverse(StoreObject *s, visitproc visit, void *arg) {
    Py_VISIT(Py_TYPE(s));
    Py_VISIT(s->engine);
    Py_VISIT(s->hosts);
    Py_VISIT(s->fail);
    Py_VISIT(s->pending);
    return 0;
}

/* Only what a call leaves behind: the engine, the hosts and `fail` stay while the store does
 * (a cycle through them is broken at the Python objects in it). */
static int Store_clear(StoreObject *s) {
    Py_CLEAR(s->pending);
    return 0;
}

static PyObject *Store_acquire(StoreObject *s, PyObject *unused) {
    if (store_enter(s) < 0)
        return NULL;
    Py_RETURN_TRUE;
}

static PyObject *Store_release(StoreObject *s, PyObject *unused) {
    if (s->depth == 0 || s->owner != THREAD_ID()) {
        PyErr_SetString(PyExc_RuntimeError, "cannot release un-acquired store lock");
        return NULL;
    }
    store_exit(s);
    Py_RETURN_NONE;
}

static PyObject *Store_exit(StoreObject *s, PyObject *const *args, Py_ssize_t nargs) {
    return Store_release(s, NULL);
}

/* Why the watchdog stopped the last call ("interrupt", "timeout" or None); clears it. */
static PyObject *Store_take_reason(StoreObject *s, PyObject *unused) {
    int reason = s->reason;
    s->reason = STOP_NONE;
    if (reason == STOP_INTERRUPT)
        return PyUnicode_FromString("interrupt");
    if (reason == STOP_TIMEOUT)
        return PyUnicode_FromString("timeout");
    Py_RETURN_NONE;
}

/*
 * run(function, *args): call a C function of the engine's API that runs wasm in this store
 * -- `function(args...)`, each argument a pointer-sized integer (pointers, sizes), up to six,
 * returning a wasmtime_error_t pointer or NULL -- as a call of this store: under its lock and
 * fuel budget, watched by the watchdog (Ctrl-C, time limit), the GIL released.  The component
 * runtime's calls, post-returns and instantiation go through it (component/_runtime.py),
 * which gives them the core calls' guarantees.  Returns the error's address, or 0.
 */
typedef void *(*run0_fn)(void);
typedef void *(*run1_fn)(uintptr_t);
typedef void *(*run2_fn)(uintptr_t, uintptr_t);
typedef void *(*run3_fn)(uintptr_t, uintptr_t, uintptr_t);
typedef void *(*run4_fn)(uintptr_t, uintptr_t, uintptr_t, uintptr_t);
typedef void *(*run5_fn)(uintptr_t, uintptr_t, uintptr_t, uintptr_t, uintptr_t);
typedef void *(*run6_fn)(uintptr_t, uintptr_t, uintptr_t, uintptr_t, uintptr_t, uintptr_t);

static PyObject *Store_run(StoreObject *s, PyObject *const *args, Py_ssize_t nargs) {
    uintptr_t a[7] = {0};
    if (nargs < 1 || nargs > 7) {
        PyErr_SetString(PyExc_TypeError, "run() takes a function and at most six arguments");
        return NULL;
    }
    for (Py_ssize_t k = 0; k < nargs; k++) {
        a[k] = (uintptr_t)PyLong_AsUnsignedLongLong(args[k]);
        if (a[k] == (uintptr_t)-1 && PyErr_Occurred())
            return NULL;
    }
    if (a[0] == 0) {
        PyErr_SetString(PyExc_ValueError, "run() needs a function address");
        return NULL;
    }
    if (store_enter(s) < 0)
        return NULL;
    PyThreadState *outer = s->released;
    s->released = PyEval_SaveThread();
    void *error = NULL;
    switch (nargs - 1) {
    case 0: error = ((run0_fn)a[0])(); break;
    case 1: error = ((run1_fn)a[0])(a[1]); break;
    case 2: error = ((run2_fn)a[0])(a[1], a[2]); break;
    case 3: error = ((run3_fn)a[0])(a[1], a[2], a[3]); break;
    case 4: error = ((run4_fn)a[0])(a[1], a[2], a[3], a[4]); break;
    case 5: error = ((run5_fn)a[0])(a[1], a[2], a[3], a[4], a[5]); break;
    default: error = ((run6_fn)a[0])(a[1], a[2], a[3], a[4], a[5], a[6]); break;
    }
    PyThreadState *me = s->released;
    s->released = outer;
    PyEval_RestoreThread(me);
    store_exit(s);
    return PyLong_FromVoidPtr(error);
}

/* What a host function raised during the failed call, or None; clears it. */
static PyObject *Store_take_pending(StoreObject *s, PyObject *unused) {
    PyObject *pending = s->pending;
    s->pending = NULL;
    return pending != NULL ? pending : Py_NewRef(Py_None);
}

/* The size a memory asked to grow to when [limits] memory refused it during the call now
 * running (so that its trap is the limit's doing), else None. */
static PyObject *Store_refused_growth(StoreObject *s, PyObject *unused) {
    if (s->refused_size && s->refused_serial == s->serial && s->depth > 0)
        return PyLong_FromUnsignedLongLong(s->refused_size);
    Py_RETURN_NONE;
}

static PyObject *Store_get_host_depth(StoreObject *s, void *closure) {
    return PyLong_FromLong(s->host_depth);
}

static PyObject *Store_view(StoreObject *s, PyObject *handle);
static PyObject *Store_making_memories(StoreObject *s, PyObject *making);

static PyGetSetDef Store_getset[] = {
    {"host_depth", (getter)Store_get_host_depth, NULL,
     "How many host functions of this store are running now.", NULL},
    {NULL}
};

static PyMethodDef Store_methods[] = {
    {"take_reason", (PyCFunction)Store_take_reason, METH_NOARGS,
     "Why the watchdog stopped the last call, or None (and forget it)."},
    {"run", (PyCFunction)(void (*)(void))Store_run, METH_FASTCALL,
     "run(function, *args): call a C function that runs wasm in this store, as a call of "
     "it (lock, fuel, watchdog; the GIL released); the error address it returned, or 0."},
    {"take_pending", (PyCFunction)Store_take_pending, METH_NOARGS,
     "What a host function raised during the failed call, or None (and forget it)."},
    {"refused_growth", (PyCFunction)Store_refused_growth, METH_NOARGS,
     "The size [limits] memory refused a memory during the running call, or None."},
    {"view", (PyCFunction)Store_view, METH_O,
     "view(memory handle): a writable memoryview of a memory that keeps the store alive."},
    {"making_memories", (PyCFunction)Store_making_memories, METH_O,
     "making_memories(flag): memories made on this thread now belong to this store."},
    {"acquire", (PyCFunction)Store_acquire, METH_NOARGS, "Enter the store (re-entrant)."},
    {"release", (PyCFunction)Store_release, METH_NOARGS, "Leave the store."},
    {"__enter__", (PyCFunction)Store_acquire, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)(void (*)(void))Store_exit, METH_FASTCALL, NULL},
    {NULL}
};

static PyType_Slot Store_slots[] = {
    {Py_tp_doc, "An engine store, owned: its C entry points and its re-entrant call lock."},
    {Py_tp_new, Store_new},
    {Py_tp_dealloc, Store_dealloc},
    {Py_tp_traverse, Store_traverse},
    {Py_tp_clear, Store_clear},
    {Py_tp_methods, Store_methods},
    {Py_tp_getset, Store_getset},
    {0, NULL}
};

static PyType_Spec Store_spec = {
    "wasmimport._speedups.Store", sizeof(StoreObject), 0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE, Store_slots
};

/* ---- memory views ---- */

/*
 * What a `memoryview` of a guest memory exports from: the store (which owns the memory) and
 * the memory's handle.  It has no tp_clear, so a view the garbage collector has not yet
 * released always has its memory; a released view raises ValueError, as any does.
 */
typedef struct {
    PyObject_HEAD
    StoreObject *store;
    Handle memory;
} RegionObject;

static int Region_getbuffer(RegionObject *r, Py_buffer *view, int flags) {
    StoreObject *s = r->store;
    uint8_t *base = s->memory_data(s->ctx, &r->memory);
    size_t size = s->memory_size(s->ctx, &r->memory);
    return PyBuffer_FillInfo(view, (PyObject *)r, base, (Py_ssize_t)size, 0, flags);
}

static void Region_dealloc(RegionObject *r) {
    PyObject_GC_UnTrack(r);
    Py_CLEAR(r->store);
    free_instance((PyObject *)r);
}

static int Region_traverse(RegionObject *r, visitproc visit, void *arg) {
    Py_VISIT(Py_TYPE(r));
    Py_VISIT(r->store);
    return 0;
}

static PyType_Slot Region_slots[] = {
    {Py_tp_doc, "A guest memory as a buffer; keeps its store alive."},
    {Py_tp_dealloc, Region_dealloc},
    {Py_tp_traverse, Region_traverse},
    {Py_bf_getbuffer, Region_getbuffer},
    {0, NULL}
};

static PyType_Spec Region_spec = {
    "wasmimport._speedups.Region", sizeof(RegionObject), 0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE
    | Py_TPFLAGS_DISALLOW_INSTANTIATION, Region_slots
};

static int read_handle(PyObject *obj, Handle *out, char *present, const char *what);

static PyObject *Store_view(StoreObject *s, PyObject *handle) {
    ModuleState *st = type_state(Py_TYPE(s));
    RegionObject *r = PyObject_GC_New(RegionObject, st->Region_Type);
    if (r == NULL)
        return NULL;
    r->store = (StoreObject *)Py_NewRef(s);
    char present;
    if (read_handle(handle, &r->memory, &present, "memory") < 0) {
        Py_DECREF(r);
        return NULL;
    }
    PyObject_GC_Track(r);
    PyObject *view = PyMemoryView_FromObject((PyObject *)r);
    Py_DECREF(r);
    return view;
}

/* Call `func` with `vals`; on a trap or error raise what the store's `fail` returns. */
static inline int store_call(StoreObject *s, PyObject *owner, const Handle *func, RawVal *vals,
                      size_t nvals, PyObject *label, int release_gil) {
    void *trap = NULL;
    void *error;
    if (release_gil) {
        PyThreadState *outer = s->released;    /* a release_gil call inside a host function */
        s->released = PyEval_SaveThread();
        error = s->call(s->ctx, func, vals, nvals, &trap);
        PyThreadState *me = s->released;
        s->released = outer;
        PyEval_RestoreThread(me);
    } else {
        error = s->call(s->ctx, func, vals, nvals, &trap);
    }
    if (error == NULL && trap == NULL)
        return 0;
    PyObject *r = PyObject_CallFunction(s->fail, "OKKO", owner,
                                        (unsigned long long)(uintptr_t)error,
                                        (unsigned long long)(uintptr_t)trap, label);
    if (r == NULL)     /* fail() raised (a KeyboardInterrupt, say) */
        return -1;
    if (PyExceptionInstance_Check(r))   /* raised here: its traceback starts at the guest */
        PyErr_SetObject((PyObject *)Py_TYPE(r), r);
    else
        PyErr_SetString(PyExc_SystemError, "wasmimport: the trap handler returned no exception");
    Py_DECREF(r);
    return -1;
}

/* ================================================================= The watchdog */

/*
 * Ctrl-C and time limits.  Engines run with epoch interruption; one native thread (the
 * ticker, started with the first engine) increments every watched engine's epoch every
 * TICK_MS.  Each store's epoch deadline is one tick ahead, so while wasm code runs the
 * engine calls `deadline_callback` once a tick.  The callback stops the call -- by
 * returning an error, which unwinds the wasm frames -- when SIGINT arrived (Python's own
 * handler recorded it; the callback takes it over and the failure path re-raises it), or
 * when the call has run for its time limit; otherwise the call goes on for another tick.
 * Idle stores cost nothing; a running call pays one callback per tick.
 *
 * The list of watched engines is process-wide (every interpreter's engines are ticked by
 * the one thread): an Engine joins it when made and leaves it before it is deleted.  A spin
 * lock guards it; it is held only for a few loads and stores, never while waiting.
 */

#define TICK_MS 10

typedef struct {
    void *engine;
    void (*increment)(void *engine);
} Watched;

static Watched *watched;       /* guarded by watch_spin, like the three below */
static size_t nwatched, watched_cap;
static int ticker_started;
static long ticker_pid;        /* the process the ticker runs in (a fork's child has none) */
static int watch_spin;

static void watch_lock(void) {
    while (__atomic_exchange_n(&watch_spin, 1, __ATOMIC_ACQUIRE))
        ;
}

static void watch_unlock(void) {
    __atomic_store_n(&watch_spin, 0, __ATOMIC_RELEASE);
}

static void ticker(void *unused) {
    PyThread_type_lock never = PyThread_allocate_lock();
    if (never == NULL)
        return;
    PyThread_acquire_lock(never, WAIT_LOCK);
    for (;;) {
        /* a portable sleep: waiting for a lock nobody releases */
        PyThread_acquire_lock_timed(never, TICK_MS * 1000, 0);
        watch_lock();
        for (size_t k = 0; k < nwatched; k++)
            watched[k].increment(watched[k].engine);
        watch_unlock();
    }
}

/* Start the ticker unless it runs in this process already (watch_spin held). */
static int start_ticker(void) {
    long pid = (long)getpid();
    if (ticker_started && ticker_pid == pid)
        return 0;
    if (PyThread_start_new_thread(ticker, NULL) == PYTHREAD_INVALID_THREAD_ID)
        return -1;
    ticker_started = 1;
    ticker_pid = pid;
    return 0;
}

static int watch(void *engine, void (*increment)(void *)) {
    watch_lock();
    if (nwatched == watched_cap) {
        size_t cap = watched_cap ? watched_cap * 2 : 8;
        Watched *grown = realloc(watched, cap * sizeof *grown);
        if (grown == NULL) {
            watch_unlock();
            PyErr_NoMemory();
            return -1;
        }
        watched = grown;
        watched_cap = cap;
    }
    watched[nwatched].engine = engine;
    watched[nwatched].increment = increment;
    nwatched++;
    int started = start_ticker();
    watch_unlock();
    if (started < 0) {
        unwatch(engine);
        PyErr_SetString(PyExc_RuntimeError, "wasmimport: cannot start the watchdog thread");
        return -1;
    }
    return 0;
}

static void unwatch(void *engine) {
    watch_lock();
    for (size_t k = 0; k < nwatched; k++)
        if (watched[k].engine == engine) {
            watched[k] = watched[--nwatched];
            break;
        }
    watch_unlock();
}

/* In a child made by fork(), which has only the forking thread: start a new ticker.  The
 * spin lock may have been held by the parent's ticker at the fork; nobody else runs now. */
static PyObject *restart_watchdog(PyObject *module, PyObject *unused) {
    __atomic_store_n(&watch_spin, 0, __ATOMIC_RELEASE);
    watch_lock();
    int started = ticker_started ? start_ticker() : 0;
    watch_unlock();
    if (started < 0) {
        PyErr_SetString(PyExc_RuntimeError, "wasmimport: cannot start the watchdog thread");
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *watched_engines(PyObject *module, PyObject *unused) {
    watch_lock();
    size_t n = nwatched;
    watch_unlock();
    return PyLong_FromSize_t(n);
}

/* The caller's thread state, with the GIL, whether the call holds it or released it. */
static inline PyThreadState *take_gil(StoreObject *s) {
    PyThreadState *released = s->released;
    if (released != NULL) {
        s->released = NULL;            /* nested calls see the GIL held */
        PyEval_RestoreThread(released);
    }
    return released;
}

/* Undo `take_gil`. */
static inline void give_gil(StoreObject *s, PyThreadState *released) {
    if (released != NULL)
        s->released = PyEval_SaveThread();
}

/* wasmtime_store_epoch_deadline_callback's callback; `data` is the StoreObject. */
static void *deadline_callback(void *ctx, void *data, uint64_t *delta, uint8_t *kind) {
    StoreObject *s = data;
    if (s->serial != s->seen) {            /* the first tick of a new call */
        s->seen = s->serial;
        s->ticks = 0;
    } else
        s->ticks++;
    PyThreadState *released = take_gil(s);
    int interrupted = PyOS_InterruptOccurred();   /* only ever in the main interpreter */
    give_gil(s, released);
    if (interrupted) {
        s->reason = STOP_INTERRUPT;
        return s->error_new("wasmimport: interrupted");
    }
    if (s->timeout_ticks && s->ticks >= s->timeout_ticks) {
        s->reason = STOP_TIMEOUT;
        return s->error_new("wasmimport: time limit exceeded");
    }
    *delta = 1;
    *kind = 0;                             /* WASMTIME_UPDATE_DEADLINE_CONTINUE */
    return NULL;
}

/* Raise what the SIGINT the watchdog took over means: run Python's handler for it. */
static PyObject *raise_interrupt(PyObject *module, PyObject *unused) {
    if (PyErr_SetInterruptEx(SIGINT) < 0 || PyErr_CheckSignals() < 0)
        return NULL;
    Py_RETURN_NONE;                        /* a handler that did not raise */
}

/* ================================================================= Memories */

/*
 * [limits] memory, reported as such.  wasmtime's own store limiter refuses a memory.grow
 * past a cap without a word, so the trap a guest then ends in (its allocator's abort) would
 * say nothing of the limit.  Engines for capped modules therefore make their linear memories
 * here: reserved once (wasmtime's reservation, so they never move), made accessible as they
 * grow, and refusing to grow past the cap of the store they belong to -- which notes the
 * call and the size asked for, so that the call's failure can name both.  memory.grow
 * still returns -1 to the guest, as with any memory that cannot grow.
 */

typedef struct {
    uint8_t *base;
    size_t size;               /* accessible bytes */
    size_t usable;             /* reserved bytes it may grow to (without the guard) */
    size_t mapped;             /* the whole mapping, guard included */
    uint64_t cap;              /* the store's [limits] memory; 0: none */
    StoreObject *store;        /* the store it belongs to (which outlives it), or NULL */
} LinearMemory;

/* wasmtime_linear_memory_t and wasmtime_memory_creator_t (wasmtime/config.h) */
typedef struct {
    void *env;
    uint8_t *(*get_memory)(void *env, size_t *byte_size, size_t *byte_capacity);
    void *(*grow_memory)(void *env, size_t new_size);
    void (*finalizer)(void *env);
} LinearMemoryCallbacks;

typedef struct {
    void *env;
    void *(*new_memory)(void *env, const void *type, size_t minimum, size_t maximum,
                        size_t reserved, size_t guard, LinearMemoryCallbacks *memory);
    void (*finalizer)(void *env);
} MemoryCreator;

#ifdef _MSC_VER
#define THREAD_LOCAL __declspec(thread)
#else
#define THREAD_LOCAL _Thread_local
#endif

static THREAD_LOCAL StoreObject *making;      /* the store instantiating on this thread */
static void *(*creator_error)(const char *message);   /* wasmtime_error_new */

/* making_memories(True / False): around an instantiation of this store. */
static PyObject *Store_making_memories(StoreObject *s, PyObject *flag) {
    making = PyObject_IsTrue(flag) ? s : NULL;
    Py_RETURN_NONE;
}

static void *memory_error(const char *format, ...) {
    char text[200];
    va_list args;
    va_start(args, format);
    PyOS_vsnprintf(text, sizeof text, format, args);
    va_end(args);
    return creator_error(text);
}

static int protect_rw(uint8_t *at, size_t size) {
    if (size == 0)
        return 0;
#ifdef _WIN32
    return VirtualAlloc(at, size, MEM_COMMIT, PAGE_READWRITE) == NULL ? -1 : 0;
#else
    return mprotect(at, size, PROT_READ | PROT_WRITE);
#endif
}

static uint8_t *memory_get(void *env, size_t *byte_size, size_t *byte_capacity) {
    LinearMemory *m = env;
    *byte_size = m->size;
    *byte_capacity = m->usable;
    return m->base;
}

static void *memory_grow(void *env, size_t new_size) {
    LinearMemory *m = env;
    if (new_size <= m->size)
        return NULL;
    if (m->cap && new_size > m->cap) {
        if (m->store != NULL) {
            m->store->refused_serial = m->store->serial;
            m->store->refused_size = new_size;
        }
        return memory_error("wasmimport: growing a memory to %zu bytes is past [limits] "
                            "memory = %llu bytes", new_size, (unsigned long long)m->cap);
    }
    if (new_size > m->usable)
        return memory_error("wasmimport: a memory of %zu bytes is past its reservation of "
                            "%llu bytes", new_size, (unsigned long long)m->usable);
    if (protect_rw(m->base + m->size, new_size - m->size) < 0)
        return memory_error("wasmimport: cannot map %zu more bytes of memory (errno %d)",
                            new_size - m->size, errno);
    m->size = new_size;
    return NULL;
}

static void memory_free(void *env) {
    LinearMemory *m = env;
#ifdef _WIN32
    VirtualFree(m->base, 0, MEM_RELEASE);
#else
    munmap(m->base, m->mapped);
#endif
    free(m);
}

static void *memory_new(void *env, const void *type, size_t minimum, size_t maximum,
                        size_t reserved, size_t guard, LinearMemoryCallbacks *out) {
    StoreObject *s = making;
    uint64_t cap = s != NULL ? s->memory_cap : 0;
    if (cap && minimum > cap)
        return memory_error("the module's memory of %zu bytes is larger than [limits] "
                            "memory = %llu bytes", minimum, (unsigned long long)cap);
    /* never moving: all it may grow to is reserved now (wasm32: at most 4 GiB) */
    size_t usable = reserved ? reserved : maximum != SIZE_MAX ? maximum : (size_t)1 << 32;
    if (usable < minimum || usable > SIZE_MAX - guard)
        return memory_error("wasmimport: cannot reserve %zu bytes for a memory of %zu",
                            usable, minimum);
    LinearMemory *m = calloc(1, sizeof *m);
    if (m == NULL)
        return memory_error("wasmimport: out of memory making a memory of %zu bytes",
                            minimum);
    m->mapped = usable + guard;
#ifdef _WIN32
    m->base = VirtualAlloc(NULL, m->mapped, MEM_RESERVE, PAGE_NOACCESS);
    int reserved_ok = m->base != NULL;
#else
    m->base = mmap(NULL, m->mapped, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1, 0);
    int reserved_ok = m->base != MAP_FAILED;
#endif
    if (!reserved_ok || protect_rw(m->base, minimum) < 0) {
        int error = errno;
        size_t mapped = m->mapped;
        if (reserved_ok)
            memory_free(m);
        else
            free(m);
        return memory_error("wasmimport: cannot reserve %zu bytes for a memory (errno %d)",
                            mapped, error);
    }
    m->size = minimum;
    m->usable = usable;
    m->cap = cap;
    m->store = s;
    out->env = m;
    out->get_memory = memory_get;
    out->grow_memory = memory_grow;
    out->finalizer = memory_free;
    return NULL;
}

/* memory_creator(config_set, error_new): give an engine's config the creator above. */
static PyObject *memory_creator(PyObject *module, PyObject *args) {
    unsigned long long config, set, error_new;
    if (!PyArg_ParseTuple(args, "KKK:memory_creator", &config, &set, &error_new))
        return NULL;
    creator_error = (void *(*)(const char *))(uintptr_t)error_new;
    MemoryCreator creator = {NULL, memory_new, NULL};     /* the config copies it */
    ((void (*)(void *, MemoryCreator *))(uintptr_t)set)((void *)(uintptr_t)config, &creator);
    Py_RETURN_NONE;
}

/* ================================================================= Host functions */

/*
 * A wasm import provided by Python.  The engine calls `host_trampoline` with the Host
 * object as its environment and the core arguments in a val_raw array; the trampoline
 * takes the GIL (held already, unless the call released it), boxes the arguments, calls
 * the raw host function (wasmimport._host: it lifts, calls the user's callable, lowers) and
 * unboxes its core result.  Whatever that raised -- including a KeyboardInterrupt that
 * Python's SIGINT handler raises as the function starts -- is kept on the store and the
 * wasm call is ended with a trap; the store's failure handler then raises it as itself.
 * This is C, not a ctypes callback, because a ctypes callback cannot catch an exception
 * raised before its first line runs, and then returns garbage to the engine.
 *
 * A Host belongs to its store (which keeps it, and which it does not keep: no cycle the
 * collector could not see through); only its callable goes in tp_clear, and a call that
 * finds it gone raises instead of calling.
 */

#define HOST_STACK_PARAMS 16

typedef struct {
    PyObject_HEAD
    StoreObject *store;        /* borrowed: the store owns this object */
    PyObject *raw;             /* core values in, core value (or None) out */
    PyObject *name;            /* the raw function's name, for errors */
    PyObject *params;          /* core kinds (str): i (i32), I (i64), f (f32), d (f64) */
    const char *kinds;         /* the UTF-8 of `params` */
    Py_ssize_t nparams;
    char result;               /* a core kind, or 0 for no result */
} HostObject;

static int core_kinds(PyObject *text, Py_ssize_t max, Py_ssize_t *n, const char **out,
                      const char *what) {
    Py_ssize_t len;
    const char *kinds = PyUnicode_AsUTF8AndSize(text, &len);
    if (kinds == NULL)
        return -1;
    if ((max >= 0 && len > max) || strspn(kinds, "iIfd") != (size_t)len) {
        PyErr_Format(PyExc_ValueError, "Host() %s must be a string of 'iIfd'%s, not %R",
                     what, max >= 0 ? " (at most one)" : "", text);
        return -1;
    }
    *n = len;
    *out = kinds;
    return 0;
}

static PyObject *Host_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"store", "raw", "params", "results", NULL};
    PyObject *store, *raw, *params, *results;
    ModuleState *st = type_state(type);
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "$O!OUU:Host", kwlist, st->Store_Type,
                                     &store, &raw, &params, &results))
        return NULL;
    Py_ssize_t nresults;
    const char *result;
    HostObject *h = (HostObject *)type->tp_alloc(type, 0);
    if (h == NULL)
        return NULL;
    h->store = (StoreObject *)store;
    h->raw = Py_NewRef(raw);
    h->params = Py_NewRef(params);
    h->name = PyObject_GetAttrString(raw, "__qualname__");
    if (h->name == NULL
            || core_kinds(params, -1, &h->nparams, &h->kinds, "params") < 0
            || core_kinds(results, 1, &nresults, &result, "results") < 0
            || PyList_Append(h->store->hosts, (PyObject *)h) < 0) {
        Py_DECREF(h);
        return NULL;
    }
    h->result = nresults ? result[0] : 0;
    return (PyObject *)h;
}

static int Host_traverse(HostObject *h, visitproc visit, void *arg) {
    Py_VISIT(Py_TYPE(h));
    Py_VISIT(h->raw);
    return 0;
}

static int Host_clear(HostObject *h) {
    Py_CLEAR(h->raw);
    return 0;
}

static void Host_dealloc(HostObject *h) {
    PyObject_GC_UnTrack(h);
    Host_clear(h);
    Py_CLEAR(h->name);
    Py_CLEAR(h->params);
    free_instance((PyObject *)h);
}

static PyObject *Host_get_address(HostObject *h, void *closure) {
    return PyLong_FromVoidPtr(h);
}

static PyGetSetDef Host_getset[] = {
    {"address", (getter)Host_get_address, NULL,
     "The environment pointer to register with the engine (its store keeps the object).",
     NULL},
    {NULL}
};

static PyType_Slot Host_slots[] = {
    {Py_tp_doc, "A host function's environment for the engine's call of host_trampoline."},
    {Py_tp_new, Host_new},
    {Py_tp_dealloc, Host_dealloc},
    {Py_tp_traverse, Host_traverse},
    {Py_tp_clear, Host_clear},
    {Py_tp_getset, Host_getset},
    {0, NULL}
};

static PyType_Spec Host_spec = {
    "wasmimport._speedups.Host", sizeof(HostObject), 0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE, Host_slots
};

static PyObject *box_core(char kind, const RawVal *v) {
    switch (kind) {
    case 'i': return PyLong_FromLong(v->i32);
    case 'I': return PyLong_FromLongLong(v->i64);
    case 'f': return PyFloat_FromDouble(v->f32);
    default: return PyFloat_FromDouble(v->f64);
    }
}

/* The core value of the raw host function's result; -1 with an exception if it is not one. */
static int unbox_core(char kind, PyObject *value, RawVal *v) {
    if (kind == 'f' || kind == 'd') {
        double d = PyFloat_AsDouble(value);
        if (d == -1.0 && PyErr_Occurred())
            return -1;
        if (kind == 'f')
            v->f32 = (float)d;
        else
            v->f64 = d;
        return 0;
    }
    long long x = PyLong_AsLongLong(value);
    if (x == -1 && PyErr_Occurred())
        return -1;
    if (kind == 'i') {
        if (x < INT32_MIN || x > INT32_MAX) {
            PyErr_Format(PyExc_OverflowError, "host function result %lld is not an i32", x);
            return -1;
        }
        v->i32 = (int32_t)x;
    } else
        v->i64 = x;
    return 0;
}

/* wasmtime_func_unchecked_callback_t; `env` is a HostObject (see above). */
static void *host_trampoline(void *env, void *caller, RawVal *vals, size_t nvals) {
    HostObject *h = env;
    StoreObject *s = h->store;
    void *trap = NULL;
    PyThreadState *released = take_gil(s);
    PyObject *stack[HOST_STACK_PARAMS];
    PyObject **args = stack;
    Py_ssize_t n = 0;
    PyObject *result = NULL;
    s->host_depth++;
    if (h->raw == NULL) {
        PyErr_Format(PyExc_RuntimeError, "wasmimport: %U was called after the garbage "
                     "collector took its module apart", h->name);
        goto done;
    }
    if (h->nparams > HOST_STACK_PARAMS
            && (args = PyMem_Malloc(sizeof(PyObject *) * h->nparams)) == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (; n < h->nparams; n++) {
        args[n] = box_core(h->kinds[n], &vals[n]);
        if (args[n] == NULL)
            goto done;
    }
    result = PyObject_Vectorcall(h->raw, args, n, NULL);
    if (result != NULL && h->result && unbox_core(h->result, result, &vals[0]) < 0)
        Py_CLEAR(result);
done:
    s->host_depth--;
    for (Py_ssize_t k = 0; k < n; k++)
        Py_DECREF(args[k]);
    if (args != stack)
        PyMem_Free(args);
    if (result == NULL) {
        PyObject *type, *value, *tb;
        PyErr_Fetch(&type, &value, &tb);
        PyErr_NormalizeException(&type, &value, &tb);
        if (tb != NULL)
            PyException_SetTraceback(value, tb);
        Py_XDECREF(type);
        Py_XDECREF(tb);
        Py_XSETREF(s->pending, value);
        static const char message[] = "host function raised an exception";
        trap = s->trap_new(message, sizeof message - 1);
    }
    Py_XDECREF(result);
    give_gil(s, released);
    return trap;
}

/* ================================================================= Guest */

/*
 * An instance's ABI context: its memory and allocator (see wasmimport._guest.GuestABI,
 * which is the pure-Python twin and the source of every error message).
 */
typedef struct {
    PyObject_HEAD
    StoreObject *store;
    PyObject *owner;
    uint8_t *base;             /* memories never move (memory_may_move = false) */
    uint64_t size;             /* a size seen before: memories only grow */
    Handle memory;
    Handle realloc;            /* cabi_realloc(old, old_size, align, size) */
    Handle alloc;              /* or a malloc-style alloc(size) */
    Handle free;               /* [abi] free: the host frees argument buffers */
    char has_realloc, has_alloc, has_free;
    /* [abi] free lets the host place argument buffers anywhere for the call: small ones go
     * in this block, allocated from the guest once and reused, so a call costs no allocator
     * round trip ("Scratch" below) */
    uint32_t scratch;          /* its guest address; 0: none yet */
    uint32_t scratch_top;      /* bytes handed out to the call holding it; 0: not held */
    char scratch_refused;      /* the guest could not spare it: allocate per call */
} GuestObject;

static int read_handle(PyObject *obj, Handle *out, char *present, const char *what) {
    *present = 0;
    if (obj == Py_None)
        return 0;
    Py_buffer view;
    if (PyObject_GetBuffer(obj, &view, PyBUF_SIMPLE) < 0)
        return -1;
    if (view.len > HANDLE_SIZE) {
        PyBuffer_Release(&view);
        PyErr_Format(PyExc_ValueError, "%s handle is %zd bytes (at most %d)", what, view.len,
                     HANDLE_SIZE);
        return -1;
    }
    memset(out, 0, sizeof *out);
    memcpy(out->bytes, view.buf, view.len);
    PyBuffer_Release(&view);
    *present = 1;
    return 0;
}

static PyObject *Guest_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"store", "owner", "memory", "realloc", "alloc", "free", NULL};
    PyObject *store, *owner, *memory, *realloc_, *alloc, *free_;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "$O!OOOOO:Guest", kwlist,
                                     type_state(type)->Store_Type, &store, &owner, &memory,
                                     &realloc_, &alloc, &free_))
        return NULL;
    GuestObject *g = (GuestObject *)type->tp_alloc(type, 0);
    if (g == NULL)
        return NULL;
    g->store = (StoreObject *)Py_NewRef(store);
    g->owner = Py_NewRef(owner);
    char has_memory;
    if (read_handle(memory, &g->memory, &has_memory, "memory") < 0
            || read_handle(realloc_, &g->realloc, &g->has_realloc, "realloc") < 0
            || read_handle(alloc, &g->alloc, &g->has_alloc, "alloc") < 0
            || read_handle(free_, &g->free, &g->has_free, "free") < 0) {
        Py_DECREF(g);
        return NULL;
    }
    if (!has_memory) {
        Py_DECREF(g);
        PyErr_SetString(PyExc_ValueError, "Guest() needs a memory");
        return NULL;
    }
    StoreObject *s = g->store;
    g->base = s->memory_data(s->ctx, &g->memory);
    g->size = s->memory_size(s->ctx, &g->memory);
    return (PyObject *)g;
}

/* No tp_clear: what a Function's call needs stays while the Function does. */
static void Guest_dealloc(GuestObject *g) {
    PyObject_GC_UnTrack(g);
    Py_CLEAR(g->store);
    Py_CLEAR(g->owner);
    free_instance((PyObject *)g);
}

static int Guest_traverse(GuestObject *g, visitproc visit, void *arg) {
    Py_VISIT(Py_TYPE(g));
    Py_VISIT(g->store);
    Py_VISIT(g->owner);
    return 0;
}

static PyType_Slot Guest_slots[] = {
    {Py_tp_doc, "An instance's memory and allocator, for the compiled call path."},
    {Py_tp_new, Guest_new},
    {Py_tp_dealloc, Guest_dealloc},
    {Py_tp_traverse, Guest_traverse},
    {0, NULL}
};

static PyType_Spec Guest_spec = {
    "wasmimport._speedups.Guest", sizeof(GuestObject), 0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE, Guest_slots
};

/* True when [ptr, ptr + size) lies inside the memory (refreshing the size once). */
static inline int guest_contains(GuestObject *g, uint64_t ptr, uint64_t size) {
    if (ptr + size <= g->size)
        return 1;
    g->size = g->store->memory_size(g->store->ctx, &g->memory);
    return ptr + size <= g->size;
}

/* ================================================================= Function */

typedef struct Node Node;

typedef struct {
    PyObject *name;            /* interned */
    PyObject *convert;         /* the pure-Python converter: the slow path and its errors */
    int type;                  /* T_* */
    int elem;                  /* list element T_* */
    Node *node;                /* T_NODE: the type's tree */
    int slot;                  /* first flat slot (when not spilled) */
    uint32_t offset;           /* offset in the spilled record */
    char text;                 /* T_BYTES of "bytes | str": a str goes as its UTF-8 */
} Param;

/* one converted argument, before it is lowered */
typedef struct {
    union { int64_t i; double f; } v;
    const char *data;
    Py_ssize_t nbytes;
    Py_buffer view;
    char has_view;
    char conv;                 /* T_NODE: `hold` is the converter's result, not the argument */
    PyObject *hold;            /* a converted object that owns `data`; T_NODE: the value */
    char *tmp;                 /* PyMem buffer of packed list items */
    uint32_t gptr;             /* T_BUFFER: where the copy went in the guest */
} Arg;

/* [abi] free: the argument allocations to free after the call (grows past `first`) */
typedef struct {
    uint32_t *owned;
    int nowned, cap;
    uint32_t *first;           /* the caller's array, not to be freed */
    char holds_scratch;        /* this call's buffers are in the guest's scratch block */
} Owned;

typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    StoreObject *store;
    PyObject *owner;           /* the backend instance: keeps the store alive */
    GuestObject *guest;        /* NULL when nothing goes through memory */
    Handle func;
    Handle post;
    char has_post;
    char release_gil;
    int nparams;
    int all_positional;        /* nparams if no parameter is keyword-only, else -1 */
    int first_default;         /* the first of the trailing parameters that have defaults */
    int nslots;                /* max(flat params, flat results, 1) */
    int nresults;              /* core results */
    Param *params;
    int result;                /* T_*, or -1 for none, or -2 for multi-value */
    int result_elem;
    Node *result_node;         /* result == T_NODE */
    PyObject *specs;           /* the params and result specs: they own what nodes point to */
    PyObject *result_spec;
    char result_core[4];       /* multi-value: 'i' i32, 'I' i64, 'f' f32, 'd' f64 */
    int indirect;              /* the result comes through a return area */
    int scalars_only;          /* no memory involved, few slots: the short call path */
    int writes_back;           /* a T_BUFFER parameter: the guest's bytes go back after */
    uint32_t spill_align, spill_size;   /* spill_size > 0: parameters go in memory */
    PyObject *label;           /* "mod.fn()" */
    PyObject *alloc_label;     /* "mod.fn(): mod.cabi_realloc()" */
    PyObject *free_label;
    PyObject *binder;          /* a Python function with the signature: binds odd calls */
    PyObject *defaults;        /* the trailing parameters' defaults, a tuple */
    PyObject *lift;            /* lift(out): the pure lift, for results C refuses */
    PyObject *alloc_failed;    /* alloc_failed(align, size, ptr, trap): the pure error */
    PyObject *oversize;        /* [functions] oversize: takes a call whose arguments the
                                * guest's memory cannot hold (NULL: none) */
    int npositional;           /* the parameters before the keyword-only ones */
    PyObject *kwonly_names;    /* the keyword-only ones' names, a tuple (NULL: none) */
    PyObject *signature;       /* the manifest Signature, for __signature__ */
    PyObject *dict;
    PyObject *weakrefs;
} FunctionObject;


/* ---- argument conversion (no guest memory is touched here) ---- */

static void arg_clear(Arg *a) {
    if (a->has_view) {
        PyBuffer_Release(&a->view);
        a->has_view = 0;
    }
    Py_CLEAR(a->hold);
    if (a->tmp) {
        PyMem_Free(a->tmp);
        a->tmp = NULL;
    }
}

/* The value of an exact int that fits one internal digit, read in place (as Cython does). */
static inline int small_long(PyObject *o, long long *x) {
#if PY_VERSION_HEX >= 0x030C0000
    if (!PyUnstable_Long_IsCompact((PyLongObject *)o))
        return 0;
    *x = PyUnstable_Long_CompactValue((PyLongObject *)o);
    return 1;
#else
    Py_ssize_t size = Py_SIZE(o);
    if (size < -1 || size > 1)
        return 0;
    *x = size * (long long)((PyLongObject *)o)->ob_digit[0];   /* digit 0 is 0 for 0 */
    return 1;
#endif
}

/* An exact int or float as the core value of scalar type `t`; 0 when C declines. */
static inline int scalar_fast(int t, PyObject *o, int64_t *i, double *f) {
    if (t <= T_U64) {
        if (!PyLong_CheckExact(o))
            return 0;
        long long small;
        if (small_long(o, &small) && small >= type_lo[t] && small <= type_hi[t]) {
            *i = small;
            return 1;
        }
        int overflow;
        long long x = PyLong_AsLongLongAndOverflow(o, &overflow);   /* exact: cannot fail */
        if (!overflow && x >= type_lo[t] && x <= type_hi[t]) {
            *i = x;
            return 1;
        }
        if (t == T_U64 && overflow > 0) {
            unsigned long long u = PyLong_AsUnsignedLongLong(o);
            if (u == (unsigned long long)-1 && PyErr_Occurred()) {
                PyErr_Clear();
                return 0;
            }
            *i = (int64_t)u;
            return 1;
        }
        return 0;
    }
    double d;
    if (PyFloat_CheckExact(o))
        d = PyFloat_AS_DOUBLE(o);
    else if (PyLong_CheckExact(o)) {
        d = PyLong_AsDouble(o);
        if (d == -1.0 && PyErr_Occurred()) {
            PyErr_Clear();
            return 0;
        }
    } else
        return 0;
    if (t == T_F32 && isfinite(d) && !(-F32_OVERFLOW < d && d < F32_OVERFLOW))
        return 0;
    *f = d;
    return 1;
}

/* The core value the pure converter returned (an int in core range, or a float). */
static int scalar_core(int t, PyObject *o, int64_t *i, double *f) {
    if (t == T_F32 || t == T_F64) {
        *f = PyFloat_AsDouble(o);
        return (*f == -1.0 && PyErr_Occurred()) ? -1 : 0;
    }
    *i = PyLong_AsLongLong(o);
    return (*i == -1 && PyErr_Occurred()) ? -1 : 0;
}

/* The kind ('i', 'u' or 'f') of a one-item native or little-endian struct format.  The
 * item size comes from the buffer (ctypes, for one, pairs '<l' with 8-byte items). */
static int format_kind(const char *fmt, char *kind) {
    if (fmt == NULL)
        fmt = "B";
    if (*fmt == '@' || *fmt == '=' || *fmt == '<')
        fmt++;
    if (fmt[0] == '\0' || fmt[1] != '\0')
        return 0;
    switch (fmt[0]) {
    case 'b': *kind = 'i'; return 1;
    case 'h': *kind = 'i'; return 1;
    case 'i': *kind = 'i'; return 1;
    case 'l': *kind = 'i'; return 1;
    case 'q': *kind = 'i'; return 1;
    case 'n': *kind = 'i'; return 1;
    case 'B': *kind = 'u'; return 1;
    case 'H': *kind = 'u'; return 1;
    case 'I': *kind = 'u'; return 1;
    case 'L': *kind = 'u'; return 1;
    case 'Q': *kind = 'u'; return 1;
    case 'N': *kind = 'u'; return 1;
    case 'f': *kind = 'f'; return 1;
    case 'd': *kind = 'f'; return 1;
    default: return 0;
    }
}

static char elem_kind(int t) {
    return (t == T_F32 || t == T_F64) ? 'f' : (t >= T_U8 && t <= T_U64) ? 'u' : 'i';
}

static void store_scalar(char *dst, int t, int64_t i, double f) {
    switch (type_sizes[t]) {
    case 1: { uint8_t v = (uint8_t)i; memcpy(dst, &v, 1); break; }
    case 2: { uint16_t v = (uint16_t)i; memcpy(dst, &v, 2); break; }
    case 4:
        if (t == T_F32) { float v = (float)f; memcpy(dst, &v, 4); }
        else { uint32_t v = (uint32_t)i; memcpy(dst, &v, 4); }
        break;
    default:
        if (t == T_F64) memcpy(dst, &f, 8);
        else memcpy(dst, &i, 8);
    }
}

/* Pack an exact list or tuple of exact ints/floats; 0 when C declines. */
static int list_fast(int elem, PyObject *o, Arg *a) {
    if (!PyList_CheckExact(o) && !PyTuple_CheckExact(o))
        return 0;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(o);
    PyObject **items = PySequence_Fast_ITEMS(o);
    int size = type_sizes[elem];
    char *tmp = PyMem_Malloc(n ? (size_t)n * size : 1);
    if (tmp == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t k = 0; k < n; k++) {
        int64_t i = 0;
        double f = 0;
        if (!scalar_fast(elem, items[k], &i, &f)) {
            PyMem_Free(tmp);
            return 0;
        }
        store_scalar(tmp + k * size, elem, i, f);
    }
    a->tmp = tmp;
    a->data = tmp;
    a->nbytes = n * size;
    return 1;
}

/* A str/bytes/list argument as bytes to copy; 0 when C declines. */
static int buffer_fast(const Param *p, PyObject *o, Arg *a) {
    if (p->type == T_STR) {
        if (!PyUnicode_Check(o))
            return 0;
        a->data = PyUnicode_AsUTF8AndSize(o, &a->nbytes);
        if (a->data == NULL) {   /* lone surrogates: the pure converter words the error */
            PyErr_Clear();
            return 0;
        }
        return 1;
    }
    if (p->type == T_BUFFER) {
        if (PyObject_GetBuffer(o, &a->view, PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS) < 0) {
            PyErr_Clear();      /* the pure converter words the error */
            return 0;
        }
        a->has_view = 1;
        a->data = a->view.buf;
        a->nbytes = a->view.len;
        return 1;
    }
    if (p->type == T_BYTES) {
        if (PyBytes_CheckExact(o)) {
            a->data = PyBytes_AS_STRING(o);
            a->nbytes = PyBytes_GET_SIZE(o);
            return 1;
        }
        if (PyUnicode_Check(o)) {
            if (!p->text)
                return 0;
            a->data = PyUnicode_AsUTF8AndSize(o, &a->nbytes);
            if (a->data == NULL) {   /* lone surrogates: the pure converter words the error */
                PyErr_Clear();
                return 0;
            }
            return 1;
        }
        if (PyObject_GetBuffer(o, &a->view, PyBUF_C_CONTIGUOUS) < 0) {
            PyErr_Clear();
            return 0;
        }
        a->has_view = 1;
        a->data = a->view.buf;
        a->nbytes = a->view.len;
        return 1;
    }
    /* list[T]: a buffer of the matching format, else a list or tuple of exact numbers */
    if (!PyList_CheckExact(o) && !PyTuple_CheckExact(o) && !PyUnicode_Check(o)) {
        if (PyObject_GetBuffer(o, &a->view, PyBUF_FORMAT | PyBUF_C_CONTIGUOUS) == 0) {
            char kind;
            if (a->view.ndim == 1 && format_kind(a->view.format, &kind)
                    && kind == elem_kind(p->elem) && a->view.itemsize == type_sizes[p->elem]) {
                a->has_view = 1;
                a->data = a->view.buf;
                a->nbytes = a->view.len;
                return 1;
            }
            PyBuffer_Release(&a->view);
        }
        PyErr_Clear();
        return 0;
    }
    return list_fast(p->elem, o, a);
}

/* Convert a scalar argument: C for exact ints and floats, the pure converter otherwise. */
static inline int convert_scalar(const Param *p, PyObject *o, int64_t *i, double *f) {
    if (p->type == T_BOOL) {
        int truth = PyObject_IsTrue(o);
        *i = truth;
        return truth < 0 ? -1 : 0;
    }
    if (scalar_fast(p->type, o, i, f))
        return 0;
    PyObject *core = PyObject_CallOneArg(p->convert, o);   /* raises the labelled error */
    if (core == NULL)
        return -1;
    int r = scalar_core(p->type, core, i, f);
    Py_DECREF(core);
    return r;
}

/* Convert one argument: C for the common cases, the pure converter for the rest. */
static int node_fast(const Node *n, PyObject *o);

static int convert_arg(const Param *p, PyObject *o, Arg *a) {
    if (!HOLDS(p->type))        /* a scalar holds nothing: its Arg is never cleared */
        return convert_scalar(p, o, &a->v.i, &a->v.f);
    a->has_view = 0;
    a->hold = NULL;
    a->tmp = NULL;
    if (p->type == T_NODE) {
        a->conv = !node_fast(p->node, o);
        a->hold = a->conv ? PyObject_CallOneArg(p->convert, o) : Py_NewRef(o);
        return a->hold == NULL ? -1 : 0;
    }
    int done = buffer_fast(p, o, a);
    if (done)
        return done < 0 ? -1 : 0;
    PyObject *core = PyObject_CallOneArg(p->convert, o);   /* raises the labelled error */
    if (core == NULL)
        return -1;
    if (p->type == T_BUFFER) {      /* a wasmimport._types.Fill: its writable view */
        a->hold = PyObject_GetAttrString(core, "view");
        Py_DECREF(core);
        if (a->hold == NULL
                || PyObject_GetBuffer(a->hold, &a->view, PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS) < 0)
            return -1;
        a->has_view = 1;
        a->data = a->view.buf;
        a->nbytes = a->view.len;
        return 0;
    }
    a->hold = core;
    if (PyObject_GetBuffer(core, &a->view, PyBUF_C_CONTIGUOUS) < 0)
        return -1;
    a->has_view = 1;
    a->data = a->view.buf;
    a->nbytes = a->view.len;
    return 0;
}

/* ---- lowering (the store lock is held) ---- */

/* One call of the guest's allocator for `size` bytes at `align`: 0 with the address in
 * *ptr (which may be anything: the caller checks it), -1 if the call itself failed. */
static int allocator_call(FunctionObject *fn, uint32_t align, uint32_t size, uint32_t *ptr) {
    GuestObject *g = fn->guest;
    RawVal vals[4];
    memset(vals, 0, sizeof vals);
    int r;
    if (g->has_alloc) {
        vals[0].i32 = (int32_t)size;
        r = store_call(fn->store, fn->owner, &g->alloc, vals, 1, fn->alloc_label, 0);
    } else {
        vals[2].i32 = (int32_t)align;
        vals[3].i32 = (int32_t)size;
        r = store_call(fn->store, fn->owner, &g->realloc, vals, 4, fn->alloc_label, 0);
    }
    *ptr = (uint32_t)vals[0].i32;
    return r;
}

/* Raise what fn->alloc_failed makes of an allocation: refused (no exception pending; `ptr`
 * is what the allocator returned) or whose allocator call raised (the pending exception,
 * which stays as it is, traceback included, unless it means the guest is out of memory). */
static int allocation_failed(FunctionObject *fn, uint32_t align, Py_ssize_t size,
                             uint32_t ptr) {
    PyObject *type = NULL, *value = NULL, *tb = NULL;
    if (PyErr_Occurred()) {
        PyErr_Fetch(&type, &value, &tb);
        PyErr_NormalizeException(&type, &value, &tb);
    }
    PyObject *r = PyObject_CallFunction(fn->alloc_failed, "InIO", (unsigned)align, size,
                                        (unsigned)ptr, value ? value : Py_None);
    if (r != NULL && r == value) {
        PyErr_Restore(type, value, tb);
        Py_DECREF(r);
        return -1;
    }
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(tb);
    if (r == NULL)
        return -1;
    if (PyExceptionInstance_Check(r))
        PyErr_SetObject((PyObject *)Py_TYPE(r), r);
    else
        PyErr_SetString(PyExc_SystemError, "wasmimport: alloc_failed returned no exception");
    Py_DECREF(r);
    return -1;
}

/* ---- Scratch: argument buffers lent for one call ----
 * With [abi] free the guest must not free or keep an argument buffer, so the host may put
 * it anywhere that stays valid for the call.  The first call that needs room allocates
 * SCRATCH_SIZE bytes from the guest (its allocator, once; never freed: the instance owns
 * it); later calls copy small arguments there instead of calling the allocator and the
 * free export.  A call nested in another (wasm -> host function -> wasm) finds it held and
 * allocates as before; so does a buffer too large for what is left. */
#define SCRATCH_SIZE 16384
#define SCRATCH_ALIGN 8

/* Room for `size` bytes at `align` in the scratch block for this call: 1 with the address
 * in *out, 0 when the allocator must serve it, -1 on a failed allocator call. */
static int scratch_take(FunctionObject *fn, uint32_t align, uint64_t size, uint32_t *out,
                        Owned *owned) {
    GuestObject *g = fn->guest;
    if (g->scratch_refused || (g->scratch_top && !owned->holds_scratch)
            || size > SCRATCH_SIZE || align > SCRATCH_ALIGN)
        return 0;
    if (g->scratch == 0) {
        uint32_t ptr;
        if (allocator_call(fn, SCRATCH_ALIGN, SCRATCH_SIZE, &ptr) < 0) {
            /* an allocator that gives up by trapping is one that returned NULL */
            allocation_failed(fn, SCRATCH_ALIGN, SCRATCH_SIZE, 0);
            if (!PyErr_ExceptionMatches(PyExc_MemoryError))
                return -1;
            PyErr_Clear();
            ptr = 0;
        }
        if (ptr == 0 || ptr % SCRATCH_ALIGN || !guest_contains(g, ptr, SCRATCH_SIZE)) {
            /* a guest short of memory (or with an odd allocator) goes on without it; a
             * [limits] memory refusal on the way is not the call's to report */
            g->scratch_refused = 1;
            fn->store->refused_size = 0;
            return 0;
        }
        g->scratch = ptr;
    }
    uint64_t at = (g->scratch_top + align - 1) / align * align;
    if (at + size > SCRATCH_SIZE)
        return 0;
    g->scratch_top = (uint32_t)(at + size);      /* size > 0: now held */
    owned->holds_scratch = 1;
    *out = g->scratch + (uint32_t)at;
    return 1;
}

/* The end of a call that held the scratch block: the next call starts it afresh. */
static inline void scratch_release(GuestObject *g, Owned *owned) {
    if (owned->holds_scratch) {
        g->scratch_top = 0;
        owned->holds_scratch = 0;
    }
}

static int guest_alloc(FunctionObject *fn, uint32_t align, Py_ssize_t size, uint32_t *out,
                       Owned *owned) {
    GuestObject *g = fn->guest;
    uint32_t ptr = 0;
    if ((uint64_t)size > 0xFFFFFFFFu)
        goto failed;
    if (g->has_free && size == 0 && g->scratch) {
        *out = g->scratch;           /* lent and empty: any valid address, no allocator call */
        return 0;
    }
    if (g->has_free && size) {
        int lent = scratch_take(fn, align, (uint64_t)size, out, owned);
        if (lent)
            return lent < 0 ? -1 : 0;
    }
    if (allocator_call(fn, align, (uint32_t)size, &ptr) < 0)
        return allocation_failed(fn, align, size, 0);
    if ((size && ptr == 0) || ptr % align || !guest_contains(g, ptr, (uint64_t)size))
        goto failed;
    if (g->has_free && size) {
        if (owned->nowned == owned->cap) {
            uint32_t *grown = PyMem_Malloc(sizeof(uint32_t) * (size_t)owned->cap * 2);
            if (grown == NULL) {
                PyErr_NoMemory();
                return -1;
            }
            memcpy(grown, owned->owned, sizeof(uint32_t) * owned->nowned);
            if (owned->owned != owned->first)
                PyMem_Free(owned->owned);
            owned->owned = grown;
            owned->cap *= 2;
        }
        owned->owned[owned->nowned++] = ptr;
    }
    *out = ptr;
    return 0;
failed:
    return allocation_failed(fn, align, size, ptr);
}

/* Allocate a buffer argument in the guest, copy it in; its (ptr, count) go to `pair`. */
static int lower_buffer(FunctionObject *fn, const Param *p, Arg *a, uint32_t pair[2],
                        Owned *owned) {
    uint32_t align = p->type == T_LIST ? (uint32_t)type_sizes[p->elem] : 1;
    uint32_t ptr;
    if (guest_alloc(fn, align, a->nbytes, &ptr, owned) < 0)
        return -1;
    a->gptr = ptr;
    if (a->nbytes)
        memcpy(fn->guest->base + ptr, a->data, a->nbytes);
    pair[0] = ptr;
    pair[1] = (uint32_t)(p->type == T_LIST ? a->nbytes / type_sizes[p->elem] : a->nbytes);
    return 0;
}

/* A scalar's core value into its flat slot. */
static inline void write_slot(RawVal *v, int t, int64_t i, double f) {
    switch (t) {
    case T_I64: case T_U64: v->i64 = i; break;
    case T_F32: v->f32 = (float)f; break;
    case T_F64: v->f64 = f; break;
    default: v->i32 = (int32_t)i;
    }
}

static PyObject *lift_scalar(int t, const RawVal *v);
static PyObject *lift_list(int elem, const uint8_t *src, uint32_t n);

/* The str, bytes or numeric list (`t`: T_STR, T_BYTES, T_LIST of `elem`) whose {ptr, count}
 * pair a result holds; NULL without an exception when C declines (a pointer misaligned or
 * out of bounds, invalid UTF-8): the pure lift then raises the Trap. */
static PyObject *lift_block(GuestObject *g, int t, int elem, const uint32_t pair[2]) {
    int elem_size = t == T_LIST ? type_sizes[elem] : 1;
    uint64_t nbytes = (uint64_t)pair[1] * elem_size;
    if (pair[0] % elem_size || !guest_contains(g, pair[0], nbytes))
        return NULL;
    const char *data = (const char *)g->base + pair[0];
    PyObject *value;
    if (t == T_STR)
        value = PyUnicode_DecodeUTF8(data, (Py_ssize_t)nbytes, NULL);
    else if (t == T_BYTES)
        value = PyBytes_FromStringAndSize(data, (Py_ssize_t)nbytes);
    else
        value = lift_list(elem, (const uint8_t *)data, pair[1]);
    if (value == NULL)
        PyErr_Clear();
    return value;
}

#include "_speedups_compound.h"

static int lower_args(FunctionObject *fn, Arg *args, RawVal *vals, Owned *owned) {
    if (fn->spill_size) {
        uint32_t record;
        if (guest_alloc(fn, fn->spill_align, fn->spill_size, &record, owned) < 0)
            return -1;
        for (int k = 0; k < fn->nparams; k++) {
            const Param *p = &fn->params[k];
            char field[8];
            if (p->type == T_NODE) {
                if (node_store(fn, p->node, args[k].hold, args[k].conv, record + p->offset,
                               owned) < 0)
                    return -1;
                continue;
            }
            if (IS_BUFFER(p->type)) {
                uint32_t pair[2];
                if (lower_buffer(fn, p, &args[k], pair, owned) < 0)
                    return -1;
                memcpy(field, pair, 8);
            } else
                store_scalar(field, p->type, args[k].v.i, args[k].v.f);
            /* the allocations above may have grown memory, but never moved it */
            memcpy(fn->guest->base + record + p->offset, field,
                   IS_BUFFER(p->type) ? 8 : type_sizes[p->type]);
        }
        vals[0].i32 = (int32_t)record;
        return 0;
    }
    for (int k = 0; k < fn->nparams; k++) {
        const Param *p = &fn->params[k];
        RawVal *v = &vals[p->slot];
        if (p->type == T_NODE) {
            if (node_lower(fn, p->node, args[k].hold, args[k].conv, v, owned) < 0)
                return -1;
        } else if (IS_BUFFER(p->type)) {
            uint32_t pair[2];
            if (lower_buffer(fn, p, &args[k], pair, owned) < 0)
                return -1;
            v[0].i32 = (int32_t)pair[0];
            v[1].i32 = (int32_t)pair[1];
        } else
            write_slot(v, p->type, args[k].v.i, args[k].v.f);
    }
    return 0;
}

/* ---- lifting ---- */

static PyObject *lift_scalar(int t, const RawVal *v) {
    switch (t) {
    case T_I8: return PyLong_FromLong((int8_t)v->i32);
    case T_I16: return PyLong_FromLong((int16_t)v->i32);
    case T_I32: return PyLong_FromLong(v->i32);
    case T_U8: return PyLong_FromLong((uint8_t)v->i32);
    case T_U16: return PyLong_FromLong((uint16_t)v->i32);
    case T_U32: return PyLong_FromUnsignedLong((uint32_t)v->i32);
    case T_I64: return PyLong_FromLongLong(v->i64);
    case T_U64: return PyLong_FromUnsignedLongLong((uint64_t)v->i64);
    case T_F32: return PyFloat_FromDouble(v->f32);
    case T_F64: return PyFloat_FromDouble(v->f64);
    default: return PyBool_FromLong(v->i32 != 0);
    }
}

static PyObject *lift_list(int elem, const uint8_t *src, uint32_t n) {
    PyObject *list = PyList_New(n);
    if (list == NULL)
        return NULL;
    int size = type_sizes[elem];
    for (uint32_t k = 0; k < n; k++) {
        RawVal v;
        memcpy(&v, src + (size_t)k * size, size);
        if (size == 1) v.i32 = *(const int8_t *)&v;          /* widen like the core value */
        else if (size == 2) v.i32 = *(const int16_t *)&v;
        PyObject *item = lift_scalar(elem, &v);
        if (item == NULL) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, k, item);
    }
    return list;
}

/* The result read from a return area; NULL without an exception when C declines. */
static PyObject *lift_indirect(FunctionObject *fn, uint32_t retptr) {
    GuestObject *g = fn->guest;
    if (retptr % 4 || !guest_contains(g, retptr, 8))
        return NULL;
    uint32_t pair[2];
    memcpy(pair, g->base + retptr, 8);
    return lift_block(g, fn->result, fn->result_elem, pair);
}

static PyObject *lift_result(FunctionObject *fn, const RawVal *out) {
    if (fn->result == -1)
        Py_RETURN_NONE;
    if (fn->result == -2) {
        PyObject *tuple = PyTuple_New(fn->nresults);
        if (tuple == NULL)
            return NULL;
        for (int k = 0; k < fn->nresults; k++) {
            char c = fn->result_core[k];
            PyObject *item = lift_scalar(c == 'i' ? T_I32 : c == 'I' ? T_I64 :
                                         c == 'f' ? T_F32 : T_F64, &out[k]);
            if (item == NULL) {
                Py_DECREF(tuple);
                return NULL;
            }
            PyTuple_SET_ITEM(tuple, k, item);
        }
        return tuple;
    }
    PyObject *value;
    if (fn->result == T_NODE) {
        const Node *n = fn->result_node;
        uint32_t retptr = (uint32_t)out[0].i32;
        if (!fn->indirect)
            value = node_lift_flat(fn, n, out);
        else if (retptr % n->align == 0 && guest_contains(fn->guest, retptr, n->size))
            value = node_load(fn, n, retptr);
        else
            value = NULL;
    } else if (!fn->indirect)
        return lift_scalar(fn->result, out);
    else
        value = lift_indirect(fn, (uint32_t)out[0].i32);
    if (value == NULL && !PyErr_Occurred())   /* refused: the pure lift decides or raises */
        value = PyObject_CallFunction(fn->lift, "i", out[0].i32);
    return value;
}

/* ---- the call ---- */

/* A clean-up call (free, post-return) made whatever happened before: an exception already
 * pending stays, unless the clean-up fails too, whose error then wins (like `finally`). */
static int cleanup_call(FunctionObject *fn, const Handle *func, RawVal *vals, size_t nvals,
                        PyObject *label) {
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    if (store_call(fn->store, fn->owner, func, vals, nvals, label, 0) == 0) {
        PyErr_Restore(type, value, tb);
        return type ? -1 : 0;
    }
    if (type != NULL) {
        PyErr_NormalizeException(&type, &value, &tb);
        PyObject *t2, *v2, *tb2;
        PyErr_Fetch(&t2, &v2, &tb2);
        PyErr_NormalizeException(&t2, &v2, &tb2);
        if (tb != NULL)
            PyException_SetTraceback(value, tb);
        PyException_SetContext(v2, value);   /* steals value */
        Py_DECREF(type);
        Py_XDECREF(tb);
        PyErr_Restore(t2, v2, tb2);
    }
    return -1;
}

#define STACK_PARAMS 8

/* Whether the pending exception says an argument did not fit in guest memory: the
 * MemoryError or OverflowError that alloc_failed marked (see wasmimport._guest.unplaced). */
static int unplaced_pending(void) {
    if (!PyErr_ExceptionMatches(PyExc_MemoryError)
            && !PyErr_ExceptionMatches(PyExc_OverflowError))
        return 0;
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    PyObject *mark = value ? PyObject_GetAttrString(value, "_wasmimport_unplaced") : NULL;
    int yes = mark == Py_True;
    Py_XDECREF(mark);
    PyErr_Clear();
    PyErr_Restore(type, value, tb);
    return yes;
}

/* Bind positional and keyword arguments in parameter order (defaults applied): a call
 * that leaves out trailing defaults is bound here, into `filled` (STACK_PARAMS long). */
static PyObject *const *bind_args(FunctionObject *fn, PyObject *const *args, size_t nargsf,
                                  PyObject *kwnames, PyObject **bound_tuple,
                                  PyObject **filled) {
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    if (kwnames == NULL && nargs == fn->all_positional)
        return args;
    if (kwnames == NULL && nargs < fn->all_positional && nargs >= fn->first_default
            && fn->all_positional <= STACK_PARAMS) {
        for (Py_ssize_t k = 0; k < nargs; k++)
            filled[k] = args[k];
        for (Py_ssize_t k = nargs; k < fn->all_positional; k++)
            filled[k] = PyTuple_GET_ITEM(fn->defaults, k - fn->first_default);
        return filled;
    }
    /* anything else (defaults, keywords, mistakes): CPython binds a Python twin */
    PyObject *bound = PyObject_Vectorcall(fn->binder, args, nargsf, kwnames);
    if (bound == NULL)
        return NULL;
    *bound_tuple = bound;
    if (!PyTuple_CheckExact(bound) || PyTuple_GET_SIZE(bound) != fn->nparams) {
        PyErr_SetString(PyExc_SystemError, "wasmimport: the binder returned a wrong tuple");
        return NULL;
    }
    return &PyTuple_GET_ITEM(bound, 0);
}

/* Call, post-return and lift for a function whose values all travel as core values. */
static PyObject *call_scalars(FunctionObject *fn, PyObject *const *values) {
    RawVal vals[STACK_PARAMS];
    for (int k = 0; k < fn->nparams; k++) {
        const Param *p = &fn->params[k];
        int64_t i = 0;
        double f = 0;
        if (convert_scalar(p, values[k], &i, &f) < 0)
            return NULL;
        write_slot(&vals[p->slot], p->type, i, f);
    }
    StoreObject *s = fn->store;
    if (store_enter(s) < 0)
        return NULL;
    PyObject *result = NULL;
    if (store_call(s, fn->owner, &fn->func, vals, fn->nslots, fn->label,
                   fn->release_gil) == 0) {
        result = lift_result(fn, vals);
        if (fn->has_post && cleanup_call(fn, &fn->post, vals,
                                         fn->nresults ? fn->nresults : 1, fn->label) < 0)
            Py_CLEAR(result);
    }
    store_exit(s);
    return result;
}

static PyObject *Function_vectorcall(FunctionObject *fn, PyObject *const *args,
                                     size_t nargsf, PyObject *kwnames) {
    PyObject *bound = NULL;
    PyObject *filled[STACK_PARAMS];
    PyObject *const *values = bind_args(fn, args, nargsf, kwnames, &bound, filled);
    if (values == NULL)
        return NULL;
    if (fn->scalars_only) {
        PyObject *result = call_scalars(fn, values);
        Py_XDECREF(bound);
        return result;
    }

    RawVal stack_vals[STACK_PARAMS];
    Arg stack_args[STACK_PARAMS];
    uint32_t stack_owned[STACK_PARAMS + 1];
    RawVal *vals = stack_vals;
    Arg *cargs = stack_args;
    Owned owned = {stack_owned, 0, STACK_PARAMS + 1, stack_owned, 0};
    PyObject *result = NULL;
    int n = fn->nparams;
    int converted = 0;          /* the Args to clear: the converted ones and a failed one */
    int lowered = 1;

    if (fn->nslots > STACK_PARAMS || n > STACK_PARAMS) {
        vals = PyMem_Calloc(fn->nslots, sizeof(RawVal));
        cargs = PyMem_Calloc(n ? n : 1, sizeof(Arg));
        owned.owned = owned.first = PyMem_Calloc(n + 1, sizeof(uint32_t));
        owned.cap = n + 1;
        if (vals == NULL || cargs == NULL || owned.owned == NULL) {
            PyErr_NoMemory();
            goto done;
        }
    }

    while (converted < n) {
        converted++;
        if (convert_arg(&fn->params[converted - 1], values[converted - 1],
                        &cargs[converted - 1]) < 0)
            goto done;
    }

    StoreObject *s = fn->store;
    if (store_enter(s) < 0)
        goto done;
    lowered = lower_args(fn, cargs, vals, &owned) == 0;
    int failed = !lowered || store_call(s, fn->owner, &fn->func, vals, fn->nslots, fn->label,
                      fn->release_gil) < 0;
    /* buffer arguments: what the guest wrote goes back to the caller's buffer */
    for (int k = 0; fn->writes_back && !failed && k < n; k++)
        if (fn->params[k].type == T_BUFFER && cargs[k].nbytes)
            memcpy(cargs[k].view.buf, fn->guest->base + cargs[k].gptr, cargs[k].nbytes);
    /* [abi] free: the host owns the argument buffers */
    for (int k = 0; k < owned.nowned; k++) {
        RawVal v;
        v.i32 = (int32_t)owned.owned[k];
        failed |= cleanup_call(fn, &fn->guest->free, &v, 1, fn->free_label) < 0;
    }
    if (!failed) {            /* the frees above took their own slots: vals holds the results */
        result = lift_result(fn, vals);
        if (fn->has_post && cleanup_call(fn, &fn->post, vals, fn->nresults ? fn->nresults : 1,
                                         fn->label) < 0)
            Py_CLEAR(result);
    }
    scratch_release(fn->guest, &owned);
    store_exit(s);

done:
    for (int k = 0; k < converted; k++)
        if (HOLDS(fn->params[k].type))
            arg_clear(&cargs[k]);
    if (owned.owned != owned.first)
        PyMem_Free(owned.owned);
    if (vals != stack_vals) {
        PyMem_Free(vals);
        PyMem_Free(cargs);
        PyMem_Free(owned.first);
    }
    if (result == NULL && !lowered && fn->oversize != NULL && unplaced_pending()) {
        /* the bound arguments, keyword-only ones by keyword; the store is free again, so
         * the fallback may call the guest */
        PyErr_Clear();
        result = PyObject_Vectorcall(fn->oversize, values, fn->npositional, fn->kwonly_names);
    }
    Py_XDECREF(bound);
    return result;
}

/* ---- construction ---- */

static int type_code(PyObject *name) {
    for (int t = 0; t < T_COUNT; t++)
        if (PyUnicode_CompareWithASCIIString(name, type_names[t]) == 0)
            return t;
    PyErr_Format(PyExc_ValueError, "unknown type code %R", name);
    return -1;
}

/* A type spec is a name ("u32", "str", ...), ("list", element name), or the spec of a
 * compound type's Node tree, (kind, flat, size, align, ...). */
static int parse_type(PyObject *spec, int *t, int *elem, Node **node) {
    *elem = -1;
    if (PyTuple_Check(spec) && PyTuple_GET_SIZE(spec) >= 4) {
        *t = T_NODE;
        *node = node_new(spec);
        return *node == NULL ? -1 : 0;
    }
    if (PyTuple_Check(spec) && PyTuple_GET_SIZE(spec) == 2) {
        if ((*t = type_code(PyTuple_GET_ITEM(spec, 0))) < 0
                || (*elem = type_code(PyTuple_GET_ITEM(spec, 1))) < 0)
            return -1;
        if (*t != T_LIST || IS_BUFFER(*elem) || *elem == T_BOOL) {
            PyErr_Format(PyExc_ValueError, "unsupported list type %R", spec);
            return -1;
        }
        return 0;
    }
    if (!PyUnicode_Check(spec)) {
        PyErr_Format(PyExc_TypeError, "type spec must be str or tuple, not %R", spec);
        return -1;
    }
    *t = type_code(spec);
    if (*t == T_LIST || *t == T_NODE) {
        PyErr_SetString(PyExc_ValueError, "list needs an element type, node a spec");
        return -1;
    }
    return *t < 0 ? -1 : 0;
}

static int core_flat(const Param *p) {
    return p->type == T_NODE ? p->node->nflat : IS_BUFFER(p->type) ? 2 : 1;
}

static PyObject *Function_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {
        "store", "owner", "func", "label", "params", "result", "core_results", "guest",
        "post", "spill", "release_gil", "binder", "lift", "alloc_failed", "alloc_label",
        "free_label", "signature", "defaults", "oversize", NULL
    };
    PyObject *store, *owner, *func, *label, *params, *result, *core_results, *guest, *post;
    PyObject *spill, *binder, *lift, *alloc_failed, *alloc_label, *free_label, *signature;
    PyObject *defaults, *oversize = Py_None;
    int release_gil;
    ModuleState *st = type_state(type);
    if (!PyArg_ParseTupleAndKeywords(
            args, kwds, "$O!OOUO!OO!OOOpOOOOOOO!O:Function", kwlist, st->Store_Type, &store,
            &owner, &func, &label, &PyTuple_Type, &params, &result, &PyUnicode_Type,
            &core_results, &guest, &post, &spill, &release_gil, &binder, &lift,
            &alloc_failed, &alloc_label, &free_label, &signature, &PyTuple_Type, &defaults,
            &oversize))
        return NULL;
    if (guest != Py_None && !PyObject_TypeCheck(guest, st->Guest_Type)) {
        PyErr_SetString(PyExc_TypeError, "guest must be a Guest or None");
        return NULL;
    }
    FunctionObject *fn = (FunctionObject *)type->tp_alloc(type, 0);
    if (fn == NULL)
        return NULL;
    fn->vectorcall = (vectorcallfunc)Function_vectorcall;
    fn->store = (StoreObject *)Py_NewRef(store);
    fn->owner = Py_NewRef(owner);
    fn->guest = guest == Py_None ? NULL : (GuestObject *)Py_NewRef(guest);
    fn->label = Py_NewRef(label);
    fn->binder = Py_NewRef(binder);
    fn->defaults = Py_NewRef(defaults);
    fn->lift = Py_NewRef(lift);
    fn->alloc_failed = Py_NewRef(alloc_failed);
    fn->alloc_label = Py_NewRef(alloc_label);
    fn->free_label = Py_NewRef(free_label);
    fn->signature = Py_NewRef(signature);
    fn->oversize = oversize == Py_None ? NULL : Py_NewRef(oversize);
    fn->release_gil = (char)release_gil;
    char present;
    if (read_handle(func, &fn->func, &present, "func") < 0
            || read_handle(post, &fn->post, &fn->has_post, "post") < 0)
        goto error;
    if (!present) {
        PyErr_SetString(PyExc_ValueError, "Function() needs a func");
        goto error;
    }

    /* core results: a string of 'i' (i32), 'I' (i64), 'f' (f32), 'd' (f64) */
    Py_ssize_t nres;
    const char *cores = PyUnicode_AsUTF8AndSize(core_results, &nres);
    if (cores == NULL)
        goto error;
    if (nres > 4) {
        PyErr_SetString(PyExc_ValueError, "at most 4 core results");
        goto error;
    }
    fn->nresults = (int)nres;
    memcpy(fn->result_core, cores, nres);
    if (result == Py_None)
        fn->result = nres > 0 ? -2 : -1;
    else if (parse_type(result, &fn->result, &fn->result_elem, &fn->result_node) < 0)
        goto error;
    fn->indirect = fn->result >= 0 && (IS_BUFFER(fn->result)
                                       || (fn->result == T_NODE && fn->result_node->nflat > 1));
    fn->specs = Py_NewRef(params);           /* what Param and result nodes point into */
    fn->result_spec = Py_NewRef(result);

    fn->nparams = fn->npositional = (int)PyTuple_GET_SIZE(params);
    if (PyTuple_GET_SIZE(defaults) > fn->nparams) {
        PyErr_SetString(PyExc_ValueError, "more defaults than parameters");
        goto error;
    }
    fn->first_default = fn->nparams - (int)PyTuple_GET_SIZE(defaults);
    fn->params = PyMem_Calloc(fn->nparams ? fn->nparams : 1, sizeof(Param));
    if (fn->params == NULL) {
        PyErr_NoMemory();
        goto error;
    }
    int slot = 0;
    PyObject *offsets = NULL;
    if (spill != Py_None) {
        unsigned int align, size;
        if (!PyArg_ParseTuple(spill, "IIO!;spill must be (align, size, offsets)", &align,
                              &size, &PyTuple_Type, &offsets))
            goto error;
        if (PyTuple_GET_SIZE(offsets) != fn->nparams || size == 0) {
            PyErr_SetString(PyExc_ValueError, "spill offsets do not match the parameters");
            goto error;
        }
        fn->spill_align = align;
        fn->spill_size = size;
    }
    for (int k = 0; k < fn->nparams; k++) {
        Param *p = &fn->params[k];
        PyObject *name, *spec, *convert;
        int keyword_only;
        if (!PyArg_ParseTuple(PyTuple_GET_ITEM(params, k), "UOOp;param must be (name, type, "
                              "converter, keyword_only)", &name, &spec, &convert,
                              &keyword_only))
            goto error;
        if (keyword_only && fn->npositional == fn->nparams)
            fn->npositional = k;       /* the first keyword-only one: the rest are too */
        if (PyUnicode_Check(spec) && PyUnicode_CompareWithASCIIString(spec, "bytes | str") == 0) {
            p->type = T_BYTES;
            p->elem = -1;
            p->text = 1;
        } else if (parse_type(spec, &p->type, &p->elem, &p->node) < 0)
            goto error;
        p->name = Py_NewRef(name);
        p->convert = Py_NewRef(convert);
        p->slot = slot;
        slot += core_flat(p);
        if (offsets) {
            unsigned long off = PyLong_AsUnsignedLong(PyTuple_GET_ITEM(offsets, k));
            if (off == (unsigned long)-1 && PyErr_Occurred())
                goto error;
            p->offset = (uint32_t)off;
        }
    }
    fn->all_positional = fn->npositional == fn->nparams ? fn->nparams : -1;
    if (fn->npositional < fn->nparams) {
        fn->kwonly_names = PyTuple_New(fn->nparams - fn->npositional);
        if (fn->kwonly_names == NULL)
            goto error;
        for (int k = fn->npositional; k < fn->nparams; k++)
            PyTuple_SET_ITEM(fn->kwonly_names, k - fn->npositional,
                             Py_NewRef(fn->params[k].name));
    }
    if (offsets)
        slot = 1;
    fn->nslots = slot > fn->nresults ? slot : fn->nresults;
    if (fn->nslots == 0)
        fn->nslots = 1;
    int uses_memory = fn->spill_size || fn->indirect
        || (fn->result == T_NODE && node_uses_memory(fn->result_node));
    int nodes = fn->result == T_NODE;
    for (int k = 0; k < fn->nparams; k++) {
        const Param *p = &fn->params[k];
        uses_memory |= IS_BUFFER(p->type) || (p->type == T_NODE && node_uses_memory(p->node));
        nodes |= p->type == T_NODE;
        fn->writes_back |= p->type == T_BUFFER;
    }
    if (uses_memory && fn->guest == NULL) {
        PyErr_SetString(PyExc_ValueError, "this signature needs a guest");
        goto error;
    }
    fn->scalars_only = !uses_memory && !nodes && fn->nslots <= STACK_PARAMS;
    return (PyObject *)fn;
error:
    Py_DECREF(fn);
    return NULL;
}

static int Function_traverse(FunctionObject *fn, visitproc visit, void *arg) {
    Py_VISIT(Py_TYPE(fn));
    Py_VISIT(fn->store);
    Py_VISIT(fn->owner);
    Py_VISIT(fn->guest);
    Py_VISIT(fn->binder);
    Py_VISIT(fn->defaults);
    Py_VISIT(fn->lift);
    Py_VISIT(fn->alloc_failed);
    Py_VISIT(fn->oversize);
    Py_VISIT(fn->kwonly_names);
    Py_VISIT(fn->signature);
    Py_VISIT(fn->dict);
    Py_VISIT(fn->specs);
    Py_VISIT(fn->result_spec);
    for (int k = 0; fn->params && k < fn->nparams; k++)
        Py_VISIT(fn->params[k].convert);
    return 0;
}

/* Only the attribute dict: everything a call uses stays while the Function does, so a call
 * from a `__del__` run while the collector takes a module apart still works (every cycle
 * through a Function also runs through Python objects, which the collector clears). */
static int Function_clear(FunctionObject *fn) {
    Py_CLEAR(fn->dict);
    return 0;
}

static void Function_dealloc(FunctionObject *fn) {
    PyObject_GC_UnTrack(fn);
    if (fn->weakrefs)
        PyObject_ClearWeakRefs((PyObject *)fn);
    Py_CLEAR(fn->dict);
    Py_CLEAR(fn->store);
    Py_CLEAR(fn->owner);
    Py_CLEAR(fn->guest);
    Py_CLEAR(fn->binder);
    Py_CLEAR(fn->defaults);
    Py_CLEAR(fn->lift);
    Py_CLEAR(fn->alloc_failed);
    Py_CLEAR(fn->oversize);
    Py_CLEAR(fn->kwonly_names);
    Py_CLEAR(fn->signature);
    Py_CLEAR(fn->label);
    Py_CLEAR(fn->alloc_label);
    Py_CLEAR(fn->free_label);
    if (fn->params) {
        for (int k = 0; k < fn->nparams; k++) {
            Py_CLEAR(fn->params[k].convert);
            Py_CLEAR(fn->params[k].name);
            node_free(fn->params[k].node);
        }
        PyMem_Free(fn->params);
    }
    node_free(fn->result_node);
    Py_CLEAR(fn->specs);          /* after the nodes, which borrow from them */
    Py_CLEAR(fn->result_spec);
    free_instance((PyObject *)fn);
}

static PyObject *Function_repr(FunctionObject *fn) {
    /* the label without its "()" */
    PyObject *name = PyUnicode_Substring(fn->label, 0, PyUnicode_GET_LENGTH(fn->label) - 2);
    if (name == NULL)
        return NULL;
    PyObject *repr = PyUnicode_FromFormat("<wasm function %U>", name);
    Py_DECREF(name);
    return repr;
}

/* Pickle by reference, like a C function: the module's attribute of this name. */
static PyObject *Function_reduce(FunctionObject *fn, PyObject *unused) {
    return PyObject_GetAttrString((PyObject *)fn, "__qualname__");
}

/* inspect.signature(): built on first request by wasmimport._binding (imports inspect). */
static PyObject *Function_get_signature(FunctionObject *fn, void *closure) {
    PyObject *binding = PyImport_ImportModule("wasmimport._binding");
    if (binding == NULL)
        return NULL;
    PyObject *sig = PyObject_CallMethod(binding, "python_signature", "O", fn);
    Py_DECREF(binding);
    return sig;
}

static PyObject *Function_get_wasm_signature(FunctionObject *fn, void *closure) {
    return Py_NewRef(fn->signature);
}

/* Like a built-in function, it does not bind as a method; having __get__ also makes
 * inspect and pydoc treat it as a routine (help() shows its signature). */
static PyObject *Function_descr_get(PyObject *self, PyObject *obj, PyObject *type) {
    return Py_NewRef(self);
}

static PyMethodDef Function_methods[] = {
    {"__reduce__", (PyCFunction)Function_reduce, METH_NOARGS, NULL},
    {NULL}
};

static PyGetSetDef Function_getset[] = {
    {"__dict__", PyObject_GenericGetDict, PyObject_GenericSetDict, NULL, NULL},
    {"__signature__", (getter)Function_get_signature, NULL, NULL, NULL},
    {"__wasm_signature__", (getter)Function_get_wasm_signature, NULL,
     "The manifest signature this function was bound with.", NULL},
    {NULL}
};

#if PY_VERSION_HEX < 0x030C0000
#include <structmember.h>
#define Py_T_PYSSIZET T_PYSSIZET
#define Py_READONLY READONLY
#endif

static PyMemberDef Function_members[] = {
    {"__vectorcalloffset__", Py_T_PYSSIZET, offsetof(FunctionObject, vectorcall), Py_READONLY},
    {"__dictoffset__", Py_T_PYSSIZET, offsetof(FunctionObject, dict), Py_READONLY},
    {"__weaklistoffset__", Py_T_PYSSIZET, offsetof(FunctionObject, weakrefs), Py_READONLY},
    {NULL}
};

static PyType_Slot Function_slots[] = {
    {Py_tp_doc, "A wasm export bound to a Python signature (the compiled call path)."},
    {Py_tp_new, Function_new},
    {Py_tp_dealloc, Function_dealloc},
    {Py_tp_traverse, Function_traverse},
    {Py_tp_clear, Function_clear},
    {Py_tp_repr, Function_repr},
    {Py_tp_call, PyVectorcall_Call},
    {Py_tp_members, Function_members},
    {Py_tp_methods, Function_methods},
    {Py_tp_getset, Function_getset},
    {Py_tp_descr_get, Function_descr_get},
    {0, NULL}
};

static PyType_Spec Function_spec = {
    "wasmimport._speedups.Function", sizeof(FunctionObject), 0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL
    | Py_TPFLAGS_IMMUTABLETYPE, Function_slots
};

/* ================================================================= module */

static int speedups_exec(PyObject *module) {
    ModuleState *st = PyModule_GetState(module);
    struct { PyTypeObject **slot; PyType_Spec *spec; } types[] = {
        {&st->Engine_Type, &Engine_spec}, {&st->Store_Type, &Store_spec},
        {&st->Region_Type, &Region_spec}, {&st->Host_Type, &Host_spec},
        {&st->Guest_Type, &Guest_spec}, {&st->Function_Type, &Function_spec},
    };
    for (size_t k = 0; k < sizeof types / sizeof *types; k++) {
        PyObject *type = PyType_FromModuleAndSpec(module, types[k].spec, NULL);
        if (type == NULL)
            return -1;
        *types[k].slot = (PyTypeObject *)type;
        const char *dot = strrchr(types[k].spec->name, '.');
        if (PyModule_AddObjectRef(module, dot + 1, type) < 0)
            return -1;
    }
    PyObject *names = PyTuple_New(T_COUNT);
    if (names == NULL)
        return -1;
    for (int t = 0; t < T_COUNT; t++) {
        PyObject *s = PyUnicode_FromString(type_names[t]);
        if (s == NULL) {
            Py_DECREF(names);
            return -1;
        }
        PyTuple_SET_ITEM(names, t, s);
    }
    int r = PyModule_AddObjectRef(module, "TYPES", names);
    Py_DECREF(names);
    if (r < 0 || PyModule_AddIntConstant(module, "TICK_MS", TICK_MS) < 0)
        return -1;
    struct { const char *name; void *address; } addresses[] = {
        {"DEADLINE_CALLBACK", (void *)(uintptr_t)deadline_callback},
        {"HOST_TRAMPOLINE", (void *)(uintptr_t)host_trampoline},
    };
    for (size_t k = 0; k < sizeof addresses / sizeof *addresses; k++) {
        PyObject *address = PyLong_FromVoidPtr(addresses[k].address);
        if (address == NULL)
            return -1;
        r = PyModule_AddObjectRef(module, addresses[k].name, address);
        Py_DECREF(address);
        if (r < 0)
            return -1;
    }
    return 0;
}

static int speedups_traverse(PyObject *module, visitproc visit, void *arg) {
    ModuleState *st = PyModule_GetState(module);
    Py_VISIT(st->Engine_Type);
    Py_VISIT(st->Store_Type);
    Py_VISIT(st->Region_Type);
    Py_VISIT(st->Host_Type);
    Py_VISIT(st->Guest_Type);
    Py_VISIT(st->Function_Type);
    return 0;
}

static int speedups_clear(PyObject *module) {
    ModuleState *st = PyModule_GetState(module);
    Py_CLEAR(st->Engine_Type);
    Py_CLEAR(st->Store_Type);
    Py_CLEAR(st->Region_Type);
    Py_CLEAR(st->Host_Type);
    Py_CLEAR(st->Guest_Type);
    Py_CLEAR(st->Function_Type);
    return 0;
}

static void speedups_free(void *module) {
    speedups_clear((PyObject *)module);
}

static PyMethodDef speedups_methods[] = {
    {"restart_watchdog", restart_watchdog, METH_NOARGS,
     "Start the watchdog thread again in a child process made by fork()."},
    {"watched_engines", watched_engines, METH_NOARGS,
     "How many engines (of every interpreter) the watchdog ticks now."},
    {"raise_interrupt", raise_interrupt, METH_NOARGS,
     "Run Python's SIGINT handler for a SIGINT the watchdog took over."},
    {"memory_creator", memory_creator, METH_VARARGS,
     "memory_creator(config, config_set, error_new): memories that report [limits] memory."},
    {NULL}
};

/* Multi-phase init with per-module state: safe in subinterpreters, each with its own GIL
 * (the watchdog, the only process-wide part, has its own lock).  Not declared free-threading
 * safe (Py_mod_gil): that cannot be tested here yet. */
static PyModuleDef_Slot speedups_slots[] = {
    {Py_mod_exec, speedups_exec},
#if PY_VERSION_HEX >= 0x030C0000
    {Py_mod_multiple_interpreters, Py_MOD_PER_INTERPRETER_GIL_SUPPORTED},
#endif
    {0, NULL}
};

static struct PyModuleDef speedups_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "wasmimport._speedups",
    .m_doc = "The compiled call path of wasmimport (see _speedups.c).",
    .m_size = sizeof(ModuleState),
    .m_methods = speedups_methods,
    .m_slots = speedups_slots,
    .m_traverse = speedups_traverse,
    .m_clear = speedups_clear,
    .m_free = speedups_free,
};

PyMODINIT_FUNC PyInit__speedups(void) {
    return PyModuleDef_Init(&speedups_module);
}
