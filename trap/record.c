/*
 * Session recordings as asciicast v2 (see event.h): a header line, then one
 * line [seconds, "o" or "i", "text"] per piece of output or input, which
 * `asciinema play` replays and `asciinema cat` prints.
 *
 * Text is what asciinema itself would have recorded: the bytes decoded as
 * UTF-8 with each invalid sequence replaced by U+FFFD (trap_json_text). A
 * character cut between two writes of the same direction is held back and
 * joined to the next, as asciinema's incremental decoder does, so that a
 * multi-byte character split by the network is not mangled.
 *
 * The file is bounded by max_bytes: the line that would pass the bound is
 * not written, a last "o" line says the recording stopped, and later
 * writes are dropped. Room for that note is kept from the start, so the
 * file stays within max_bytes whenever the header and the note fit.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "event.h"
#include "mamori/buf.h"
#include "mamori/error.h"
#include "mamori/log.h"

#define SESSION_MAX 32
#define NOTE_RESERVE 160 /* bytes kept for the last note */
/* Event lines are gathered and written together: a terminal's output comes
 * in many small pieces, and a write(2) each made the recording the slowest
 * part of a session that cats a binary. Past this, they are written. */
#define WBUF_FLUSH (32u << 10)
#define WBUF_MAX (64u << 10)

struct trap_record {
	int fd;
	struct timespec start;
	uint64_t bytes, max_bytes;
	int stopped;
	char path[64];
	uint8_t pend[2][4]; /* a character cut at the end of the last write, by direction */
	size_t npend[2];
	struct mm_buf wbuf; /* event lines not yet written */
};

