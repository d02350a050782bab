/*
 * kernels.h -- compute kernels built twice by benchmarks/bench_traps.py: into a wasm guest
 * (kernels/guest.c) and into a native CPython extension (kernels/native.c), so that the
 * cost of wasm's memory-access checks is measured against the same C compiled natively.
 *
 * Each kernel works on static memory (no libc, no allocation) with loads and stores in
 * its inner loop -- what explicit bounds checks make dearer -- and returns a value that
 * depends on all of its work, so none of it can be optimised away.
 *
 *   crc32_rounds(n)  table-driven CRC-32 of a 64 KiB buffer, n times over
 *   sieve(n)         primes below n (n <= SIEVE_MAX), sieve of Eratosthenes on bytes
 *   matmul(n)        the trace of C = A x B for n x n f64 matrices (n <= MATMUL_MAX)
 */
#ifndef BENCH_KERNELS_H
#define BENCH_KERNELS_H

#include <stdint.h>

#define CRC_BUFFER (64 * 1024)
#define SIEVE_MAX (1 << 22)
#define MATMUL_MAX 128

static uint32_t crc_table[256];
static uint8_t crc_buffer[CRC_BUFFER];
static uint8_t sieve_marks[SIEVE_MAX];
static double mat_a[MATMUL_MAX * MATMUL_MAX], mat_b[MATMUL_MAX * MATMUL_MAX],
    mat_c[MATMUL_MAX * MATMUL_MAX];

static uint32_t kernel_crc32_rounds(uint32_t n) {
    if (crc_table[1] == 0) {
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++)
                c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            crc_table[i] = c;
        }
        for (uint32_t i = 0; i < CRC_BUFFER; i++)
            crc_buffer[i] = (uint8_t)(i * 2654435761u >> 24);
    }
    uint32_t crc = 0xFFFFFFFFu;
    for (uint32_t r = 0; r < n; r++)
        for (uint32_t i = 0; i < CRC_BUFFER; i++)
            crc = crc_table[(crc ^ crc_buffer[i]) & 0xFF] ^ (crc >> 8);
    return crc ^ 0xFFFFFFFFu;
}

static uint32_t kernel_sieve(uint32_t n) {
    if (n > SIEVE_MAX)
        n = SIEVE_MAX;
    for (uint32_t i = 0; i < n; i++)
        sieve_marks[i] = 1;
    uint32_t count = 0;
    for (uint32_t i = 2; i < n; i++) {
        if (!sieve_marks[i])
            continue;
        count++;
        for (uint64_t j = (uint64_t)i * i; j < n; j += i)
            sieve_marks[j] = 0;
    }
    return count;
}

static double kernel_matmul(uint32_t n) {
    if (n > MATMUL_MAX)
        n = MATMUL_MAX;
    for (uint32_t i = 0; i < n * n; i++) {
        mat_a[i] = (double)(i % 7) - 3.0;
        mat_b[i] = (double)(i % 5) * 0.5;
    }
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t j = 0; j < n; j++) {
            double sum = 0.0;
            for (uint32_t k = 0; k < n; k++)
                sum += mat_a[i * n + k] * mat_b[k * n + j];
            mat_c[i * n + j] = sum;
        }
    double trace = 0.0;
    for (uint32_t i = 0; i < n; i++)
        trace += mat_c[i * n + i];
    return trace;
}

#endif
