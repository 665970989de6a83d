/*
 * The metrics as documents (detect.h): AWS IoT Device Defender's device
 * metrics report, in its long-name and short-name forms, and mamori's own
 * compact document for detect.metrics events. Both are built from one
 * struct metrics (and the previous one for the counter deltas); nothing
 * here reads the system.
 *
 * The report follows the "Device metrics document specification" of the
 * AWS IoT Device Defender developer guide (docs/formats/metrics.md says
 * which member comes from which line of it): header and metrics are always
 * written, custom_metrics when there are any; a member the specification
 * marks optional is left out when mamori does not know it (the interface
 * of a socket bound to a wildcard address), never written empty.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "detect.h"

/* The member names of one form of the report. */
struct ddnames {
	const char *header, *report_id, *version, *metrics, *custom;
	const char *tcp_ports, *udp_ports, *ports, *port, *interface, *total;
	const char *net, *bytes_in, *bytes_out, *packets_in, *packets_out;
	const char *tcp_conns, *established, *conns, *remote_addr, *local_port, *local_if;
};

static const struct ddnames LONG_NAMES = {
	"header", "report_id", "version", "metrics", "custom_metrics",
	"listening_tcp_ports", "listening_udp_ports", "ports", "port", "interface", "total",
	"network_stats", "bytes_in", "bytes_out", "packets_in", "packets_out",
	"tcp_connections", "established_connections", "connections", "remote_addr",
	"local_port", "local_interface",
};

static const struct ddnames SHORT_NAMES = {
	"hed", "rid", "v", "met", "cmet",
	"tp", "up", "pts", "pt", "if", "t",
	"ns", "bi", "bo", "pi", "po",
	"tc", "ec", "cs", "rad", "lp", "li",
};

/* Adds a new reference under key; a failure is remembered in *ok. */
static void put(json_t *obj, const char *key, json_t *v, int *ok)
{
	if (v == NULL || json_object_set_new(obj, key, v) != 0)
		*ok = 0;
}

static void append(json_t *arr, json_t *v, int *ok)
{
	if (v == NULL || json_array_append_new(arr, v) != 0)
		*ok = 0;
}

/* A counter as a JSON integer; jansson's integers are signed 64-bit. */
static json_t *json_u64(uint64_t v)
{
	return json_integer(v > (uint64_t)INT64_MAX ? INT64_MAX : (json_int_t)v);
}

/*
 * A string from the kernel (an interface name may hold any byte but '/'
 * and blanks): bytes that are not UTF-8 become '?', so that one odd name
 * cannot take the whole document down.
 */
static json_t *json_text(const char *s)
{
	char buf[METRICS_STR_MAX];
	json_t *v = json_string(s);
	size_t i;

	if (v != NULL)
		return v;
	for (i = 0; s[i] != '\0' && i < sizeof buf - 1; i++)
		buf[i] = (unsigned char)s[i] < 0x80 ? s[i] : '?';
	buf[i] = '\0';
	return json_string(buf);
}

/* A custom value: an integer when it is one (the report's examples are), else a real. */
static json_t *json_num(double v)
{
	/* Within +-2^53 a double converts to an integer and back without loss. */
	if (v >= -9007199254740992.0 && v <= 9007199254740992.0 && (double)(json_int_t)v == v)
		return json_integer((json_int_t)v);
	return json_real(v);
}

/*
 * Index of the first of ports[0..i) with the same port and interface as
 * ports[i], or i: Device Defender lists (port, interface) pairs, and a
 * service bound to both the IPv4 and the IPv6 wildcard is one pair.
 */
static size_t port_first(const struct metric_port *p, size_t i)
{
	size_t k;

	for (k = 0; k < i; k++)
		if (p[k].port == p[i].port && strcmp(p[k].ifname, p[i].ifname) == 0)
			return k;
	return i;
}

static json_t *dd_ports(const struct metric_port *p, size_t n, uint64_t seen,
			const struct ddnames *nm, int *ok)
{
	json_t *o = json_object(), *list = json_array();
	size_t i, listed = 0;

	if (o == NULL || list == NULL) {
		json_decref(o);
		json_decref(list);
		*ok = 0;
		return NULL;
	}
	for (i = 0; i < n; i++) {
		json_t *e;

		if (port_first(p, i) != i)
			continue;
		e = json_object();
		if (e == NULL) {
			*ok = 0;
			break;
		}
		put(e, nm->port, json_integer(p[i].port), ok);
		if (p[i].ifname[0] != '\0')
			put(e, nm->interface, json_text(p[i].ifname), ok);
		append(list, e, ok);
		listed++;
	}
	/* The specification asks for a non-empty list when there is one. */
	if (listed > 0)
		put(o, nm->ports, list, ok);
	else
		json_decref(list);
	/* Sockets past the bound were not deduplicated: count each. */
	put(o, nm->total, json_u64(listed + (seen > n ? seen - n : 0)), ok);
	return o;
}

