/*
 * The X.1367 reporter for gateway makers: pairs each request a gateway (or
 * a sensor watching the wire) sees go to an edge device with the response
 * that comes back, maps a proprietary error with the vendor's mapping table
 * (include/mamori/errmap.h), builds the standard record with the gateway as
 * Reporter (include/mamori/x1367.h) and hands it to the reliable sender's
 * spool (include/mamori/spool.h) as an RFC 5424 message with MSGID X1367.
 *
 * What it reports:
 *   - an error response to a request it holds: the record carries both
 *     Transmitted Codes and the mapped standard code;
 *   - a request with no response within its timeout: No Response (0x10),
 *     timestamped when the timeout ran out;
 *   - a device that sends on its own at a period (a sensor's readings, an
 *     ECHONET Lite INF) and then falls silent for longer than its period
 *     allows (X.1367 scenario I.3): No Response, timestamped when the
 *     silence passed the limit;
 *   - an error seen without a request to pair it with (a malformed request
 *     that gets no answer, or the response to a request sent before the
 *     gateway started), through mm_reporter_report().
 * A success response (MM_REPORTER_OK, or a proprietary code that the table
 * maps into the No Error range 0x00-0x0F) settles its request and makes no
 * record. The records and their Description members are described in
 * docs/formats/reporter.md.
 *
 * Everything is bounded: requests kept (max_pending; when full, the request
 * nearest its deadline, which is the oldest when timeouts are equal, is
 * dropped and counted), periodic streams watched (max_periodic, the one
 * heard from least recently is dropped), bytes of a Transmitted Code
 * (max_raw), Detail and Flow remarks (256 bytes each, cut at a character
 * boundary, and at the first byte that is not UTF-8).
 *
 * Time is the caller's: each message carries when it was seen, and
 * mm_reporter_tick() says what time it is now, so that a pcap file replayed
 * at any speed gives the records it gave live. One reporter is used from
 * one thread.
 *
 * Example (a gateway that speaks Modbus/TCP to its devices; the whole
 * program is docs/examples/reporter.c):
 *
 *	struct mm_reporter_opts o;
 *	struct mm_reporter *rep;
 *	mm_reporter_opts_default(&o);
 *	o.reporter.kind = MM_X1367_ID_IP;
 *	o.reporter.id = "192.168.2.11";
 *	o.map = map;        (from mm_errmap_load_file())
 *	o.spool = spool;    (drained by an mm_sender)
 *	if (mm_reporter_new(&o, &rep) < 0) ...
 *
 *	struct mm_reporter_msg m = {0};
 *	m.protocol = "Modbus/TCP";
 *	m.requester = (struct mm_reporter_party){MM_X1367_ID_IP, "192.168.2.11"};
 *	m.responder = (struct mm_reporter_party){MM_X1367_ID_IP, "192.168.2.50"};
 *	m.key = &tid; m.key_len = sizeof tid;   (the transaction id)
 *	m.raw = req; m.raw_len = req_len;
 *	mm_reporter_request(rep, &m, 0);         (0: the default timeout)
 *	...
 *	m.raw = resp; m.raw_len = resp_len;
 *	struct mm_reporter_status st = {MM_REPORTER_ERR_NUM, .num = resp[8]};
 *	mm_reporter_response(rep, &m, &st);      (exception 0x02 -> "31")
 *	...
 *	mm_reporter_tick(rep, NULL);             (now and then: timeouts, silence)
 *	mm_reporter_free(rep);
 */
#ifndef MAMORI_REPORTER_H
#define MAMORI_REPORTER_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "mamori/errmap.h"
#include "mamori/spool.h"
#include "mamori/x1367.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Longest correlation key, in bytes. */
#define MM_REPORTER_KEY_MAX 64

/* Who a party is: one X.1367 identifier ("IP Address" 192.168.2.50): UTF-8,
 * 1 to 255 bytes, an IP or MAC address that parses. */
struct mm_reporter_party {
	enum mm_x1367_idkind kind;
	const char *id;
};

/* One message seen between a requester and a responder. */
struct mm_reporter_msg {
	const char *protocol;  /* X.1367 Protocol, and the errmap table asked ("Modbus/TCP");
	                          UTF-8, 1 to 255 bytes */
	const char *vendor;    /* errmap vendor table; NULL or "": the protocol's any-vendor
	                          table (a response without one uses its request's) */
	struct mm_reporter_party requester; /* who asks (for a periodic stream: who expects the data) */
	struct mm_reporter_party responder; /* who answers (for a periodic stream: the device) */
	const void *key;       /* pairs a response with its request, together with protocol,
	                          requester and responder; at most MM_REPORTER_KEY_MAX bytes;
	                          may be empty (one outstanding request per pair) */
	size_t key_len;
	const void *raw;       /* this message's bytes on the wire (copied, up to max_raw) */
	size_t raw_len;
	struct timespec time;  /* when it was seen, UTC; {0, 0}: the wall clock now */
	const char *detail;    /* a remark for the record's Description "Detail"; NULL: none */
	const char *flow;      /* Description "Flow": where a sensor saw it
	                          ("10.0.0.1 50000 -> 10.0.0.2 1883/tcp"); NULL: none */
};

