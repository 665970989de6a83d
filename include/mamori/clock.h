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

/*
 * Calendar arithmetic in 64 bits on every CPU: timegm(3) and time_t end in
 * 2038 where time_t is 32-bit (armel, mipsel), and certificates and support
 * periods reach past it.
 *
 * mm_clock_days: days from 1970-01-01 to y-m-d (m 1..12) in the proleptic
 * Gregorian calendar; m and d are not checked (see mm_clock_mdays).
 * mm_clock_mdays: the days in month m (1..12) of year y, 0 for another m.
 * mm_clock_timegm: seconds since the epoch of a UTC struct tm (tm_year,
 * tm_mon, tm_mday, tm_hour, tm_min, tm_sec; not normalised).
 *
 *	mm_clock_days(2040, 1, 1)      -> 25567
 */
struct tm;
int64_t mm_clock_days(int y, int m, int d);
int mm_clock_mdays(int y, int m);
int64_t mm_clock_timegm(const struct tm *tm);

#ifdef __cplusplus
}
#endif
#endif