/* "ip:port", with an IPv6 address in brackets so that the port stays apart. */
static json_t *remote_addr(const struct metric_conn *c)
{
	char buf[64];
	int r;

	if (c->family == AF_INET6)
		r = snprintf(buf, sizeof buf, "[%s]:%u", c->remote, (unsigned)c->rport);
	else
		r = snprintf(buf, sizeof buf, "%s:%u", c->remote, (unsigned)c->rport);
	if (r < 0 || (size_t)r >= sizeof buf)
		return NULL;
	return json_string(buf);
}

static json_t *dd_conns(const struct metrics *m, const struct ddnames *nm, int *ok)
{
	json_t *tc = json_object(), *ec = json_object(), *list = json_array();
	size_t i;

	if (tc == NULL || ec == NULL || list == NULL) {
		json_decref(tc);
		json_decref(ec);
		json_decref(list);
		*ok = 0;
		return NULL;
	}
	for (i = 0; i < m->n_conn; i++) {
		const struct metric_conn *c = &m->conn[i];
		json_t *e = json_object();

		if (e == NULL) {
			*ok = 0;
			break;
		}
		put(e, nm->remote_addr, remote_addr(c), ok);
		put(e, nm->local_port, json_integer(c->lport), ok);
		if (c->ifname[0] != '\0')
			put(e, nm->local_if, json_text(c->ifname), ok);
		append(list, e, ok);
	}
	if (json_array_size(list) > 0)
		put(ec, nm->conns, list, ok);
	else
		json_decref(list);
	put(ec, nm->total, json_u64(m->total_conn), ok);
	put(tc, nm->established, ec, ok);
	return tc;
}

/* One custom metric's value object: {"number": x} / {"number_list": [...]} / ... */
static json_t *custom_value(const struct metric_custom *c, int *ok)
{
	static const char *const type_key[] = {"number", "number_list", "string_list", "ip_list"};
	json_t *v = json_object(), *arr;
	size_t i;

	if (v == NULL) {
		*ok = 0;
		return NULL;
	}
	if (c->type == METRIC_NUMBER) {
		put(v, "number", json_num(c->num[0]), ok);
		return v;
	}
	arr = json_array();
	for (i = 0; arr != NULL && i < c->n && i < METRICS_MAX_VALUES; i++)
		append(arr, c->type == METRIC_NUMBER_LIST ? json_num(c->num[i])
							  : json_string(c->str[i]),
		       ok);
	put(v, type_key[c->type <= METRIC_IP_LIST ? c->type : METRIC_STRING_LIST], arr, ok);
	return v;
}

/*
 * Device Defender's report of cur: network_stats is cur - prev (zeros
 * without prev). Returns a new reference, NULL when out of memory.
 *	json_t *r = ddreport_json(cur, prev, (uint64_t)cur->time_ms, 0);
 *	char *s = json_dumps(r, JSON_COMPACT); ... json_decref(r);
 */
json_t *ddreport_json(const struct metrics *cur, const struct metrics *prev, uint64_t report_id,
		      int short_names)
{
	const struct ddnames *nm = short_names ? &SHORT_NAMES : &LONG_NAMES;
	json_t *doc = json_object(), *hed = json_object(), *met = json_object();
	json_t *ns = json_object(), *cmet;
	struct metrics_delta d;
	int ok = 1;
	size_t i;

	if (doc == NULL || hed == NULL || met == NULL || ns == NULL) {
		json_decref(doc);
		json_decref(hed);
		json_decref(met);
		json_decref(ns);
		return NULL;
	}
	put(hed, nm->report_id, json_u64(report_id), &ok);
	put(hed, nm->version, json_string("1.0"), &ok);
	put(doc, nm->header, hed, &ok);

	put(met, nm->tcp_ports, dd_ports(cur->tcp, cur->n_tcp, cur->total_tcp, nm, &ok), &ok);
	put(met, nm->udp_ports, dd_ports(cur->udp, cur->n_udp, cur->total_udp, nm, &ok), &ok);
	metrics_delta(prev, cur, &d);
	put(ns, nm->bytes_in, json_u64(d.bytes_in), &ok);
	put(ns, nm->bytes_out, json_u64(d.bytes_out), &ok);
	put(ns, nm->packets_in, json_u64(d.packets_in), &ok);
	put(ns, nm->packets_out, json_u64(d.packets_out), &ok);
	put(met, nm->net, ns, &ok);
	put(met, nm->tcp_conns, dd_conns(cur, nm, &ok), &ok);
	put(doc, nm->metrics, met, &ok);

	if (cur->n_custom > 0) {
		cmet = json_object();
		for (i = 0; cmet != NULL && i < cur->n_custom && i < METRICS_MAX_CUSTOM; i++) {
			json_t *one = json_array();

			if (one != NULL)
				append(one, custom_value(&cur->custom[i], &ok), &ok);
			put(cmet, cur->custom[i].name, one, &ok);
		}
		put(doc, nm->custom, cmet, &ok);
	}
	if (!ok) {
		json_decref(doc);
		return NULL;
	}
	return doc;
}

