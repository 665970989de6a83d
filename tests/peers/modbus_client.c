/*
 * modbus_client: the Modbus/TCP requester of mamori-gw's integration tests.
 *
 *   modbus_client ADDR PORT
 *
 * Connects to modbus_server (tests/peers/modbus_server.c) with libmodbus as
 * unit 1 and makes four requests on one connection, in this order:
 *   1. read holding registers 0..3              (answered: 100 101 102 103)
 *   2. write holding register 1 with 42         (answered)
 *   3. read 2 holding registers at address 1000 (outside the map: exception
 *      0x02 ILLEGAL DATA ADDRESS)
 *   4. a raw request with function 0x41, which no Modbus device implements
 *      (exception 0x01 ILLEGAL FUNCTION)
 * and prints one line per request with what came back:
 *   read 0 4 ok 100 101 102 103
 *   write 1 42 ok
 *   read 1000 2 exception 02
 *   raw 41 exception 01
 * Exit status 0 when it could connect and every request got an answer
 * (an exception is an answer), 1 otherwise.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <modbus.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Prints how a libmodbus call failed: the exception code a device sent,
 * or the local error. Returns 0 for an exception (the device answered). */
static int print_failure(void)
{
	int e = errno;

	if (e > MODBUS_ENOBASE && e <= MODBUS_ENOBASE + 0x0B) {
		printf(" exception %02X\n", e - MODBUS_ENOBASE);
		return 0;
	}
	printf(" error %s\n", modbus_strerror(e));
	return -1;
}

static int read_regs(modbus_t *ctx, int addr, int n)
{
	uint16_t regs[8];
	int i;

	printf("read %d %d", addr, n);
	if (n > 8 || modbus_read_registers(ctx, addr, n, regs) != n)
		return print_failure();
	printf(" ok");
	for (i = 0; i < n; i++)
		printf(" %u", regs[i]);
	printf("\n");
	return 0;
}

static int write_reg(modbus_t *ctx, int addr, uint16_t v)
{
	printf("write %d %u", addr, v);
	if (modbus_write_register(ctx, addr, v) != 1)
		return print_failure();
	printf(" ok\n");
	return 0;
}

/* Sends function fn with a 2-byte argument as a raw request and reports
 * the function code and exception code of the answer. */
static int raw_request(modbus_t *ctx, uint8_t fn)
{
	uint8_t req[4] = {1, fn, 0x00, 0x01};
	uint8_t rsp[MODBUS_TCP_MAX_ADU_LENGTH];
	int n;

	printf("raw %02X", fn);
	if (modbus_send_raw_request(ctx, req, (int)sizeof req) < 0)
		return print_failure();
	n = modbus_receive_confirmation(ctx, rsp);
	if (n < 0)
		return print_failure();
	/* MBAP header (7 bytes), then the function and, for an exception
	 * (function | 0x80), its code. */
	if (n >= 9 && rsp[7] == (fn | 0x80)) {
		printf(" exception %02X\n", rsp[8]);
		return 0;
	}
	printf(" answer of %d bytes, function %02X\n", n, n > 7 ? rsp[7] : 0);
	return 0;
}

int main(int argc, char **argv)
{
	modbus_t *ctx;
	int rc = 0;

	if (argc != 3) {
		fprintf(stderr, "usage: modbus_client ADDR PORT\n");
		return 2;
	}
	ctx = modbus_new_tcp_pi(argv[1], argv[2]);
	if (!ctx) {
		fprintf(stderr, "modbus_client: %s\n", modbus_strerror(errno));
		return 1;
	}
	modbus_set_slave(ctx, 1);
	modbus_set_response_timeout(ctx, 2, 0);
	if (modbus_connect(ctx) < 0) {
		fprintf(stderr, "modbus_client: connect %s %s: %s\n", argv[1], argv[2],
			modbus_strerror(errno));
		modbus_free(ctx);
		return 1;
	}
	if (read_regs(ctx, 0, 4) < 0)
		rc = 1;
	if (write_reg(ctx, 1, 42) < 0)
		rc = 1;
	if (read_regs(ctx, 1000, 2) < 0)
		rc = 1;
	if (raw_request(ctx, 0x41) < 0)
		rc = 1;
	fflush(stdout);
	modbus_close(ctx);
	modbus_free(ctx);
	return rc;
}
