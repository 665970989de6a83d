/*
 * echonet_peer: an ECHONET Lite device and controller for mamori-gw's
 * integration tests, on plain UDP sockets (port 3610, as the standard says).
 *
 *   echonet_peer device ADDR [--inf-period MS --inf-to ADDR] [--ignore EPC]
 *                [--count N]
 *	A temperature sensor (class 0x0011, instance 1) with the node profile
 *	(0x0EF001), bound to ADDR port 3610. It answers:
 *	  Get (0x62) of readable properties with Get_Res (0x72); when one of
 *	    the properties asked is unknown, Get_SNA (0x52) where the unknown
 *	    ones have PDC 0 and the others their data;
 *	  SetC (0x61) with Set_Res (0x71) when every property is writable, else
 *	    SetC_SNA (0x51) echoing the refused properties with their data and
 *	    the accepted ones with PDC 0; SetI (0x60) is answered only when
 *	    refused (SetI_SNA, 0x50);
 *	  nothing, ever, to a request that names the --ignore EPC (a device
 *	    whose firmware hangs on it: the requester sees No Response).
 *	With --inf-period it also sends, every MS milliseconds, an INF (0x73)
 *	of EPC 0xE0 (measured temperature) from 0x001101 to the controller
 *	object 0x05FF01 at the --inf-to address, port 3610; with --count it
 *	sends N of them and then stops sending (keeps answering).
 *	Prints "ready" once bound and one line per message it sends.
 *
 *   echonet_peer controller DEVICE_ADDR [--ignore EPC] [--wait MS]
 *	From port 3610 of the namespace's address, sends to the device, one
 *	after the other, each waiting up to --wait ms (default 1000) for the
 *	answer with its TID (INF and other datagrams are skipped):
 *	  TID 0001 Get 0x80 (operation status)      -> Get_Res
 *	  TID 0002 Get 0xF5 (no such property)      -> Get_SNA
 *	  TID 0003 SetC 0xE0 (read-only)            -> SetC_SNA
 *	  TID 0004 Get of the --ignore EPC (default 0x88) -> no answer
 *	and prints one line per request: "TID 0002 ESV 62 EPC F5 -> ESV 52"
 *	or "-> none".
 *
 * Frame (ECHONET Lite, format 1): EHD1 0x10, EHD2 0x81, TID (2), SEOJ (3),
 * DEOJ (3), ESV, OPC, then OPC times EPC, PDC, PDC bytes of EDT.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define EL_PORT 3610
#define EL_MAX 512
#define MAX_PROPS 16

#define ESV_SETI 0x60
#define ESV_SETC 0x61
#define ESV_GET 0x62
#define ESV_SETI_SNA 0x50
#define ESV_SETC_SNA 0x51
#define ESV_GET_SNA 0x52
#define ESV_SET_RES 0x71
#define ESV_GET_RES 0x72
#define ESV_INF 0x73

static const uint8_t eoj_sensor[3] = {0x00, 0x11, 0x01};
static const uint8_t eoj_node[3] = {0x0E, 0xF0, 0x01};
static const uint8_t eoj_controller[3] = {0x05, 0xFF, 0x01};

/* One property of an object: readable, writable, and its value. */
struct prop {
	const uint8_t *eoj;
	uint8_t epc;
	int get, set;
	uint8_t len;
	uint8_t edt[4];
};

static const struct prop props[] = {
	{eoj_sensor, 0x80, 1, 0, 1, {0x30}},       /* operation status: ON */
	{eoj_sensor, 0x81, 1, 1, 1, {0x08}},       /* installation location */
	{eoj_sensor, 0x88, 1, 0, 1, {0x42}},       /* fault status: none */
	{eoj_sensor, 0xE0, 1, 0, 2, {0x00, 0xDC}}, /* measured temperature: 22.0 C */
	{eoj_node, 0x80, 1, 0, 1, {0x30}},
	{eoj_node, 0x82, 1, 0, 4, {0x01, 0x0D, 0x01, 0x00}}, /* version 1.13 */
	{eoj_node, 0xD6, 1, 0, 4, {0x01, 0x00, 0x11, 0x01}}, /* instance list */
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static const struct prop *find_prop(const uint8_t *eoj, uint8_t epc)
{
	size_t i;

	for (i = 0; i < sizeof props / sizeof props[0]; i++)
		if (memcmp(props[i].eoj, eoj, 3) == 0 && props[i].epc == epc)
			return &props[i];
	return NULL;
}

static int parse_num(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 0);
	if (errno || end == s || *end || *out > max)
		return -1;
	return 0;
}

