/* Monotonic time and 64-bit calendar arithmetic (include/mamori/clock.h). */
#include <time.h>

#include "mamori/clock.h"

uint64_t mm_clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int64_t mm_clock_days(int y, int m, int d)
{
	int64_t era, yoe, doy, doe, yy = (int64_t)y - (m <= 2);

	era = (yy >= 0 ? yy : yy - 399) / 400;
	yoe = yy - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int mm_clock_mdays(int y, int m)
{
	static const int d[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	if (m < 1 || m > 12)
		return 0;
	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return d[m - 1];
}

int64_t mm_clock_timegm(const struct tm *tm)
{
	return mm_clock_days(tm->tm_year + 1900, tm->tm_mon + 1, tm->tm_mday) * 86400 +
	       (int64_t)tm->tm_hour * 3600 + tm->tm_min * 60 + tm->tm_sec;
}