/* What a response says. */
enum mm_reporter_outcome {
	MM_REPORTER_OK = 0,       /* success: settles the request, no record */
	MM_REPORTER_ERR_NUM = 1,  /* a numeric proprietary code (num), mapped by the table */
	MM_REPORTER_ERR_NAME = 2, /* a symbolic proprietary code (name), mapped by the table */
	MM_REPORTER_ERR_STD = 3,  /* the standard code itself (std), for errors the protocol
	                             has no code for (a malformed packet). A code Annex A
	                             does not assign gets its range's name as Error
	                             Message ("Communication", "Reserved for future
	                             extension") */
};

struct mm_reporter_status {
	enum mm_reporter_outcome outcome;
	uint64_t num;
	const char *name;
	uint8_t std;
	const char *text;  /* the code as the protocol writes it, for Description
	                      "Proprietary Code" ("4.04", "0x87", "404"); NULL: num in
	                      decimal, or name */
};

/* A timeout_ms for mm_reporter_request(): the request may rightly get no
 * answer (ECHONET Lite SetI, a CoAP NON request). It is held for the
 * default timeout so that an error response pairs with it, then forgotten
 * without a record. */
#define MM_REPORTER_ANSWER_OPTIONAL 0xFFFFFFFFu

/* Every numeric option left 0 takes its default. */
struct mm_reporter_opts {
	struct mm_reporter_party reporter; /* required: the gateway (or sensor) itself */
	const struct mm_errmap *map;       /* the vendors' tables; borrowed; NULL: every
	                                      proprietary code becomes 0xFF Other Reasons */
	unsigned max_pending;   /* requests held; default 65536 */
	unsigned timeout_ms;    /* a request's timeout when the call gives 0; default 5000 */
	unsigned max_raw;       /* bytes of a Transmitted Code kept; longer messages are cut
	                           and Description "Truncated" says how long they were;
	                           default 1024, at most 131072 */
	const char *status;     /* Description "Status" of every record; an IDS says
	                           "This message was sent from IDS not IoTGW"; NULL: none */
	unsigned max_periodic;  /* periodic streams watched; default 4096 */
	unsigned periodic_samples; /* intervals heard before a stream's period is learnt;
	                              default 3, at most 64 */
	unsigned periodic_factor;  /* silence longer than this many periods is reported;
	                              default 3 */
	unsigned periodic_min_ms;  /* ... and never shorter than this; default 1000 */
	/* Where records go (either, both, or neither). */
	struct mm_spool *spool;  /* borrowed; each record is appended as an RFC 5424
	                            message: PRI local0 with warning for a Security
	                            code (0x20-0x2F), notice for the others, TIMESTAMP
	                            the record's, APP-NAME app_name, PROCID the pid,
	                            MSGID X1367, HOSTNAME hostname, MSG the record's
	                            JSON */
	const char *hostname;    /* default: gethostname() */
	const char *app_name;    /* default "mamori-gw" */
	/* Called with each record (and each event of mm_reporter_event()), before it is
	 * spooled. json is the MSG, len bytes, NUL-terminated; rec is NULL for an event. */
	void (*on_record)(void *arg, const struct mm_x1367_record *rec, const char *json,
			  size_t len);
	void *arg;
};

struct mm_reporter_stats {
	uint64_t requests;    /* mm_reporter_request() calls taken */
	uint64_t responses;   /* mm_reporter_response() calls taken */
	uint64_t paired;      /* responses that found their request */
	uint64_t unpaired;    /* responses with no request held (an error one still makes a record) */
	uint64_t replaced;    /* requests dropped because the same key was requested again */
	uint64_t evicted;     /* requests dropped because max_pending was reached */
	uint64_t error_records;   /* records of error responses and mm_reporter_report() */
	uint64_t timeout_records; /* No Response records of requests */
	uint64_t silence_records; /* No Response records of silent periodic streams */
	uint64_t no_error;    /* error responses whose code the table maps to 0x00 */
	uint64_t unmapped;    /* codes no table knew (recorded as 0xFF Other Reasons) */
	uint64_t invalid;     /* records that did not validate (not sent; logged) */
	uint64_t spooled;     /* records and events appended to the spool */
	uint64_t refused;     /* ... refused by it (full, or an I/O error) */
	uint64_t events;      /* mm_reporter_event() calls taken */
	uint64_t pending;     /* requests held now */
	uint64_t periodic;    /* periodic streams watched now */
	uint64_t periodic_evicted; /* streams dropped because max_periodic was reached */
};