/* ---- mamori's own document ---- */

static int cmp_u16(const void *a, const void *b)
{
	uint16_t x = *(const uint16_t *)a, y = *(const uint16_t *)b;

	return (x > y) - (x < y);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The distinct values of v[0..n) (sorted in place) as a JSON array of integers. */
static json_t *unique_ports(uint16_t *v, size_t n, size_t *count, int *ok)
{
	json_t *arr = json_array();
	size_t i;

	*count = 0;
	if (arr == NULL) {
		*ok = 0;
		return NULL;
	}
	qsort(v, n, sizeof v[0], cmp_u16);
	for (i = 0; i < n; i++) {
		if (i > 0 && v[i] == v[i - 1])
			continue;
		append(arr, json_integer(v[i]), ok);
		(*count)++;
	}
	return arr;
}

static void put_ports(json_t *doc, const char *list_key, const char *num_key,
		      const struct metric_port *p, size_t n, uint64_t seen, uint16_t *scratch,
		      int *ok)
{
	size_t i, distinct;

	for (i = 0; i < n; i++)
		scratch[i] = p[i].port;
	put(doc, list_key, unique_ports(scratch, n, &distinct, ok), ok);
	put(doc, num_key, json_u64(distinct + (seen > n ? seen - n : 0)), ok);
}

static json_t *custom_plain(const struct metric_custom *c, int *ok)
{
	json_t *arr;
	size_t i;

	if (c->type == METRIC_NUMBER)
		return json_num(c->num[0]);
	arr = json_array();
	for (i = 0; arr != NULL && i < c->n && i < METRICS_MAX_VALUES; i++)
		append(arr, c->type == METRIC_NUMBER_LIST ? json_num(c->num[i])
							  : json_string(c->str[i]),
		       ok);
	if (arr == NULL)
		*ok = 0;
	return arr;
}

/*
 * mamori's metrics document (docs/formats/metrics.md): Device Defender's
 * metric names with their values for this datapoint; the counters are
 * cur - prev and are left out without prev. New reference or NULL.
 */
json_t *metrics_json(const struct metrics *cur, const struct metrics *prev)
{
	json_t *doc = json_object(), *addrs = NULL;
	uint16_t *scratch = malloc(sizeof(uint16_t) * (METRICS_MAX_CONNS > METRICS_MAX_PORTS
							       ? METRICS_MAX_CONNS
							       : METRICS_MAX_PORTS));
	const char **ips = malloc(sizeof(char *) * METRICS_MAX_CONNS);
	struct metrics_delta d;
	size_t i, distinct;
	int ok = 1;

	if (doc == NULL || scratch == NULL || ips == NULL)
		goto fail;
	put_ports(doc, "aws:listening-tcp-ports", "aws:num-listening-tcp-ports", cur->tcp,
		  cur->n_tcp, cur->total_tcp, scratch, &ok);
	put_ports(doc, "aws:listening-udp-ports", "aws:num-listening-udp-ports", cur->udp,
		  cur->n_udp, cur->total_udp, scratch, &ok);
	put(doc, "aws:num-established-tcp-connections", json_u64(cur->total_conn), &ok);
	if (prev != NULL) {
		metrics_delta(prev, cur, &d);
		put(doc, "aws:all-bytes-in", json_u64(d.bytes_in), &ok);
		put(doc, "aws:all-bytes-out", json_u64(d.bytes_out), &ok);
		put(doc, "aws:all-packets-in", json_u64(d.packets_in), &ok);
		put(doc, "aws:all-packets-out", json_u64(d.packets_out), &ok);
		put(doc, "mamori:interval-ms", json_integer(d.ms), &ok);
	}
	for (i = 0; i < cur->n_conn; i++)
		ips[i] = cur->conn[i].remote;
	qsort(ips, cur->n_conn, sizeof ips[0], cmp_str);
	addrs = json_array();
	for (i = 0; addrs != NULL && i < cur->n_conn; i++)
		if (i == 0 || strcmp(ips[i], ips[i - 1]) != 0)
			append(addrs, json_string(ips[i]), &ok);
	put(doc, "aws:destination-ip-addresses", addrs, &ok);
	for (i = 0; i < cur->n_conn; i++)
		scratch[i] = cur->conn[i].rport;
	put(doc, "mamori:remote-ports", unique_ports(scratch, cur->n_conn, &distinct, &ok), &ok);
	put(doc, "mamori:num-processes", json_u64(cur->processes), &ok);
	if (cur->custom_dropped > 0)
		put(doc, "mamori:custom-dropped", json_u64(cur->custom_dropped), &ok);
	for (i = 0; i < cur->n_custom && i < METRICS_MAX_CUSTOM; i++)
		put(doc, cur->custom[i].name, custom_plain(&cur->custom[i], &ok), &ok);
	if (!ok)
		goto fail;
	free(scratch);
	free(ips);
	return doc;
fail:
	json_decref(doc);
	free(scratch);
	free(ips);
	return NULL;
}
