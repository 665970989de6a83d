/*
 * Monotonic time for timeouts, intervals and rates: never goes back when the
 * wall clock is set.
 *
 *	uint64_t end = mm_clock_ms() + 1000;
 *	while (mm_clock_ms() < end) ...
 */
#ifndef MAMORI_CLOCK_H
#define MAMORI_CLOCK_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Milliseconds of CLOCK_MONOTONIC. */
uint64_t mm_clock_ms(void);

#ifdef __cplusplus
}
#endif
#endif
