/*
 * mamori-soc's HTTP API input: a request URI (path and query string, as
 * an attacker on the API's address may send it) parsed, validated against
 * its endpoint's parameters and run as a query on a real SQLite store that
 * holds a few events, incidents and findings.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "ingest.h"
#include "store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct store *st;

static void fill(void)
{
	static const char *const msgs[] = {
		("<12>1 2026-11-22T06:00:01Z gw-a mamori-gw - X1367 - {\"Timestamp\":"
		"\"2026-11-22T06:00:00.5Z\",\"Reporter\":{\"IP Address\":\"192.0.2.10\"},"
		"\"Protocol\":\"MQTT\",\"Requester\":{\"IP Address\":\"203.0.113.66\","
		"\"Transmitted Code\":\"00\"},\"Responder\":{\"IP Address\":\"192.0.2.100\","
		"\"Transmitted Code\":\"00\"},\"Error Code\":\"20\",\"Error Message\":"
		 "\"Authentication Failed\",\"Description\":{}}"),
		("<14>1 2026-11-22T06:00:02Z dev-1 mamorid - guard.exec.denied - "
		 "{\"event\":\"guard.exec.denied\",\"path\":\"/tmp/x\"}"),
		"<13>Nov 22 06:00:03 host app[7]: hello",
	};
	struct soc_origin o = {.transport = SOC_UDP, .peer = "192.0.2.7:514",
			       .peer_addr = "192.0.2.7"};
	struct soc_incident inc = {.opened_ms = 1795327200000LL, .first_ms = 1795327200000LL,
				   .last_ms = 1795327201000LL, .key_kind = "requester",
				   .key = "203.0.113.66", .reason = "2 protocols",
				   .protocols = "MQTT,Modbus/TCP", .nerrors = 2};
	struct soc_finding f = {.first_ms = 1795327200000LL, .last_ms = 1795327200000LL,
				.kind = "no-response", .device = "sensor-9", .subject = "1000",
				.severity = 4, .detail = "{\"period_ms\":1000}", .open = 1};
	int64_t last = 0;
	int is_new;
	size_t i;

	store_begin(st);
	for (i = 0; i < sizeof msgs / sizeof msgs[0]; i++) {
		struct soc_event *ev;
		const char *why;
		if (ingest_parse(&o, (const uint8_t *)msgs[i], strlen(msgs[i]), 1795327205000LL, &ev,
				 &why) == 0) {
			store_add_event(st, ev);
			last = ev->id;
			soc_event_free(ev);
		}
	}
	store_add_incident(st, &inc);
	store_link(st, inc.id, last);
	store_put_finding(st, &f, &is_new);
	if (store_commit(st) < 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256], *uri, *body = NULL;
	int status = 0;

	if (!st) {
		if (store_open("sqlite::memory:", &st, err, sizeof err) < 0)
			abort();
		fill();
	}
	/* A request line cannot hold a NUL; the URI is text up to the first one. */
	if ((uri = malloc(size + 1)) == NULL)
		return 0;
	memcpy(uri, data, size);
	uri[size] = 0;
	if (http_answer(st, uri, &status, &body) == 0 &&
	    (status < 200 || status > 599 || body == NULL))
		abort(); /* every request gets a status and a body */
	free(body);
	free(uri);
	return 0;
}
