#define _GNU_SOURCE
/*
 * sim_mirai_strings: an ELF that carries strings well known from Mirai's
 * source, for the YARA rule data/yara/mirai.yar, and does nothing else: it
 * writes /var/sim/mirai.ran and exits 0. It is installed in a
 * non-volatile place, so that only its content can get it stopped.
 */
#include "sim.h"

/* Kept in the binary (used below), never acted upon. */
static const char *const strings[] __attribute__((used)) = {
	"/bin/busybox MIRAI", "dvrHelper", ".nippon", "/dev/watchdog", "listening tun0",
	"POST /cdn-cgi/",
};

int main(void)
{
	size_t i, total = 0;

	for (i = 0; i < sizeof(strings) / sizeof(strings[0]); i++)
		total += strlen(strings[i]);
	sim_mark("mirai.ran", total > 0 ? "ran\n" : "?\n");
	return 0;
}
