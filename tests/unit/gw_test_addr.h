/*
 * mamori-gw's unit tests: an address from text, for building packets.
 * Included by the tests that build gw_packet values by hand.
 */
#ifndef GW_TEST_ADDR_H
#define GW_TEST_ADDR_H

#include <arpa/inet.h>
#include <string.h>

#include "gw.h"

/* An IPv4 or IPv6 address from text; the test fails on anything else. */
static __attribute__((unused)) struct gw_addr addr(const char *s)
{
	struct gw_addr a;

	memset(&a, 0, sizeof a);
	if (inet_pton(AF_INET, s, a.ip) == 1) {
		a.family = 4;
	} else {
		assert_int_equal(inet_pton(AF_INET6, s, a.ip), 1);
		a.family = 6;
	}
	return a;
}

#endif
