/*
 * The signal_generate tracepoint through perf (sigwatch.h). Reading the
 * field offsets from the format file rather than compiling them in keeps
 * this working across kernels whose record layout differs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "mamori/error.h"
#include "mamori/log.h"
#include "proc.h"
#include "sigwatch.h"

#define RING_PAGES 8 /* data pages per CPU, a power of two */
#define SAMPLE_MAX 512

struct sigwatch {
	struct sigwatch_fmt fmt;
	size_t n;
	size_t page, ring;
	uint64_t lost;
	struct {
		int fd;
		void *map;
	} cpu[SIGWATCH_MAX_CPUS];
};

/* "offset:N;" after key within [p, end). */
static int field_num(const char *p, const char *end, const char *key, int *out)
{
	size_t klen = strlen(key);
	long v = 0;
	const char *q;

	for (q = p; q + klen <= end; q++) {
		if (memcmp(q, key, klen) != 0)
			continue;
		q += klen;
		if (q >= end || *q < '0' || *q > '9')
			return MM_EPARSE;
		while (q < end && *q >= '0' && *q <= '9') {
			v = v * 10 + (*q - '0');
			if (v > SIGWATCH_RAW_MAX)
				return MM_EPARSE;
			q++;
		}
		*out = (int)v;
		return 0;
	}
	return MM_EPARSE;
}

/* The declared name in "field:char comm[16];": the identifier before '[' or ';'. */
static size_t field_name(const char *decl, size_t len, const char **name)
{
	size_t end = len, start;

	for (start = 0; start < len; start++)
		if (decl[start] == '[') {
			end = start;
			break;
		}
	while (end > 0 && decl[end - 1] == ' ')
		end--;
	start = end;
	while (start > 0 && (decl[start - 1] == '_' || (decl[start - 1] >= 'a' && decl[start - 1] <= 'z') ||
			     (decl[start - 1] >= 'A' && decl[start - 1] <= 'Z') ||
			     (decl[start - 1] >= '0' && decl[start - 1] <= '9')))
		start--;
	*name = decl + start;
	return end - start;
}

int sigwatch_parse_format(const char *buf, size_t len, struct sigwatch_fmt *f)
{
	size_t pos = 0;

	f->sig_off = f->comm_off = f->pid_off = f->result_off = -1;
	f->sig_size = f->comm_size = f->pid_size = f->result_size = 0;
	while (pos < len) {
		const char *line = buf + pos, *nl = memchr(line, '\n', len - pos), *end, *semi, *fld;
		const char *name;
		size_t nlen;
		int off, size;

		end = nl ? nl : buf + len;
		pos = (size_t)(end - buf) + (nl ? 1 : 0);
		fld = memmem(line, (size_t)(end - line), "field:", 6);
		if (fld == NULL)
			continue;
		fld += 6;
		semi = memchr(fld, ';', (size_t)(end - fld));
		if (semi == NULL)
			continue;
		nlen = field_name(fld, (size_t)(semi - fld), &name);
		if (field_num(semi, end, "offset:", &off) < 0 || field_num(semi, end, "size:", &size) < 0)
			continue;
		if (off + size > SIGWATCH_RAW_MAX)
			return MM_EPARSE;
		if (nlen == 3 && memcmp(name, "sig", 3) == 0 && size == 4) {
			f->sig_off = off;
			f->sig_size = size;
		} else if (nlen == 4 && memcmp(name, "comm", 4) == 0 && size > 0) {
			f->comm_off = off;
			f->comm_size = size;
		} else if (nlen == 3 && memcmp(name, "pid", 3) == 0 && size == 4) {
			f->pid_off = off;
			f->pid_size = size;
		} else if (nlen == 6 && memcmp(name, "result", 6) == 0 && size == 4) {
			f->result_off = off;
			f->result_size = size;
		}
	}
	if (f->sig_off < 0 || f->comm_off < 0 || f->pid_off < 0)
		return MM_EPARSE;
	return 0;
}

static int32_t get_i32(const uint8_t *p)
{
	int32_t v;

	memcpy(&v, p, 4);
	return v;
}

int sigwatch_parse_sample(const struct sigwatch_fmt *f, const void *body, size_t len,
			  struct sigwatch_ev *ev)
{
	const uint8_t *p = body, *raw;
	uint32_t rawlen;
	size_t n;