/* A session id names a file: letters, digits, '-' and '_' only. */
static int session_valid(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > SESSION_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      c == '-' || c == '_'))
			return 0;
	}
	return 1;
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n == -1) {
			if (errno == EINTR)
				continue;
			return MM_EIO;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int header(struct trap_record *r, const char *session, unsigned width, unsigned height,
		  const char *term)
{
	char title[64];
	json_t *h;
	char *s;
	int rc;

	snprintf(title, sizeof title, "session %s", session);
	h = json_pack("{s:i, s:I, s:I, s:I, s:{s:o, s:s}, s:s}", "version", 2, "width",
		      (json_int_t)width, "height", (json_int_t)height, "timestamp",
		      (json_int_t)time(NULL), "env", "TERM",
		      trap_json_text(term, strnlen(term, 256)), "SHELL", "/bin/sh", "title", title);
	if (h == NULL)
		return MM_ENOMEM;
	s = json_dumps(h, JSON_COMPACT);
	json_decref(h);
	if (s == NULL)
		return MM_ENOMEM;
	rc = write_all(r->fd, s, strlen(s));
	if (rc == 0)
		rc = write_all(r->fd, "\n", 1);
	if (rc == 0)
		r->bytes += strlen(s) + 1;
	free(s);
	return rc;
}

int trap_record_open(int dir_fd, const char *session, unsigned width, unsigned height,
		     const char *term, uint64_t max_bytes, struct trap_record **out)
{
	struct trap_record *r;
	char name[SESSION_MAX + 8];
	int tty_fd = -1, rc = MM_EIO;

	*out = NULL;
	if (dir_fd < 0 || session == NULL || !session_valid(session) || max_bytes == 0)
		return MM_EINVAL;
	if (term == NULL || term[0] == '\0')
		term = "vt100";
	if ((r = calloc(1, sizeof *r)) == NULL)
		return MM_ENOMEM;
	r->fd = -1;
	mm_buf_init(&r->wbuf, WBUF_MAX);
	r->max_bytes = max_bytes;
	clock_gettime(CLOCK_MONOTONIC, &r->start);
	snprintf(name, sizeof name, "%s.cast", session);
	snprintf(r->path, sizeof r->path, "tty/%s", name);
	if (mkdirat(dir_fd, "tty", 0700) == -1 && errno != EEXIST) {
		log_warn("trap record: mkdir tty");
		goto fail;
	}
	if ((tty_fd = openat(dir_fd, "tty", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) ==
	    -1) {
		log_warn("trap record: open tty");
		goto fail;
	}
	r->fd = openat(tty_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (r->fd == -1) {
		log_warn("trap record: create %s", r->path);
		goto fail;
	}
	if ((rc = header(r, session, width, height, term)) < 0) {
		log_warn("trap record: write %s", r->path);
		goto fail;
	}
	close(tty_fd);
	*out = r;
	return 0;
fail:
	if (r->fd != -1)
		close(r->fd);
	if (tty_fd != -1)
		close(tty_fd);
	free(r);
	return rc;
}

/* How many bytes at the end of p (at most 3) begin a character that the
 * next write may finish: a lead byte and the continuation bytes after it,
 * all valid so far. */
static size_t cut_tail(const uint8_t *p, size_t len)
{
	size_t back;

	for (back = 1; back <= 3 && back <= len; back++) {
		uint8_t c = p[len - back], lo = 0x80, hi = 0xBF;
		size_t need, k;

		if ((c & 0xC0) == 0x80)
			continue; /* a continuation byte: look further back */
		if (c >= 0xC2 && c <= 0xDF) {
			need = 2;
		} else if (c >= 0xE0 && c <= 0xEF) {
			need = 3;
			lo = c == 0xE0 ? 0xA0 : 0x80;
			hi = c == 0xED ? 0x9F : 0xBF;
		} else if (c >= 0xF0 && c <= 0xF4) {
			need = 4;
			lo = c == 0xF0 ? 0x90 : 0x80;
			hi = c == 0xF4 ? 0x8F : 0xBF;
		} else {
			return 0;
		}
		if (back >= need)
			return 0; /* complete (or too long): not cut */
		for (k = 1; k < back; k++) {
			uint8_t d = p[len - back + k];

			if (k == 1 ? (d < lo || d > hi) : (d & 0xC0) != 0x80)
				return 0;
		}
		return back;
	}
	return 0;
}

static double elapsed(const struct trap_record *r)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - r->start.tv_sec) +
	       (double)(now.tv_nsec - r->start.tv_nsec) / 1e9;
}

/*
 * Writes n bytes of UTF-8 as a JSON string, quotes included, with the
 * escapes jansson's json_dumps() writes ("\\" "\"" \b \f \n \r \t, other
 * control characters as \u00XX): the same text, without formatting each
 * escape through printf, which a terminal full of binary output makes the
 * recording's main cost. out holds 6 * n + 2 bytes. Returns the length.
 */
static size_t json_quote(const char *s, size_t n, char *out)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i, o = 0;

	out[o++] = '"';
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char e = 0;

		switch (c) {
		case '"': e = '"'; break;
		case '\\': e = '\\'; break;
		case '\b': e = 'b'; break;
		case '\f': e = 'f'; break;
		case '\n': e = 'n'; break;
		case '\r': e = 'r'; break;
		case '\t': e = 't'; break;
		default: break;
		}
		if (e) {
			out[o++] = '\\';
			out[o++] = e;
		} else if (c < 0x20) {
			memcpy(out + o, "\\u00", 4);
			out[o + 4] = hex[c >> 4];
			out[o + 5] = hex[c & 15];
			o += 6;
		} else {
			out[o++] = (char)c;
		}
	}
	out[o++] = '"';
	return o;
}

/* One event line [t, "type", text]; returns it malloc'd, or NULL. */
static char *event_line(const struct trap_record *r, char type, json_t *text, size_t *len)
{
	const char *s = json_string_value(text);
	size_t n = json_string_length(text), hn;
	char head[48], *line;

	if (s == NULL)
		return NULL;
	hn = (size_t)snprintf(head, sizeof head, "[%.6f, \"%c\", ", elapsed(r), type);
	if (hn >= sizeof head || n > (SIZE_MAX - hn - 4) / 6 ||
	    (line = malloc(hn + 6 * n + 4)) == NULL)
		return NULL;
	memcpy(line, head, hn);
	*len = hn + json_quote(s, n, line + hn);
	memcpy(line + *len, "]\n", 3);
	*len += 2;
	return line;
}

