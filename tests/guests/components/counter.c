/* The counter component (counter.wit): an exported resource, by hand to the Canonical ABI.
 *
 * The component gives the core module three builtins for its own resource type, imported
 * from "[export]<interface>": [resource-new] (a representation, here a pointer, to a new
 * handle in the component's table), [resource-rep] (handle to representation) and
 * [resource-drop] (which runs the destructor, "<interface>#[dtor]counter", when it drops
 * the last handle).  An own<counter> crosses as a handle; a borrow<counter> of our own type
 * arrives as the representation itself.
 */
#include <stdint.h>
#include <stdlib.h>

#define IFACE "demo:counter/counters@0.1.0"
#define EXPORT(name) __attribute__((export_name(IFACE "#" name)))
#define BUILTIN(name) __attribute__((import_module("[export]" IFACE), import_name(name)))

typedef struct { int64_t value; } counter;

BUILTIN("[resource-new]counter") int32_t resource_new(counter *rep);
BUILTIN("[resource-rep]counter") counter *resource_rep(int32_t handle);
BUILTIN("[resource-drop]counter") void resource_drop(int32_t handle);

static uint32_t drop_count;

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

static int32_t new_counter(int64_t start) {
    counter *c = malloc(sizeof *c);
    if (!c) __builtin_trap();
    c->value = start;
    return resource_new(c);
}

EXPORT("[constructor]counter") int32_t counter_new(int64_t start) { return new_counter(start); }

EXPORT("[method]counter.increment") void counter_increment(counter *self, int64_t by) {
    self->value = (int64_t)((uint64_t)self->value + (uint64_t)by);
}

EXPORT("[method]counter.value") int64_t counter_value(counter *self) { return self->value; }

EXPORT("[static]counter.zero") int32_t counter_zero(void) { return new_counter(0); }

EXPORT("[dtor]counter") void counter_dtor(counter *self) {
    drop_count++;
    free(self);
}

EXPORT("total") int64_t total(counter *c) { return c->value; }

/* a: an owned handle (ours now: we drop it, which runs the destructor); b: borrowed */
EXPORT("merge") int32_t merge(int32_t a, counter *b) {
    int64_t sum = (int64_t)((uint64_t)resource_rep(a)->value + (uint64_t)b->value);
    resource_drop(a);
    return new_counter(sum);
}

EXPORT("drops") uint32_t drops(void) { return drop_count; }