	memset(ev, 0, sizeof *ev);
	if (len < 12)
		return MM_EPARSE;
	ev->sender = (pid_t)get_i32(p);
	ev->sender_tid = (pid_t)get_i32(p + 4);
	memcpy(&rawlen, p + 8, 4);
	if (rawlen > len - 12)
		return MM_EPARSE;
	raw = p + 12;
	if ((size_t)(f->sig_off + 4) > rawlen || (size_t)(f->pid_off + 4) > rawlen ||
	    (size_t)(f->comm_off + f->comm_size) > rawlen)
		return MM_EPARSE;
	ev->sig = get_i32(raw + f->sig_off);
	ev->target = (pid_t)get_i32(raw + f->pid_off);
	ev->result = 0;
	if (f->result_off >= 0) {
		if ((size_t)(f->result_off + 4) > rawlen)
			return MM_EPARSE;
		ev->result = get_i32(raw + f->result_off);
	}
	n = (size_t)f->comm_size < sizeof ev->comm - 1 ? (size_t)f->comm_size : sizeof ev->comm - 1;
	memcpy(ev->comm, raw + f->comm_off, n);
	ev->comm[n] = '\0';
	ev->comm[strnlen(ev->comm, n)] = '\0';
	return 0;
}

/* Reads the tracepoint's id and format under dir ("/sys/kernel/tracing"). */
static int read_tracepoint(const char *dir, long *id, struct sigwatch_fmt *fmt)
{
	char path[PATH_MAX], buf[4096];
	ssize_t n;
	char *end;

	snprintf(path, sizeof path, "%s/events/signal/signal_generate/id", dir);
	n = proc_read_file(path, buf, sizeof buf);
	if (n < 0)
		return MM_ENOTFOUND;
	errno = 0;
	*id = strtol(buf, &end, 10);
	if (errno != 0 || end == buf || *id <= 0)
		return MM_EPARSE;
	snprintf(path, sizeof path, "%s/events/signal/signal_generate/format", dir);
	n = proc_read_file(path, buf, sizeof buf);
	if (n < 0)
		return MM_ENOTFOUND;
	return sigwatch_parse_format(buf, (size_t)n, fmt);
}