int trap_record_flush(struct trap_record *r)
{
	int rc = 0;

	if (r == NULL)
		return 0;
	if (r->wbuf.len > 0)
		rc = write_all(r->fd, r->wbuf.data, r->wbuf.len);
	/* Given back each time: an idle session holds no buffer. */
	mm_buf_free(&r->wbuf);
	return rc;
}

/* Gathers one event line, writing what was gathered when it grows past
 * WBUF_FLUSH (or the line alone when it does not fit). */
static int emit_line(struct trap_record *r, const char *line, size_t len)
{
	int rc;

	if (mm_buf_append(&r->wbuf, line, len) == 0)
		return r->wbuf.len >= WBUF_FLUSH ? trap_record_flush(r) : 0;
	if ((rc = trap_record_flush(r)) < 0)
		return rc;
	return write_all(r->fd, line, len);
}

/* The last line: why nothing more was recorded. */
static void stop(struct trap_record *r)
{
	char note[128];
	json_t *t;
	char *line;
	size_t len;

	r->stopped = 1;
	snprintf(note, sizeof note,
		 "\r\n[recording stopped: it reached its limit of %llu bytes]\r\n",
		 (unsigned long long)r->max_bytes);
	if ((t = json_string(note)) == NULL)
		return;
	line = event_line(r, 'o', t, &len);
	json_decref(t);
	if (line && emit_line(r, line, len) == 0)
		r->bytes += len;
	free(line);
}

/* Writes text as an event, or the note when it would pass the bound. */
static int put_event(struct trap_record *r, char type, json_t *text)
{
	char *line;
	size_t len;
	int rc;

	if ((line = event_line(r, type, text, &len)) == NULL)
		return MM_ENOMEM;
	if (r->bytes + len + NOTE_RESERVE > r->max_bytes) {
		free(line);
		stop(r);
		return 0;
	}
	if ((rc = emit_line(r, line, len)) == 0)
		r->bytes += len;
	else
		log_warn("trap record: write %s", r->path);
	free(line);
	return rc;
}

int trap_record_write(struct trap_record *r, char type, const void *data, size_t len)
{
	int d = type == 'o' ? 0 : type == 'i' ? 1 : -1;
	uint8_t *all;
	size_t n, hold;
	json_t *text;
	int rc;

	if (r == NULL || d < 0 || (data == NULL && len > 0))
		return MM_EINVAL;
	if (r->stopped || len == 0)
		return 0;
	n = r->npend[d] + len;
	if (n < len || (all = malloc(n)) == NULL)
		return MM_ENOMEM;
	memcpy(all, r->pend[d], r->npend[d]);
	memcpy(all + r->npend[d], data, len);
	hold = cut_tail(all, n);
	memcpy(r->pend[d], all + n - hold, hold);
	r->npend[d] = hold;
	if (n == hold) {
		free(all);
		return 0;
	}
	text = trap_json_text(all, n - hold);
	free(all);
	if (text == NULL)
		return MM_ENOMEM;
	rc = put_event(r, type, text);
	json_decref(text);
	return rc;
}

void trap_record_close(struct trap_record *r, uint64_t *bytes, char *path)
{
	int d;

	if (r == NULL)
		return;
	/* A character still cut at the end never came whole: U+FFFD, as
	 * asciinema's decoder gives at the end of its input. */
	for (d = 0; d < 2 && !r->stopped; d++)
		if (r->npend[d] > 0) {
			json_t *text = trap_json_text(r->pend[d], r->npend[d]);

			if (text)
				put_event(r, d == 0 ? 'o' : 'i', text);
			json_decref(text);
		}
	if (trap_record_flush(r) < 0)
		log_warn("trap record: write %s", r->path);
	if (bytes)
		*bytes = r->bytes;
	if (path)
		snprintf(path, 64, "%s", r->path);
	if (close(r->fd) == -1)
		log_warn("trap record: close %s", r->path);
	free(r);
}
