/*
 * A gateway that speaks Modbus/TCP to two devices and reports their errors
 * as X.1367 records with libmamori's reporter (include/mamori/reporter.h).
 *
 *	example_reporter [-m MAP] SPOOLDIR [URL]
 *
 * It loads the Modbus/TCP mapping table (MAP, by default the source tree's
 * data/errmap/modbus.map), opens the spool in SPOOLDIR, and plays out what
 * a gateway would see:
 *   1. it asks device 192.168.2.50 for three holding registers at 0x006B;
 *      the device answers with exception 0x02 ILLEGAL DATA ADDRESS, which
 *      the table maps to 31 Invalid Argument;
 *   2. it asks device 192.168.2.51 the same, and gets no answer: a second
 *      later the reporter makes a No Response (10) record.
 * Each record is printed (one JSON line each) as on_record receives it, and
 * spooled as an RFC 5424 message. With URL ("relp://127.0.0.1:2514",
 * "tcp://...", "udp://..."), the spool is then drained to that syslog
 * receiver with an mm_sender; without one the records stay in SPOOLDIR,
 * where a later run (or `mamori send`) can send them.
 *
 * Times are given explicitly, as a gateway replaying a capture would: a
 * real gateway passes the time each message was seen (or {0, 0} for now)
 * and calls mm_reporter_tick(r, NULL) from its loop.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mamori/error.h"
#include "mamori/errmap.h"
#include "mamori/log.h"
#include "mamori/reporter.h"
#include "mamori/send.h"
#include "mamori/spool.h"

/* Read Holding Registers (0x03), unit 1, from address 0x006B, 3 registers;
 * the MBAP header's first two bytes are the transaction id. */
static const uint8_t req_50[] = {0x00, 0x01, 0x00, 0x00, 0x00, 0x06,
				 0x01, 0x03, 0x00, 0x6B, 0x00, 0x03};
/* The device's exception response: function 0x83, exception code 0x02. */
static const uint8_t resp_50[] = {0x00, 0x01, 0x00, 0x00, 0x00, 0x03, 0x01, 0x83, 0x02};
/* The same request, transaction 2, to the device that will not answer. */
static const uint8_t req_51[] = {0x00, 0x02, 0x00, 0x00, 0x00, 0x06,
				 0x01, 0x03, 0x00, 0x6B, 0x00, 0x03};

/* Prints each record as the reporter makes it. */
static void print_record(void *arg, const struct mm_x1367_record *rec, const char *json,
			 size_t len)
{
	unsigned *n = arg;

	(void)rec;
	printf("%.*s\n", (int)len, json);
	(*n)++;
}

static struct timespec plus_ms(struct timespec t, long ms)
{
	t.tv_sec += ms / 1000;
	t.tv_nsec += (ms % 1000) * 1000000L;
	if (t.tv_nsec >= 1000000000L) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000L;
	}
	return t;
}

/* Drains the spool to url; returns 0 when every record was confirmed. */
static int send_all(struct mm_spool *sp, const char *url)
{
	struct mm_sender_opts so;
	struct mm_sender *s;
	struct mm_send_counters c;
	int i, rc;

	mm_sender_opts_default(&so);
	if (mm_send_url_parse(url, &so.url) < 0) {
		fprintf(stderr, "example_reporter: bad URL %s\n", url);
		return MM_EINVAL;
	}
	if ((rc = mm_sender_new(&so, sp, &s)) < 0)
		return rc;
	/* Ten seconds at most: a receiver that is down keeps the records in
	 * the spool for the next run. */
	for (i = 0; i < 10 && (rc = mm_sender_drain(s, 1000)) == MM_EAGAIN; i++)
		;
	mm_sender_counters(s, &c);
	fprintf(stderr, "example_reporter: sent %llu, confirmed %llu, pending %llu\n",
		(unsigned long long)c.sent, (unsigned long long)c.acked,
		(unsigned long long)c.pending);
	mm_sender_free(s);
	return rc;
}