struct mm_reporter;

void mm_reporter_opts_default(struct mm_reporter_opts *o);

/* Creates a reporter. Checks the options (a reporter identifier that
 * X.1367 accepts, a hostname and app_name RFC 5424 accepts, numbers within
 * their bounds) and copies the strings it is given. Returns 0 and *out,
 * MM_EINVAL, MM_ENOMEM. */
int mm_reporter_new(const struct mm_reporter_opts *o, struct mm_reporter **out);
/* Frees the reporter. Requests still held make no record. */
void mm_reporter_free(struct mm_reporter *r);

/*
 * Holds a request until its response comes or timeout_ms (0: the default;
 * MM_REPORTER_ANSWER_OPTIONAL: see above; at most a week) passes; then
 * mm_reporter_tick() makes a No Response record timestamped at the
 * request's time plus timeout_ms. A request with the same protocol,
 * parties and key as one held replaces it (counted in replaced). Returns 0,
 * MM_EINVAL (no protocol, a party identifier X.1367 refuses, a protocol or
 * identifier longer than 255 bytes or not UTF-8, a key longer than
 * MM_REPORTER_KEY_MAX, raw NULL with raw_len > 0, a time out of range),
 * MM_ENOMEM.
 */
int mm_reporter_request(struct mm_reporter *r, const struct mm_reporter_msg *m,
			unsigned timeout_ms);

/*
 * A response: settles the request held for the same protocol, parties and
 * key, and for an error makes the record (Requester Transmitted Code from
 * the request, Responder Transmitted Code from m->raw). An error response
 * with no request held makes a record with an empty Requester Transmitted
 * Code and Description "Request" saying it was not seen. Returns 0, or
 * MM_EINVAL as above, MM_ENOMEM, or the spool's error when it refused the
 * record (counted; the record is lost).
 */
int mm_reporter_response(struct mm_reporter *r, const struct mm_reporter_msg *m,
			 const struct mm_reporter_status *st);

/*
 * Makes a record at once, without pairing: m->raw is the requester's
 * bytes, resp (resp_len bytes, may be empty) the responder's. For a
 * malformed request that gets no answer, say. Same returns as
 * mm_reporter_response(); an outcome of MM_REPORTER_OK makes no record.
 */
int mm_reporter_report(struct mm_reporter *r, const struct mm_reporter_msg *m, const void *resp,
		       size_t resp_len, const struct mm_reporter_status *st);

/*
 * A message a device (m->responder) sent on its own to m->requester, on
 * the stream m->key (a topic, an ECHONET object and property). With
 * period_ms 0 the period is learnt: the longest of the last
 * periodic_samples intervals. When the stream is silent longer than
 * periodic_factor periods (and periodic_min_ms), mm_reporter_tick() makes
 * one No Response record with empty Transmitted Codes and Description
 * "Silence" ("no message for 3.0 s; period 1.0 s learnt from 3 intervals"),
 * timestamped when the silence passed the limit; the stream is then
 * watched again from its next message, learning its period anew (the long
 * gap is not an interval). With period_ms given, the limit holds from the
 * first message. m->raw is not used. Returns 0, MM_EINVAL, MM_ENOMEM.
 */
int mm_reporter_periodic(struct mm_reporter *r, const struct mm_reporter_msg *m,
			 unsigned period_ms);

/*
 * Says what time it is (NULL: the wall clock): requests whose timeout has
 * passed and periodic streams silent too long become records. Returns 0 or
 * the spool's error for a record it refused (the others are still made).
 */
int mm_reporter_tick(struct mm_reporter *r, const struct timespec *now);

/*
 * Spools a mamori event (a JSON object with a string "event" member, len
 * bytes, UTF-8) the same way as a record, with MSGID the event's name,
 * severity info and the wall clock's time, and passes it to on_record
 * first. Returns 0, MM_EINVAL (not such an object, or a name that is not an
 * RFC 5424 MSGID: 1 to 32 printable US-ASCII characters, no space), or the
 * spool's error.
 */
int mm_reporter_event(struct mm_reporter *r, const char *json, size_t len);

/*
 * Reads a party as configuration files and command lines write it:
 * "ip:ADDR", "name:NAME" (Unique Name), "id:ID" (Unique ID) or "mac:MAC",
 * checked by the X.1367 record builder. p->id points into s. Returns 0,
 * MM_EINVAL (no such prefix, or an identifier X.1367 refuses), MM_ENOMEM.
 */
int mm_reporter_party_parse(const char *s, struct mm_reporter_party *p);

void mm_reporter_stats(const struct mm_reporter *r, struct mm_reporter_stats *st);

#ifdef __cplusplus
}
#endif
#endif