/* The standard places first; else tracefs on a private folder just for the read. */
static int find_tracepoint(long *id, struct sigwatch_fmt *fmt)
{
	char dir[] = "/tmp/mamorid-tracefs.XXXXXX";
	int rc;

	if (read_tracepoint("/sys/kernel/tracing", id, fmt) == 0 ||
	    read_tracepoint("/sys/kernel/debug/tracing", id, fmt) == 0)
		return 0;
	if (mkdtemp(dir) == NULL)
		return MM_EIO;
	if (mount("tracefs", dir, "tracefs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
		log_warn("sigwatch: mount tracefs");
		rmdir(dir);
		return MM_ENOTFOUND;
	}
	rc = read_tracepoint(dir, id, fmt);
	if (umount2(dir, MNT_DETACH) < 0)
		log_warn("sigwatch: umount %s", dir);
	rmdir(dir);
	return rc;
}

int sigwatch_open(struct sigwatch **out)
{
	struct perf_event_attr attr;
	struct sigwatch *s;
	long id, ncpu;
	int rc, cpu;

	*out = NULL;
	s = calloc(1, sizeof *s);
	if (s == NULL)
		return MM_ENOMEM;
	rc = find_tracepoint(&id, &s->fmt);
	if (rc < 0)
		goto fail;
	s->page = (size_t)sysconf(_SC_PAGESIZE);
	s->ring = s->page * RING_PAGES;
	ncpu = sysconf(_SC_NPROCESSORS_CONF);
	if (ncpu < 1)
		ncpu = 1;
	if (ncpu > SIGWATCH_MAX_CPUS)
		ncpu = SIGWATCH_MAX_CPUS;
	memset(&attr, 0, sizeof attr);
	attr.size = sizeof attr;
	attr.type = PERF_TYPE_TRACEPOINT;
	attr.config = (uint64_t)id;
	attr.sample_period = 1;
	attr.sample_type = PERF_SAMPLE_TID | PERF_SAMPLE_RAW;
	attr.wakeup_events = 1;
	for (cpu = 0; cpu < ncpu; cpu++) {
		int fd = (int)syscall(SYS_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
		void *map;

		if (fd < 0) {
			if (errno == ENODEV || errno == EINVAL)
				continue; /* an offline CPU */
			log_warn("sigwatch: perf_event_open cpu %d", cpu);
			rc = MM_EIO;
			goto fail;
		}
		map = mmap(NULL, s->page + s->ring, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (map == MAP_FAILED) {
			log_warn("sigwatch: mmap cpu %d", cpu);
			close(fd);
			rc = MM_EIO;
			goto fail;
		}
		s->cpu[s->n].fd = fd;
		s->cpu[s->n].map = map;
		s->n++;
	}
	if (s->n == 0) {
		rc = MM_ENOTFOUND;
		goto fail;
	}
	*out = s;
	return 0;
fail:
	sigwatch_close(s);
	return rc;
}

void sigwatch_close(struct sigwatch *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->n; i++) {
		munmap(s->cpu[i].map, s->page + s->ring);
		close(s->cpu[i].fd);
	}
	free(s);
}

size_t sigwatch_nfds(const struct sigwatch *s)
{
	return s->n;
}

int sigwatch_fd(const struct sigwatch *s, size_t i)
{
	return i < s->n ? s->cpu[i].fd : -1;
}

uint64_t sigwatch_lost(const struct sigwatch *s)
{
	return s->lost;
}

/* Copies n bytes at ring offset off, wrapping at the end of the ring. */
/*
 * The ring's head, read before the data it covers; and its tail, written
 * after the data was read. A 32-bit CPU (armel, mipsel) has no 64-bit atomic
 * load or store, so there, as the kernel's own tools do, the word is read
 * and written plainly with a barrier beside it: its high half changes once
 * every 4 GiB of samples.
 */
#if UINTPTR_MAX > 0xffffffffu
static uint64_t ring_head(struct perf_event_mmap_page *mp)
{
	return __atomic_load_n(&mp->data_head, __ATOMIC_ACQUIRE);
}

static void ring_set_tail(struct perf_event_mmap_page *mp, uint64_t tail)
{
	__atomic_store_n(&mp->data_tail, tail, __ATOMIC_RELEASE);
}
#else
static uint64_t ring_head(struct perf_event_mmap_page *mp)
{
	uint64_t head = *(volatile uint64_t *)&mp->data_head;

	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return head;
}

static void ring_set_tail(struct perf_event_mmap_page *mp, uint64_t tail)
{
	__atomic_thread_fence(__ATOMIC_RELEASE);
	*(volatile uint64_t *)&mp->data_tail = tail;
}
#endif

static void ring_copy(const struct sigwatch *s, const uint8_t *data, uint64_t off, void *dst,
		      size_t n)
{
	size_t at = (size_t)(off % s->ring), first = s->ring - at;

	if (first >= n) {
		memcpy(dst, data + at, n);
	} else {
		memcpy(dst, data + at, first);
		memcpy((uint8_t *)dst + first, data, n - first);
	}
}

int sigwatch_read(struct sigwatch *s, size_t i, void (*fn)(const struct sigwatch_ev *ev, void *arg),
		  void *arg)
{
	struct perf_event_mmap_page *mp;
	const uint8_t *data;
	uint64_t head, tail;
	int count = 0;

	if (i >= s->n)
		return MM_EINVAL;
	mp = s->cpu[i].map;
	data = (const uint8_t *)s->cpu[i].map + s->page;
	head = ring_head(mp);
	tail = mp->data_tail;
	while (tail < head) {
		struct perf_event_header h;
		uint8_t rec[SAMPLE_MAX];
		struct sigwatch_ev ev;

		if (head - tail < sizeof h)
			break;
		ring_copy(s, data, tail, &h, sizeof h);
		if (h.size < sizeof h || h.size > head - tail) {
			/* A record we cannot frame: skip what the kernel wrote so far. */
			s->lost++;
			tail = head;
			break;
		}
		if (h.type == PERF_RECORD_SAMPLE && h.size <= sizeof h + sizeof rec) {
			ring_copy(s, data, tail + sizeof h, rec, h.size - sizeof h);
			if (sigwatch_parse_sample(&s->fmt, rec, h.size - sizeof h, &ev) == 0) {
				fn(&ev, arg);
				count++;
			} else {
				s->lost++;
			}
		} else if (h.type == PERF_RECORD_LOST && h.size >= sizeof h + 16) {
			uint64_t lost[2];

			ring_copy(s, data, tail + sizeof h, lost, sizeof lost);
			s->lost += lost[1];
		} else if (h.type == PERF_RECORD_SAMPLE) {
			s->lost++;
		}
		tail += h.size;
	}
	ring_set_tail(mp, tail);
	return count;
}
