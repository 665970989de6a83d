/*
 * Who sends which signal to whom: the signal:signal_generate tracepoint
 * read through perf_event_open(2), one event per CPU, each with its own
 * ring buffer that wakes the loop after every sample.
 *
 * A sample's pid/tid is the sender as our pid namespace numbers it (0 when
 * it lives outside); the raw record carries the signal, the target's comm
 * and its pid as the initial namespace numbers it, and the result.
 *
 *	struct sigwatch *sw;
 *	if (sigwatch_open(&sw) == 0)
 *		for (i = 0; i < sigwatch_nfds(sw); i++)
 *			add sigwatch_fd(sw, i) to the loop; on readable:
 *			sigwatch_read(sw, i, on_signal, arg);
 */
#ifndef MAMORI_AGENT_SIGWATCH_H
#define MAMORI_AGENT_SIGWATCH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SIGWATCH_MAX_CPUS 256

struct sigwatch_ev {
	pid_t sender, sender_tid; /* in our pid namespace; 0 outside it */
	int sig;
	int result;               /* 0 delivered, 1 ignored, 2 already pending, ... */
	pid_t target;             /* the target's pid in the initial pid namespace */
	char comm[17];            /* the target's comm */
};

/* Where each field sits in the raw record, from the tracepoint's format file. */
struct sigwatch_fmt {
	int sig_off, sig_size;
	int comm_off, comm_size;
	int pid_off, pid_size;
	int result_off, result_size; /* -1 when the kernel has no result field */
};

/* Parses the tracepoint's `format` text. 0, MM_EPARSE when sig, comm or pid is missing
 * or a field lies beyond SIGWATCH_RAW_MAX. */
#define SIGWATCH_RAW_MAX 256
int sigwatch_parse_format(const char *buf, size_t len, struct sigwatch_fmt *f);

/* Decodes one sample body (PERF_SAMPLE_TID | PERF_SAMPLE_RAW, after the header). 0 or MM_EPARSE. */
int sigwatch_parse_sample(const struct sigwatch_fmt *f, const void *body, size_t len,
			  struct sigwatch_ev *ev);

struct sigwatch;

/* Opens the events (tracefs is mounted on a private temporary folder and unmounted
 * again when it is not already there). 0; MM_ENOTFOUND or MM_EIO when perf or the
 * tracepoint is unavailable, with the reason logged by the caller. */
int sigwatch_open(struct sigwatch **out);
void sigwatch_close(struct sigwatch *s);
size_t sigwatch_nfds(const struct sigwatch *s);
int sigwatch_fd(const struct sigwatch *s, size_t i);
/* Drains CPU i's ring buffer; fn for each sample. Returns the samples read. */
int sigwatch_read(struct sigwatch *s, size_t i, void (*fn)(const struct sigwatch_ev *ev, void *arg),
		  void *arg);
/* Samples the kernel dropped (PERF_RECORD_LOST) and records we could not decode. */
uint64_t sigwatch_lost(const struct sigwatch *s);

#endif
