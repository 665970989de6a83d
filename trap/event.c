/*
 * The event log of mamori-trap (see event.h): each event becomes one
 * compact JSON line in DIR/log/events.json, a copy on standard output, and
 * an RFC 5424 message in the spool through the reporter.
 *
 * The file is opened once with O_APPEND and each line goes out in one
 * write(2), so lines of concurrent writers never interleave and a crash
 * loses at most the line being written. A line longer than
 * TRAP_EVENT_LINE_MAX is refused and counted (with its RFC 5424 header it
 * would not fit mamori-soc's default message bound of 64 KiB); the session
 * bounds what it puts in an event well below that.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "event.h"
#include "mamori/error.h"
#include "mamori/log.h"
#include "mamori/reporter.h"

#define TRAP_EVENT_LINE_MAX (60u * 1024)
#define EVENT_NAME_MAX 32 /* an RFC 5424 MSGID */
#define SENSOR_MAX 255

struct trap_events {
	int fd;
	int log_fd;              /* DIR/log, for rotating events.json */
	uint64_t size, log_max;  /* events.json's bytes, and where it is rotated */
	unsigned log_keep;
	char sensor[SENSOR_MAX + 1];
	const struct trap_attack *attack;
	struct mm_reporter *rep;
	int quiet;
	struct trap_events_stats st;
};

/* ---- text ---- */

/* How many bytes the character starting with c needs (2..4), and the
 * range its second byte must fall in; 0 for a byte that starts none. */
static unsigned utf8_need(uint8_t c, uint8_t *lo, uint8_t *hi)
{
	*lo = 0x80;
	*hi = 0xBF;
	if (c >= 0xC2 && c <= 0xDF)
		return 2;
	if (c >= 0xE0 && c <= 0xEF) {
		/* No overlong forms (E0) and no surrogates (ED). */
		if (c == 0xE0)
			*lo = 0xA0;
		else if (c == 0xED)
			*hi = 0x9F;
		return 3;
	}
	if (c >= 0xF0 && c <= 0xF4) {
		/* No overlong forms (F0) and nothing past U+10FFFF (F4). */
		if (c == 0xF0)
			*lo = 0x90;
		else if (c == 0xF4)
			*hi = 0x8F;
		return 4;
	}
	return 0;
}

json_t *trap_json_text(const void *data, size_t len)
{
	static const char fffd[] = "\xEF\xBF\xBD";
	const uint8_t *p = data;
	size_t i = 0, o = 0;
	json_t *s;
	char *out;

	if (len == 0 || data == NULL)
		return json_string("");
	/* Each invalid byte becomes at most three: the output is bounded. */
	if (len > (SIZE_MAX - 1) / 3 || (out = malloc(len * 3 + 1)) == NULL)
		return NULL;
	while (i < len) {
		uint8_t lo, hi;
		unsigned need, k;

		if (p[i] < 0x80) {
			out[o++] = (char)p[i++];
			continue;
		}
		if ((need = utf8_need(p[i], &lo, &hi)) == 0) {
			memcpy(out + o, fffd, 3);
			o += 3;
			i++;
			continue;
		}
		/* k: how many of the bytes after the lead continue it rightly. */
		for (k = 1; k < need && i + k < len; k++) {
			uint8_t c = p[i + k];

			if (k == 1 ? (c < lo || c > hi) : (c < 0x80 || c > 0xBF))
				break;
		}
		if (k == need) {
			memcpy(out + o, p + i, need);
			o += need;
		} else {
			memcpy(out + o, fffd, 3);
			o += 3;
		}
		i += k;
	}
	s = json_stringn(out, o);
	free(out);
	return s;
}

/* ---- the log ---- */

