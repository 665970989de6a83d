/*
 * The HTTP JSON API of mamori-soc (docs/formats/soc-api.md): events with
 * filters, incidents, findings, devices, dead letters, counters, /metrics in
 * the Prometheus text format, /health. GET only; served by libevent's evhttp
 * in the main loop from a read handle of the store of its own.
 *
 *	struct http *h;
 *	char err[256];
 *	if (http_start(base, "127.0.0.1:8514", "sqlite:/var/lib/mamori/soc.db", &h,
 *		       err, sizeof err) < 0)
 *		fatalx("http: %s", err);
 *	log_info("API on http://%s", http_address(h));
 *	event_base_dispatch(base);
 *	http_stop(h);
 */
#ifndef MAMORI_SOC_HTTP_H
#define MAMORI_SOC_HTTP_H

#include <stddef.h>

struct event_base;
struct http;

/* The longest request URI accepted (longer: 414) and the largest request
 * head and body (larger: the connection is refused by evhttp). */
#define HTTP_URI_MAX 4096
#define HTTP_HEADERS_MAX 8192
#define HTTP_BODY_MAX 1024

/*
 * Opens a store handle on store_url (store_open()) and listens on addr:
 * "127.0.0.1:8514", "[::1]:8514", "0.0.0.0:8514"; port 0 takes a free port
 * (http_address() tells which). Returns 0 and *out, or MM_EINVAL (a bad
 * address), MM_EIO (the store or the socket) with the reason in err.
 */
int http_start(struct event_base *base, const char *addr, const char *store_url,
	       struct http **out, char *err, size_t errlen);

/* The bound address, "ADDR:PORT" ("[::1]:8514" for IPv6). */
const char *http_address(const struct http *h);

struct store;
/*
 * Answers one GET of uri ("/api/v1/events?device=cam-7", as on the request
 * line) from store st, without a socket: *status is the HTTP status and
 * *body (malloc'd, caller frees) the JSON or /metrics text. The same code
 * path as a request to the server; used by the fuzz target.
 * Returns 0 or MM_ENOMEM.
 */
int http_answer(struct store *st, const char *uri, int *status, char **body);

/* Closes the listener, the connections and the store handle. NULL is allowed. */
void http_stop(struct http *h);

#endif
