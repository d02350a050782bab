/* kernels/guest.c -- the compute kernels of kernels.h as wasm exports (bench_traps.py). */
#include "wasmimport.h"
#include "kernels.h"

WI_EXPORT(crc32_rounds) uint32_t crc32_rounds(uint32_t n) { return kernel_crc32_rounds(n); }
WI_EXPORT(sieve) uint32_t sieve(uint32_t n) { return kernel_sieve(n); }
WI_EXPORT(matmul) double matmul(uint32_t n) { return kernel_matmul(n); }