int main(int argc, char **argv)
{
	const char *map_path = EXAMPLE_MAP;
	struct mm_errmap *map = NULL;
	struct mm_errmap_err err;
	struct mm_spool *sp = NULL;
	struct mm_reporter_opts o;
	struct mm_reporter *r = NULL;
	struct mm_reporter_stats st;
	struct mm_reporter_msg m;
	struct mm_reporter_status es;
	struct timespec t0;
	unsigned records = 0;
	uint16_t tid;
	int ch, rc, status = 1;

	while ((ch = getopt(argc, argv, "m:")) != -1) {
		if (ch != 'm')
			goto usage;
		map_path = optarg;
	}
	if (argc - optind < 1 || argc - optind > 2)
		goto usage;
	mm_log_init(1, "example_reporter");

	if ((rc = mm_errmap_load_file(&map, map_path, &err)) < 0) {
		fprintf(stderr, "%s:%d: %s\n", map_path, err.line, err.msg);
		goto done;
	}
	if ((rc = mm_spool_open(argv[optind], NULL, &sp, NULL)) < 0) {
		fprintf(stderr, "example_reporter: spool %s: %s\n", argv[optind],
			mm_strerror(rc));
		goto done;
	}

	/* The gateway is the Reporter; records go to on_record and the spool. */
	mm_reporter_opts_default(&o);
	o.reporter.kind = MM_X1367_ID_IP;
	o.reporter.id = "192.168.2.11";
	o.map = map;
	o.spool = sp;
	o.timeout_ms = 1000;
	o.on_record = print_record;
	o.arg = &records;
	if ((rc = mm_reporter_new(&o, &r)) < 0) {
		fprintf(stderr, "example_reporter: reporter: %s\n", mm_strerror(rc));
		goto done;
	}
	clock_gettime(CLOCK_REALTIME, &t0);

	/* 1. A request, and the exception response that pairs with it by the
	 * transaction id (the key), the protocol and the two parties. */
	memset(&m, 0, sizeof m);
	m.protocol = "Modbus/TCP";
	m.requester = (struct mm_reporter_party){MM_X1367_ID_IP, "192.168.2.11"};
	m.responder = (struct mm_reporter_party){MM_X1367_ID_IP, "192.168.2.50"};
	tid = (uint16_t)(req_50[0] << 8 | req_50[1]);
	m.key = &tid;
	m.key_len = sizeof tid;
	m.raw = req_50;
	m.raw_len = sizeof req_50;
	m.time = t0;
	if ((rc = mm_reporter_request(r, &m, 0)) < 0)
		goto fail;
	m.raw = resp_50;
	m.raw_len = sizeof resp_50;
	m.time = plus_ms(t0, 12);
	m.detail = "Read Holding Registers 0x006B x3";
	es = (struct mm_reporter_status){MM_REPORTER_ERR_NUM, .num = resp_50[8], .text = "0x02"};
	if ((rc = mm_reporter_response(r, &m, &es)) < 0)
		goto fail;

	/* 2. A request that is never answered. */
	m.responder.id = "192.168.2.51";
	tid = (uint16_t)(req_51[0] << 8 | req_51[1]);
	m.raw = req_51;
	m.raw_len = sizeof req_51;
	m.time = plus_ms(t0, 20);
	m.detail = NULL;
	if ((rc = mm_reporter_request(r, &m, 0)) < 0)
		goto fail;

	/* The gateway's loop ticks now and then; 1.5 s later the second
	 * request's timeout (1 s) has passed. */
	{
		struct timespec later = plus_ms(t0, 1500);
		if ((rc = mm_reporter_tick(r, &later)) < 0)
			goto fail;
	}

	mm_reporter_stats(r, &st);
	fprintf(stderr,
		"example_reporter: %u records (%llu error, %llu no response), %llu spooled, "
		"%llu pending\n",
		records, (unsigned long long)st.error_records,
		(unsigned long long)st.timeout_records, (unsigned long long)st.spooled,
		(unsigned long long)st.pending);

	if (argc - optind == 2 && (rc = send_all(sp, argv[optind + 1])) < 0)
		goto fail;
	status = 0;
	goto done;
fail:
	fprintf(stderr, "example_reporter: %s\n", mm_strerror(rc));
done:
	mm_reporter_free(r);
	mm_spool_close(sp);
	mm_errmap_free(map);
	return status;
usage:
	fprintf(stderr, "usage: example_reporter [-m MAP] SPOOLDIR [URL]\n");
	return 2;
}
