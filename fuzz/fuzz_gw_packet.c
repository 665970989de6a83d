/*
 * libFuzzer target for mamori-gw's whole path from a captured frame: the
 * link layer and IP decode (gateway/packet.c), the flow table with TCP
 * reassembly (gateway/flow.c) and every protocol decoder on its default
 * port, a real reporter (no spool), and the flow statistics (stats.c).
 *
 * The input is a capture: its first byte chooses the link type, then each
 * frame is a 2-byte big-endian length and that many bytes. Frames are 300 ms
 * apart, so that short idle times, request timeouts and statistics
 * intervals pass within one input. The bounds are small, so that the
 * memory bound is reached; after every frame the table must hold no more
 * than max_memory, or the target aborts.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcap/dlt.h>

#include "gw.h"
#include "mamori/error.h"
#include "mamori/reporter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const int linktypes[] = {
	DLT_EN10MB, DLT_LINUX_SLL, DLT_LINUX_SLL2, DLT_RAW,
	DLT_IPV4,   DLT_IPV6,      DLT_NULL,       DLT_LOOP,
};

static void on_record(void *arg, const struct mm_x1367_record *rec, const char *json, size_t len)
{
	(void)arg;
	(void)rec;
	(void)json;
	(void)len;
}

static void on_event(void *arg, const char *json, size_t len)
{
	(void)arg;
	if (!json || strlen(json) != len)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mm_reporter_opts ro;
	struct gw_flow_opts fo;
	struct gw_stats_opts so;
	struct mm_reporter *rep = NULL;
	struct gw_flows *flows = NULL;
	struct gw_stats *stats = NULL;
	struct gw_flow_counters c;
	struct timespec now = {1700000000, 0};
	size_t pos = 1;
	unsigned n = 0;
	int lt;

	if (size < 1)
		return 0;
	lt = linktypes[data[0] % (sizeof linktypes / sizeof linktypes[0])];
	mm_reporter_opts_default(&ro);
	ro.reporter.kind = MM_X1367_ID_IP;
	ro.reporter.id = "192.0.2.254";
	ro.max_pending = 64;
	ro.max_periodic = 16;
	ro.on_record = on_record;
	gw_flow_opts_default(&fo);
	gw_flow_opts_default_ports(&fo);
	fo.max_flows = 32;
	fo.max_buffer = 2048;
	fo.max_memory = 16 * 1024;
	fo.half_open_ms = 1000;
	fo.udp_idle_ms = 2000;
	fo.tcp_idle_ms = 4000;
	gw_stats_opts_default(&so);
	so.interval_ms = 2000;
	so.max_devices = 8;
	so.max_peers = 4;
	if (mm_reporter_new(&ro, &rep) < 0 || gw_flows_new(&fo, rep, &flows) < 0 ||
	    gw_stats_new(&so, &stats) < 0)
		abort();
	while (pos + 2 <= size) {
		size_t len = (size_t)data[pos] << 8 | data[pos + 1];
		struct gw_packet pk;
		uint8_t *frame;

		pos += 2;
		if (len > size - pos)
			len = size - pos;
		/* An exact-size copy, so that a read past caplen is caught. */
		frame = malloc(len ? len : 1);
		if (!frame)
			abort();
		memcpy(frame, data + pos, len);
		pos += len;
		now.tv_nsec += 300000000;
		if (now.tv_nsec >= 1000000000) {
			now.tv_sec++;
			now.tv_nsec -= 1000000000;
		}
		gw_stats_tick(stats, &now, 0, on_event, NULL);
		if (gw_packet_parse(lt, frame, len, len + (n & 7), &now, &pk) == 0) {
			if (pk.payload_len > len || (pk.payload_len && (pk.payload < frame ||
			    pk.payload + pk.payload_len > frame + len)))
				abort();
			gw_flows_packet(flows, &pk);
			gw_stats_packet(stats, &pk);
		}
		free(frame);
		gw_flows_counters(flows, &c);
		if (c.memory > fo.max_memory || c.memory_peak > fo.max_memory ||
		    c.active > fo.max_flows)
			abort();
		if (++n % 4 == 0) {
			gw_flows_tick(flows, &now);
			mm_reporter_tick(rep, &now);
		}
	}
	gw_stats_tick(stats, &now, 1, on_event, NULL);
	gw_flows_free(flows);
	gw_stats_free(stats);
	mm_reporter_free(rep);
	return 0;
}
