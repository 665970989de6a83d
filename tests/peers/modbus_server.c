/*
 * modbus_server: a small Modbus/TCP device for mamori-gw's integration tests.
 *
 *   modbus_server ADDR PORT
 *
 * Listens on ADDR:PORT (IPv4 or IPv6) and serves one client at a time, each
 * until it disconnects, until SIGTERM or SIGINT. The register map is small
 * on purpose: 16 coils, 16 discrete inputs, 16 holding registers (holding
 * register i holds 100 + i) and 16 input registers, all from address 0.
 * Every request goes through libmodbus's modbus_reply(), so a function it
 * does not implement is answered with exception 0x01 ILLEGAL FUNCTION and an
 * address outside the map with 0x02 ILLEGAL DATA ADDRESS, as a real device
 * built on libmodbus would answer.
 *
 * Prints "listening ADDR PORT" once it listens and one line per request
 * served ("request FUNCTION LENGTH"), flushed, so that a test can follow it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <modbus.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAP_SIZE 16

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* Parses a TCP port number; returns 0 and *out or -1. */
static int parse_port(const char *s, char *out, size_t size)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v == 0 || v > 65535)
		return -1;
	if ((size_t)snprintf(out, size, "%lu", v) >= size)
		return -1;
	return 0;
}

/* Serves one connected client until it goes away or a signal comes. */
static void serve(modbus_t *ctx, modbus_mapping_t *map)
{
	uint8_t req[MODBUS_TCP_MAX_ADU_LENGTH];
	int n;

	while (!stop) {
		n = modbus_receive(ctx, req);
		if (n < 0)
			return;
		if (n == 0)
			continue;
		/* The function code follows the 7-byte MBAP header. */
		printf("request %02X %d\n", req[7], n);
		fflush(stdout);
		if (modbus_reply(ctx, req, n, map) < 0)
			return;
	}
}

int main(int argc, char **argv)
{
	modbus_t *ctx = NULL;
	modbus_mapping_t *map = NULL;
	struct sigaction sa;
	char port[8];
	int ls = -1, i, rc = 1;

	if (argc != 3 || parse_port(argv[2], port, sizeof port) < 0) {
		fprintf(stderr, "usage: modbus_server ADDR PORT\n");
		return 2;
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* The _pi variant resolves the address with getaddrinfo, so IPv6 works. */
	ctx = modbus_new_tcp_pi(argv[1], port);
	if (!ctx) {
		fprintf(stderr, "modbus_server: %s\n", modbus_strerror(errno));
		goto fail;
	}
	modbus_set_slave(ctx, 1);
	map = modbus_mapping_new(MAP_SIZE, MAP_SIZE, MAP_SIZE, MAP_SIZE);
	if (!map) {
		fprintf(stderr, "modbus_server: %s\n", modbus_strerror(errno));
		goto fail;
	}
	for (i = 0; i < MAP_SIZE; i++) {
		map->tab_registers[i] = (uint16_t)(100 + i);
		map->tab_input_registers[i] = (uint16_t)(200 + i);
		map->tab_bits[i] = (uint8_t)(i & 1);
		map->tab_input_bits[i] = (uint8_t)((i + 1) & 1);
	}
	ls = modbus_tcp_pi_listen(ctx, 1);
	if (ls < 0) {
		fprintf(stderr, "modbus_server: listen %s %s: %s\n", argv[1], port,
			modbus_strerror(errno));
		goto fail;
	}
	printf("listening %s %s\n", argv[1], port);
	fflush(stdout);
	while (!stop) {
		if (modbus_tcp_pi_accept(ctx, &ls) < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "modbus_server: accept: %s\n", modbus_strerror(errno));
			goto fail;
		}
		serve(ctx, map);
		/* modbus_close() closes the client socket; the listener stays open. */
		modbus_close(ctx);
	}
	rc = 0;
fail:
	if (ls >= 0)
		close(ls);
	if (map)
		modbus_mapping_free(map);
	if (ctx)
		modbus_free(ctx);
	return rc;
}
