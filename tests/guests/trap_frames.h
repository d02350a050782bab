/*
 * trap_frames.h -- shared by the test guests: C stack frames that a trap abandons.
 *
 * trap_with_frame() keeps 4 KiB on the C shadow stack (linear memory, below
 * __stack_pointer) and traps before its epilogue restores __stack_pointer.  The host must
 * restore it, or every such trap leaks 4 KiB of stack until none is left.
 */
#ifndef TRAP_FRAMES_H
#define TRAP_FRAMES_H

#include "wasmimport.h"

static void fill(volatile uint8_t *buf, uint32_t n) {
    for (uint32_t i = 0; i < n; i++)
        buf[i] = (uint8_t)i;
}

WI_EXPORT(trap_with_frame) void trap_with_frame(void) {
    volatile uint8_t buf[4096];
    fill(buf, sizeof buf);
    __builtin_trap();
}

#endif