int trap_events_open(const struct trap_events_opts *o, struct trap_events **out)
{
	struct trap_events *e;
	int log_fd = -1, rc = MM_EIO;

	*out = NULL;
	if (o == NULL || o->dir_fd < 0)
		return MM_EINVAL;
	if ((e = calloc(1, sizeof *e)) == NULL)
		return MM_ENOMEM;
	e->fd = -1;
	e->log_fd = -1;
	e->log_max = o->log_max;
	e->log_keep = o->log_keep == 0 ? 1 : o->log_keep > 100 ? 100 : o->log_keep;
	e->attack = o->attack;
	e->rep = o->rep;
	e->quiet = o->quiet;
	if (o->sensor && o->sensor[0]) {
		if (strlen(o->sensor) > SENSOR_MAX) {
			rc = MM_EINVAL;
			goto fail;
		}
		snprintf(e->sensor, sizeof e->sensor, "%s", o->sensor);
	} else if (gethostname(e->sensor, sizeof e->sensor) == -1) {
		snprintf(e->sensor, sizeof e->sensor, "%s", "mamori-trap");
	}
	e->sensor[SENSOR_MAX] = '\0';
	if (mkdirat(o->dir_fd, "log", 0700) == -1 && errno != EEXIST) {
		log_warn("trap events: mkdir log");
		goto fail;
	}
	if ((log_fd = openat(o->dir_fd, "log", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) ==
	    -1) {
		log_warn("trap events: open log");
		goto fail;
	}
	e->fd = openat(log_fd, "events.json",
		       O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (e->fd == -1) {
		log_warn("trap events: open log/events.json");
		goto fail;
	}
	{
		struct stat st;

		e->size = fstat(e->fd, &st) == 0 ? (uint64_t)st.st_size : 0;
	}
	e->log_fd = log_fd;
	*out = e;
	return 0;
fail:
	if (log_fd != -1)
		close(log_fd);
	free(e);
	return rc;
}

void trap_events_close(struct trap_events *e)
{
	if (e == NULL)
		return;
	if (e->fd != -1)
		close(e->fd);
	if (e->log_fd != -1)
		close(e->log_fd);
	free(e);
}

/* Rotates events.json once it passed log_max: events.json.N-1 becomes .N
 * (the oldest, .log_keep, is replaced), events.json becomes .1, and a new
 * events.json is begun. A rename that fails leaves the file growing. */
static void rotate(struct trap_events *e)
{
	char from[32], to[32];
	unsigned i;
	int fd;

	for (i = e->log_keep; i >= 1; i--) {
		if (i == 1)
			snprintf(from, sizeof from, "events.json");
		else
			snprintf(from, sizeof from, "events.json.%u", i - 1);
		snprintf(to, sizeof to, "events.json.%u", i);
		if (renameat(e->log_fd, from, e->log_fd, to) == -1 && errno != ENOENT) {
			log_warn("trap events: rename log/%s", from);
			return;
		}
	}
	fd = openat(e->log_fd, "events.json",
		    O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1) {
		log_warn("trap events: open log/events.json");
		return;
	}
	close(e->fd);
	e->fd = fd;
	e->size = 0;
	e->st.rotations++;
}

void trap_events_stats(const struct trap_events *e, struct trap_events_stats *st)
{
	*st = e->st;
}

/*
 * mamori's name of an event: "trap." in place of "cowrie.", or a trap.*
 * id itself. The one Cowrie id whose name would pass the 32 characters of
 * an RFC 5424 MSGID gets a shorter one (docs/formats/trap.md).
 */
static int event_name(const char *eventid, char name[EVENT_NAME_MAX + 1])
{
	static const char cowrie[] = "cowrie.";
	size_t i, n;

	if (strcmp(eventid, "cowrie.session.file_download.failed") == 0)
		n = (size_t)snprintf(name, EVENT_NAME_MAX + 1, "trap.session.download.failed");
	else if (strncmp(eventid, cowrie, sizeof cowrie - 1) == 0)
		n = (size_t)snprintf(name, EVENT_NAME_MAX + 1, "trap.%s",
				     eventid + sizeof cowrie - 1);
	else if (strncmp(eventid, "trap.", 5) == 0)
		n = (size_t)snprintf(name, EVENT_NAME_MAX + 1, "%s", eventid);
	else
		return MM_EINVAL;
	if (n > EVENT_NAME_MAX)
		return MM_EINVAL;
	for (i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return MM_EINVAL;
	}
	return 0;
}

/* mamori's "time" (RFC 3339, milliseconds) and Cowrie's "timestamp"
 * (microseconds), from the same instant. */
static void stamps(char *time_s, size_t tn, char *cowrie_s, size_t cn)
{
	struct timespec ts;
	struct tm tm;
	char base[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
	/* tv_nsec is below 10^9: the fractions have 3 and 6 digits. */
	snprintf(time_s, tn, "%s.%03uZ", base, (unsigned)(ts.tv_nsec / 1000000) % 1000u);
	snprintf(cowrie_s, cn, "%s.%06uZ", base, (unsigned)(ts.tv_nsec / 1000) % 1000000u);
}

static int put(json_t *o, const char *key, json_t *v)
{
	return v == NULL || json_object_set_new(o, key, v) != 0 ? MM_ENOMEM : 0;
}

/* A member as text for a message: a string as it is, a number in
 * decimal (seconds without their fraction), "" when absent. */
static const char *member(const json_t *ev, const char *key, char *buf, size_t n)
{
	const json_t *v = json_object_get(ev, key);

	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_integer(v))
		snprintf(buf, n, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		snprintf(buf, n, "%lld", (long long)json_real_value(v));
	else
		snprintf(buf, n, "%s", "");
	return buf;
}

/*
 * Cowrie's "message" for the events that have one in Cowrie, worded as
 * Cowrie words it, when the session gave none: tools that show Cowrie's
 * messages then show the trap's the same way. Returns NULL for an event
 * without one (or no memory).
 */
static json_t *cowrie_message(const char *eventid, const struct trap_session_id *s,
			      const json_t *ev)
{
	char msg[8192], b1[32], b2[32], b3[32];
	const char *url, *dest;

	msg[0] = '\0';
	if (strcmp(eventid, "cowrie.session.connect") == 0 && s != NULL)
		snprintf(msg, sizeof msg, "New connection: %s:%u (%s:%u) [session: %s]", s->src_ip,
			 s->src_port, s->dst_ip, s->dst_port, s->session);
	else if (strcmp(eventid, "cowrie.client.size") == 0)
		snprintf(msg, sizeof msg, "Terminal Size: %s %s",
			 member(ev, "width", b1, sizeof b1), member(ev, "height", b2, sizeof b2));
	else if (strcmp(eventid, "cowrie.login.success") == 0 ||
		 strcmp(eventid, "cowrie.login.failed") == 0)
		snprintf(msg, sizeof msg, "login attempt [%s/%s] %s",
			 member(ev, "username", b1, sizeof b1), member(ev, "password", b2, sizeof b2),
			 eventid[13] == 's' ? "succeeded" : "failed");
	else if (strcmp(eventid, "cowrie.command.input") == 0)
		snprintf(msg, sizeof msg, "CMD: %s", member(ev, "input", b1, sizeof b1));
	else if (strcmp(eventid, "cowrie.command.failed") == 0)
		snprintf(msg, sizeof msg, "Command not found: %s", member(ev, "input", b1, sizeof b1));
	else if (strcmp(eventid, "cowrie.session.file_download") == 0) {
		url = member(ev, "url", b1, sizeof b1);
		dest = member(ev, "destfile", b2, sizeof b2);
		/* A file the shell wrote has its own path as url, as Cowrie's
		 * redirections do. */
		if (strcmp(url, dest) == 0)
			snprintf(msg, sizeof msg, "Saved redir contents with SHA-256 %s to %s",
				 member(ev, "shasum", b3, sizeof b3),
				 json_is_string(json_object_get(ev, "outfile"))
				     ? json_string_value(json_object_get(ev, "outfile"))
				     : url);
		else
			snprintf(msg, sizeof msg, "Downloaded URL (%s) with SHA-256 %s to %s", url,
				 member(ev, "shasum", b3, sizeof b3),
				 json_is_string(json_object_get(ev, "outfile"))
				     ? json_string_value(json_object_get(ev, "outfile"))
				     : dest);
	} else if (strcmp(eventid, "cowrie.session.file_download.failed") == 0)
		snprintf(msg, sizeof msg, "Attempt to download file(s) from URL (%s) failed",
			 member(ev, "url", b1, sizeof b1));
	else if (strcmp(eventid, "cowrie.log.closed") == 0)
		snprintf(msg, sizeof msg, "Closing TTY Log: %s", member(ev, "ttylog", b1, sizeof b1));
	else if (strcmp(eventid, "cowrie.session.closed") == 0)
		snprintf(msg, sizeof msg, "Connection lost after %s seconds",
			 member(ev, "duration", b1, sizeof b1));
	if (msg[0] == '\0')
		return NULL;
	/* A cut at the buffer's end may split a character: U+FFFD then. */
	return trap_json_text(msg, strlen(msg));
}

/* Builds the whole event: the common members, ev's own, then attack. */
static int build(struct trap_events *e, const struct trap_session_id *s, const char *eventid,
		 const char *name, json_t *ev, json_t **out)
{
	char tm[40], ts[40];
	json_t *o, *attack, *v;
	const char *key;
	size_t i;
	int rc = MM_ENOMEM;

	if ((o = json_object()) == NULL)
		return MM_ENOMEM;
	stamps(tm, sizeof tm, ts, sizeof ts);
	if (put(o, "eventid", json_string(eventid)) < 0 || put(o, "event", json_string(name)) < 0 ||
	    put(o, "time", json_string(tm)) < 0 || put(o, "timestamp", json_string(ts)) < 0 ||
	    put(o, "sensor", json_string(e->sensor)) < 0)
		goto fail;
	if (s != NULL &&
	    (put(o, "session", trap_json_text(s->session, strnlen(s->session, sizeof s->session))) <
		     0 ||
	     put(o, "src_ip", trap_json_text(s->src_ip, strnlen(s->src_ip, sizeof s->src_ip))) < 0 ||
	     put(o, "src_port", json_integer(s->src_port)) < 0 ||
	     put(o, "dst_ip", trap_json_text(s->dst_ip, strnlen(s->dst_ip, sizeof s->dst_ip))) < 0 ||
	     put(o, "dst_port", json_integer(s->dst_port)) < 0))
		goto fail;
	if (put(o, "protocol", json_string("telnet")) < 0)
		goto fail;
	/* The event's own members; the common ones above are not overridden. */
	json_object_foreach(ev, key, v) {
		if (strcmp(key, "attack") == 0 || json_object_get(o, key) != NULL)
			continue;
		if (json_object_set(o, key, v) != 0)
			goto fail;
	}
	if (json_object_get(o, "message") == NULL &&
	    (v = cowrie_message(eventid, s, ev)) != NULL && put(o, "message", v) < 0)
		goto fail;
	if ((attack = json_array()) == NULL)
		goto fail;
	json_array_foreach(json_object_get(ev, "attack"), i, v)
		if (json_is_string(v))
			json_array_append(attack, v);
	trap_attack_event(e->attack, eventid, attack);
	/* put() takes the array whether it succeeds or not. */
	if (put(o, "attack", attack) < 0)
		goto fail;
	*out = o;
	return 0;
fail:
	json_decref(o);
	return rc;
}

/* Writes one line (with its LF) in one write. */
static int write_line(struct trap_events *e, const char *line, size_t len)
{
	ssize_t n;

	do
		n = write(e->fd, line, len);
	while (n == -1 && errno == EINTR);
	if (n == -1 || (size_t)n != len) {
		if (n != -1)
			errno = EIO;
		log_warn("trap events: write log/events.json");
		return MM_EIO;
	}
	return 0;
}

int trap_events_emit(struct trap_events *e, const struct trap_session_id *s, const char *eventid,
		     json_t *ev)
{
	char name[EVENT_NAME_MAX + 1];
	json_t *o = NULL;
	char *line = NULL;
	size_t len;
	int rc, rrc;

	if (e == NULL || eventid == NULL || (ev != NULL && !json_is_object(ev))) {
		rc = MM_EINVAL;
		goto out;
	}
	if ((rc = event_name(eventid, name)) < 0)
		goto out;
	if (ev == NULL && (ev = json_object()) == NULL) {
		rc = MM_ENOMEM;
		goto out;
	}
	if ((rc = build(e, s, eventid, name, ev, &o)) < 0)
		goto out;
	if ((line = json_dumps(o, JSON_COMPACT)) == NULL) {
		rc = MM_ENOMEM;
		goto out;
	}
	len = strlen(line);
	if (len > TRAP_EVENT_LINE_MAX) {
		log_warnx("trap events: %s of %zu bytes not written (more than %u)", eventid, len,
			  TRAP_EVENT_LINE_MAX);
		rc = MM_ETOOBIG;
		goto out;
	}
	/* json_dumps leaves room only for the NUL: the LF needs its own byte. */
	{
		char *l2 = realloc(line, len + 2);

		if (l2 == NULL) {
			rc = MM_ENOMEM;
			goto out;
		}
		line = l2;
	}
	line[len] = '\n';
	line[len + 1] = '\0';
	if ((rc = write_line(e, line, len + 1)) == 0) {
		e->st.lines++;
		e->size += len + 1;
		if (e->log_max && e->size >= e->log_max)
			rotate(e);
	}
	if (!e->quiet) {
		fwrite(line, 1, len + 1, stdout);
		fflush(stdout);
	}
	if (e->rep) {
		if ((rrc = mm_reporter_event(e->rep, line, len)) == 0)
			e->st.spooled++;
		else if (rrc == MM_EFULL)
			e->st.refused++;
		else
			e->st.errors++;
		if (rc == 0)
			rc = rrc;
	}
	free(line);
	json_decref(o);
	json_decref(ev);
	return rc;
out:
	if (e != NULL)
		e->st.errors++;
	free(line);
	json_decref(o);
	json_decref(ev);
	return rc;
}

int trap_events_auth_failed(struct trap_events *e, const struct trap_session_id *s,
			    const char *username)
{
	struct mm_reporter_status st = {MM_REPORTER_ERR_STD, .std = 0x20};
	struct mm_reporter_stats before, after;
	struct mm_reporter_msg m = {0};
	char detail[256];
	json_t *user;
	int rc;

	if (e == NULL || s == NULL || username == NULL)
		return MM_EINVAL;
	if (e->rep == NULL)
		return 0;
	/* The detail is text: the name as the event shows it (U+FFFD for what
	 * is not UTF-8); the reporter cuts it at its bound. */
	if ((user = trap_json_text(username, strlen(username))) == NULL)
		return MM_ENOMEM;
	snprintf(detail, sizeof detail, "login failed for user \"%s\"", json_string_value(user));
	json_decref(user);
	m.protocol = "Telnet";
	m.requester = (struct mm_reporter_party){MM_X1367_ID_IP, s->src_ip};
	m.responder = (struct mm_reporter_party){MM_X1367_ID_IP, s->dst_ip};
	m.raw = username;
	m.raw_len = strlen(username);
	m.detail = detail;
	mm_reporter_stats(e->rep, &before);
	rc = mm_reporter_report(e->rep, &m, NULL, 0, &st);
	mm_reporter_stats(e->rep, &after);
	if (after.spooled > before.spooled)
		e->st.spooled++;
	else if (rc == MM_EFULL || after.refused > before.refused)
		e->st.refused++;
	else if (rc < 0 || after.invalid > before.invalid)
		e->st.errors++;
	return rc;
}
