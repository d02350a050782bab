/* The store component (store.wit): a resource it *imports*, by hand to the Canonical ABI.
 *
 * The host defines `tally`: the component knows tallies only as handles into its own table
 * (i32), which the host fills as they cross.  Its constructor, methods and static function
 * are imports from the interface's module; [resource-drop]tally gives a handle back.  A
 * method's `self` (a borrow) is the handle.  A tally an export borrows is a handle too, which
 * the guest must drop before it returns.
 */
#include <stdint.h>
#include <stdlib.h>

#define IFACE "demo:store/tallies@0.1.0"
#define IMPORT(name) __attribute__((import_module(IFACE), import_name(name)))

IMPORT("[constructor]tally") int32_t tally_new(int64_t start);
IMPORT("[method]tally.add") void tally_add(int32_t self, int64_t n);
IMPORT("[method]tally.total") int64_t tally_total(int32_t self);
IMPORT("[static]tally.big") int32_t tally_big(void);
IMPORT("consume") int64_t consume(int32_t t);
IMPORT("[resource-drop]tally") void tally_drop(int32_t handle);

static int32_t held = -1;

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

__attribute__((export_name("run"))) int64_t run(int64_t start, int64_t n) {
    int32_t t = tally_new(start);
    for (int i = 0; i < 3; i++) tally_add(t, n);
    int32_t big = tally_big();
    tally_add(t, tally_total(big));
    tally_drop(big);
    return consume(t);             /* t moves to the host: no drop here */
}

__attribute__((export_name("hold"))) void hold(int32_t t) {
    if (held >= 0) tally_drop(held);
    held = t;
}

__attribute__((export_name("release-held"))) int64_t release_held(void) {
    if (held < 0) __builtin_trap();
    int64_t total = tally_total(held);
    tally_drop(held);
    held = -1;
    return total;
}

__attribute__((export_name("peek"))) int64_t peek(int32_t t, int32_t keep) {
    int64_t total = tally_total(t);
    if (!keep) tally_drop(t);      /* a borrow: dropping it ends the loan, the host keeps t */
    return total;
}

__attribute__((export_name("regift"))) int64_t regift(int32_t t) {
    return consume(t);             /* a borrow passed as own: the host must refuse it */
}