static int parse_addr(const char *s, struct sockaddr_in *sin)
{
	memset(sin, 0, sizeof *sin);
	sin->sin_family = AF_INET;
	sin->sin_port = htons(EL_PORT);
	return inet_pton(AF_INET, s, &sin->sin_addr) == 1 ? 0 : -1;
}

static void hex_line(const char *what, const uint8_t *p, size_t n)
{
	size_t i;

	printf("%s ", what);
	for (i = 0; i < n; i++)
		printf("%02X", p[i]);
	printf("\n");
	fflush(stdout);
}

/* Binds a UDP socket to addr (port 3610), or to any address when addr is NULL. */
static int bind_socket(const struct sockaddr_in *addr)
{
	struct sockaddr_in any;
	int fd, one = 1;

	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (!addr) {
		memset(&any, 0, sizeof any);
		any.sin_family = AF_INET;
		any.sin_port = htons(EL_PORT);
		addr = &any;
	}
	if (bind(fd, (const struct sockaddr *)addr, sizeof *addr) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Writes the 10-byte header; returns its length. */
static size_t put_header(uint8_t *out, uint16_t tid, const uint8_t *seoj, const uint8_t *deoj,
			 uint8_t esv)
{
	out[0] = 0x10;
	out[1] = 0x81;
	out[2] = (uint8_t)(tid >> 8);
	out[3] = (uint8_t)tid;
	memcpy(out + 4, seoj, 3);
	memcpy(out + 7, deoj, 3);
	out[10] = esv;
	out[11] = 0; /* OPC, counted as properties are added */
	return 12;
}

/* Appends one property; returns the new length or 0 when it does not fit. */
static size_t put_prop(uint8_t *out, size_t n, uint8_t epc, const uint8_t *edt, uint8_t pdc)
{
	if (n + 2u + pdc > EL_MAX)
		return 0;
	out[n] = epc;
	out[n + 1] = pdc;
	if (pdc)
		memcpy(out + n + 2, edt, pdc);
	out[11]++;
	return n + 2u + pdc;
}

/* ---- device ---- */

struct device {
	int fd;
	int ignore;  /* EPC never answered, or -1 */
};

/*
 * Answers one request of n bytes from `from`. Malformed frames and
 * requests the device must not answer are dropped.
 */
static void device_answer(struct device *d, const uint8_t *req, size_t n,
			  const struct sockaddr_in *from)
{
	uint8_t out[EL_MAX];
	const uint8_t *deoj;
	uint8_t esv, opc, ok_esv, sna_esv;
	size_t off, len, i;
	int refused = 0;
	struct {
		uint8_t epc, pdc;
		const uint8_t *edt;
	} in[MAX_PROPS];

	if (n < 12 || req[0] != 0x10 || req[1] != 0x81)
		return;
	deoj = req + 7;
	esv = req[10];
	opc = req[11];
	if (opc == 0 || opc > MAX_PROPS)
		return;
	/* An object this device does not have: ECHONET Lite says drop it. */
	if (memcmp(deoj, eoj_sensor, 3) != 0 && memcmp(deoj, eoj_node, 3) != 0)
		return;
	for (off = 12, i = 0; i < opc; i++) {
		if (off + 2 > n || off + 2 + req[off + 1] > n)
			return;
		in[i].epc = req[off];
		in[i].pdc = req[off + 1];
		in[i].edt = req + off + 2;
		off += 2u + req[off + 1];
		if (d->ignore >= 0 && in[i].epc == (uint8_t)d->ignore)
			return;
	}
	switch (esv) {
	case ESV_GET:
		ok_esv = ESV_GET_RES;
		sna_esv = ESV_GET_SNA;
		break;
	case ESV_SETC:
		ok_esv = ESV_SET_RES;
		sna_esv = ESV_SETC_SNA;
		break;
	case ESV_SETI:
		ok_esv = 0;
		sna_esv = ESV_SETI_SNA;
		break;
	default:
		return;
	}
	for (i = 0; i < opc; i++) {
		const struct prop *pr = find_prop(deoj, in[i].epc);

		if (esv == ESV_GET ? !(pr && pr->get) : !(pr && pr->set && in[i].pdc == pr->len))
			refused = 1;
	}
	if (!refused && !ok_esv)
		return;
	len = put_header(out, (uint16_t)(req[2] << 8 | req[3]), deoj, req + 4,
			 refused ? sna_esv : ok_esv);
	for (i = 0; i < opc; i++) {
		const struct prop *pr = find_prop(deoj, in[i].epc);

		if (esv == ESV_GET) {
			/* Get: the value when readable, PDC 0 when not. */
			if (pr && pr->get)
				len = put_prop(out, len, in[i].epc, pr->edt, pr->len);
			else
				len = put_prop(out, len, in[i].epc, NULL, 0);
		} else {
			/* Set: PDC 0 for what was accepted, the request's data for
			 * what was refused. */
			if (pr && pr->set && in[i].pdc == pr->len)
				len = put_prop(out, len, in[i].epc, NULL, 0);
			else
				len = put_prop(out, len, in[i].epc, in[i].edt, in[i].pdc);
		}
		if (!len)
			return;
	}

	if (sendto(d->fd, out, len, 0, (const struct sockaddr *)from, sizeof *from) < 0)
		fprintf(stderr, "echonet_peer: sendto: %s\n", strerror(errno));
	else
		hex_line("sent", out, len);
}

static void send_inf(struct device *d, const struct sockaddr_in *to, uint16_t tid)
{
	uint8_t out[EL_MAX];
	const struct prop *pr = find_prop(eoj_sensor, 0xE0);
	size_t len;

	len = put_header(out, tid, eoj_sensor, eoj_controller, ESV_INF);
	len = put_prop(out, len, pr->epc, pr->edt, pr->len);
	if (sendto(d->fd, out, len, 0, (const struct sockaddr *)to, sizeof *to) < 0)
		fprintf(stderr, "echonet_peer: INF: %s\n", strerror(errno));
	else
		hex_line("inf", out, len);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int run_device(int argc, char **argv)
{
	struct device d = {-1, -1};
	struct sockaddr_in self, inf_to;
	unsigned long period = 0, count = 0, v;
	unsigned long sent = 0;
	int have_inf_to = 0, i;
	long long next = 0;
	uint16_t tid = 0x1000;

	if (argc < 1 || parse_addr(argv[0], &self) < 0) {
		fprintf(stderr, "echonet_peer device: an IPv4 address first\n");
		return 2;
	}
	for (i = 1; i < argc; i++) {
		if (i + 1 >= argc)
			goto usage;
		if (strcmp(argv[i], "--inf-period") == 0 && parse_num(argv[i + 1], 600000, &period) == 0)
			;
		else if (strcmp(argv[i], "--inf-to") == 0 && parse_addr(argv[i + 1], &inf_to) == 0)
			have_inf_to = 1;
		else if (strcmp(argv[i], "--ignore") == 0 && parse_num(argv[i + 1], 255, &v) == 0)
			d.ignore = (int)v;
		else if (strcmp(argv[i], "--count") == 0 && parse_num(argv[i + 1], 1000000, &count) == 0)
			;
		else
			goto usage;
		i++;
	}
	if (period && !have_inf_to)
		goto usage;
	d.fd = bind_socket(&self);
	if (d.fd < 0) {
		fprintf(stderr, "echonet_peer: bind %s:%d: %s\n", argv[0], EL_PORT, strerror(errno));
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	next = now_ms();
	while (!stop) {
		struct pollfd pfd = {d.fd, POLLIN, 0};
		int wait_ms = 200;

		if (period && (!count || sent < count)) {
			long long left = next - now_ms();

			if (left <= 0) {
				send_inf(&d, &inf_to, tid++);
				sent++;
				next += (long long)period;
				continue;
			}
			wait_ms = left < 200 ? (int)left : 200;
		}
		if (poll(&pfd, 1, wait_ms) > 0) {
			uint8_t buf[EL_MAX];
			struct sockaddr_in from;
			socklen_t fl = sizeof from;
			ssize_t n = recvfrom(d.fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);

			if (n > 0)
				device_answer(&d, buf, (size_t)n, &from);
		}
	}
	close(d.fd);
	return 0;
usage:
	fprintf(stderr, "usage: echonet_peer device ADDR [--inf-period MS --inf-to ADDR] "
			"[--ignore EPC] [--count N]\n");
	return 2;
}

/* ---- controller ---- */

/* Sends one request and waits for the datagram with its TID; returns the
 * answer's ESV or -1 when none came. */
static int ask(int fd, const struct sockaddr_in *dev, uint16_t tid, uint8_t esv, uint8_t epc,
	       const uint8_t *edt, uint8_t pdc, int wait_ms)
{
	uint8_t out[EL_MAX], buf[EL_MAX];
	size_t len;
	long long end;

	len = put_header(out, tid, eoj_controller, eoj_sensor, esv);
	len = put_prop(out, len, epc, edt, pdc);
	if (sendto(fd, out, len, 0, (const struct sockaddr *)dev, sizeof *dev) < 0) {
		fprintf(stderr, "echonet_peer: sendto: %s\n", strerror(errno));
		return -1;
	}
	end = now_ms() + wait_ms;
	for (;;) {
		long long left = end - now_ms();
		struct pollfd pfd = {fd, POLLIN, 0};
		ssize_t n;

		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			return -1;
		n = recv(fd, buf, sizeof buf, 0);
		if (n >= 12 && buf[0] == 0x10 && buf[1] == 0x81 && buf[2] == (tid >> 8) &&
		    buf[3] == (tid & 0xFF) && buf[10] != ESV_INF)
			return buf[10];
	}
}

static int run_controller(int argc, char **argv)
{
	static const uint8_t temp[2] = {0x01, 0x2C};
	struct sockaddr_in dev;
	unsigned long ignore = 0x88, wait_ms = 1000;
	struct {
		uint8_t esv, epc, pdc;
		const uint8_t *edt;
	} reqs[4] = {
		{ESV_GET, 0x80, 0, NULL},
		{ESV_GET, 0xF5, 0, NULL},
		{ESV_SETC, 0xE0, 2, temp},
		{ESV_GET, 0x88, 0, NULL},
	};
	int fd, i, got;

	if (argc < 1 || parse_addr(argv[0], &dev) < 0) {
		fprintf(stderr, "echonet_peer controller: the device's IPv4 address first\n");
		return 2;
	}
	for (i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--ignore") == 0 && parse_num(argv[i + 1], 255, &ignore) == 0)
			continue;
		if (strcmp(argv[i], "--wait") == 0 && parse_num(argv[i + 1], 60000, &wait_ms) == 0)
			continue;
		fprintf(stderr, "usage: echonet_peer controller DEVICE_ADDR [--ignore EPC] [--wait MS]\n");
		return 2;
	}
	if (i != argc) {
		fprintf(stderr, "usage: echonet_peer controller DEVICE_ADDR [--ignore EPC] [--wait MS]\n");
		return 2;
	}
	reqs[3].epc = (uint8_t)ignore;
	fd = bind_socket(NULL);
	if (fd < 0) {
		fprintf(stderr, "echonet_peer: bind port %d: %s\n", EL_PORT, strerror(errno));
		return 1;
	}
	for (i = 0; i < 4; i++) {
		uint16_t tid = (uint16_t)(i + 1);

		got = ask(fd, &dev, tid, reqs[i].esv, reqs[i].epc, reqs[i].edt, reqs[i].pdc,
			  (int)wait_ms);
		if (got < 0)
			printf("TID %04X ESV %02X EPC %02X -> none\n", tid, reqs[i].esv, reqs[i].epc);
		else
			printf("TID %04X ESV %02X EPC %02X -> ESV %02X\n", tid, reqs[i].esv,
			       reqs[i].epc, got);
		fflush(stdout);
	}
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (argc >= 2 && strcmp(argv[1], "device") == 0)
		return run_device(argc - 2, argv + 2);
	if (argc >= 2 && strcmp(argv[1], "controller") == 0)
		return run_controller(argc - 2, argv + 2);
	fprintf(stderr, "usage: echonet_peer device ADDR [options] | controller DEVICE_ADDR [options]\n");
	return 2;
}
