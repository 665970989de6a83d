/*
 * libpcap sources. A live source is non-blocking so that one loop serves
 * every interface, the timers and the sender; a file is read as fast as
 * the decoders go, its packets' own timestamps standing for the time.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mamori/error.h"

#include "capture.h"

struct gw_source {
	pcap_t *p;
	int linktype;
	int live;
	int nsec;        /* the file's timestamps are in nanoseconds */
	char name[256];
	struct gw_capture_counters c;
	gw_packet_fn fn;
	void *arg;
};

static int set_filter(struct gw_source *s, const char *filter, char *err, size_t size)
{
	struct bpf_program prog;

	if (!filter || !*filter)
		return 0;
	if (pcap_compile(s->p, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) < 0) {
		snprintf(err, size, "filter \"%s\": %s", filter, pcap_geterr(s->p));
		return MM_EPARSE;
	}
	if (pcap_setfilter(s->p, &prog) < 0) {
		snprintf(err, size, "filter \"%s\": %s", filter, pcap_geterr(s->p));
		pcap_freecode(&prog);
		return MM_EIO;
	}
	pcap_freecode(&prog);
	return 0;
}

static struct gw_source *source_new(const char *name)
{
	struct gw_source *s = calloc(1, sizeof *s);

	if (s)
		snprintf(s->name, sizeof s->name, "%s", name);
	return s;
}

int gw_source_open_live(struct gw_source **out, const char *iface, const char *filter,
			int snaplen, int promisc, int buffer, char *err, size_t size)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	struct gw_source *s;
	int rc;

	*out = NULL;
	if (!(s = source_new(iface)))
		return MM_ENOMEM;
	s->live = 1;
	if (!(s->p = pcap_create(iface, ebuf))) {
		snprintf(err, size, "%s: %s", iface, ebuf);
		free(s);
		return MM_EIO;
	}
	pcap_set_snaplen(s->p, snaplen);
	pcap_set_promisc(s->p, promisc);
	pcap_set_buffer_size(s->p, buffer);
	/* Packets are wanted as they come, not in batches a second late. */
	pcap_set_immediate_mode(s->p, 1);
	pcap_set_tstamp_precision(s->p, PCAP_TSTAMP_PRECISION_NANO);
	rc = pcap_activate(s->p);
	if (rc < 0) {
		snprintf(err, size, "%s: %s", iface,
			 rc == PCAP_ERROR ? pcap_geterr(s->p) : pcap_statustostr(rc));
		goto fail;
	}
	s->nsec = pcap_get_tstamp_precision(s->p) == PCAP_TSTAMP_PRECISION_NANO;
	if (pcap_setnonblock(s->p, 1, ebuf) < 0) {
		snprintf(err, size, "%s: %s", iface, ebuf);
		goto fail;
	}
	s->linktype = pcap_datalink(s->p);
	if ((rc = set_filter(s, filter, err, size)) < 0)
		goto fail_rc;
	*out = s;
	return 0;
fail:
	rc = MM_EIO;
fail_rc:
	pcap_close(s->p);
	free(s);
	return rc;
}

int gw_source_open_file(struct gw_source **out, const char *path, const char *filter,
			char *err, size_t size)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	struct gw_source *s;
	int rc;

	*out = NULL;
	if (!(s = source_new(path)))
		return MM_ENOMEM;
	s->p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, ebuf);
	if (!s->p) {
		/* libpcap names the file itself when it cannot open it. */
		if (strncmp(ebuf, path, strlen(path)) == 0)
			snprintf(err, size, "%s", ebuf);
		else
			snprintf(err, size, "%s: %s", path, ebuf);
		free(s);
		return MM_EIO;
	}
	s->nsec = 1;
	s->linktype = pcap_datalink(s->p);
	if ((rc = set_filter(s, filter, err, size)) < 0) {
		pcap_close(s->p);
		free(s);
		return rc;
	}
	*out = s;
	return 0;
}

int gw_source_fd(const struct gw_source *s)
{
	return s->live ? pcap_get_selectable_fd(s->p) : -1;
}

const char *gw_source_name(const struct gw_source *s)
{
	return s->name;
}

static void on_frame(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes)
{
	struct gw_source *s = (struct gw_source *)user;
	struct timespec ts;
	struct gw_packet pk;
	int rc;

	s->c.frames++;
	ts.tv_sec = h->ts.tv_sec;
	ts.tv_nsec = s->nsec ? h->ts.tv_usec : h->ts.tv_usec * 1000L;
	rc = gw_packet_parse(s->linktype, bytes, h->caplen, h->len, &ts, &pk);
	if (rc == MM_ENOTFOUND) {
		s->c.other++;
		return;
	}
	if (rc < 0) {
		s->c.malformed++;
		return;
	}
	s->c.ip++;
	s->fn(s->arg, &pk);
}

int gw_source_read(struct gw_source *s, int max, gw_packet_fn fn, void *arg, char *err,
		   size_t size)
{
	int n;

	s->fn = fn;
	s->arg = arg;
	n = pcap_dispatch(s->p, max > 0 ? max : -1, on_frame, (u_char *)s);
	if (n == PCAP_ERROR) {
		snprintf(err, size, "%s: %s", s->name, pcap_geterr(s->p));
		return MM_EIO;
	}
	if (n == PCAP_ERROR_BREAK)
		return 0;
	if (n == 0 && !s->live)
		return MM_ENOTFOUND;
	return n;
}

int gw_source_address(const struct gw_source *s, char *out, size_t size)
{
	struct ifaddrs *ifa, *i;
	int found = 0, pass;

	if (!s->live || getifaddrs(&ifa) < 0)
		return MM_ENOTFOUND;
	/* IPv4 first: the usual IoT LAN. */
	for (pass = 0; pass < 2 && !found; pass++)
		for (i = ifa; i && !found; i = i->ifa_next) {
			int fam = pass == 0 ? AF_INET : AF_INET6;
			if (!i->ifa_addr || i->ifa_addr->sa_family != fam ||
			    strcmp(i->ifa_name, s->name) != 0)
				continue;
			if (fam == AF_INET)
				found = inet_ntop(AF_INET,
						  &((struct sockaddr_in *)i->ifa_addr)->sin_addr, out,
						  (socklen_t)size) != NULL;
			else
				found = inet_ntop(AF_INET6,
						  &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr,
						  out, (socklen_t)size) != NULL;
		}
	freeifaddrs(ifa);
	return found ? 0 : MM_ENOTFOUND;
}

void gw_source_counters(struct gw_source *s, struct gw_capture_counters *c)
{
	struct pcap_stat st;

	if (s->live && pcap_stats(s->p, &st) == 0) {
		s->c.kernel_drop = st.ps_drop;
		s->c.if_drop = st.ps_ifdrop;
	}
	*c = s->c;
}

void gw_source_close(struct gw_source *s)
{
	if (!s)
		return;
	pcap_close(s->p);
	free(s);
}
