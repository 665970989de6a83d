/*
 * The events of mamori-trap: one JSON object per line, whose "eventid" and
 * fields follow Cowrie's (cowrie.session.connect, cowrie.client.size,
 * cowrie.login.success / cowrie.login.failed, cowrie.command.input /
 * cowrie.command.failed, cowrie.session.file_download (and .failed),
 * cowrie.session.file_upload, cowrie.log.closed, cowrie.session.closed ...)
 * so that tools made for Cowrie's cowrie.json read them. Each also carries
 * mamori's own members: "event" (the same name with "trap." in place of
 * "cowrie.": trap.login.failed), "time" (RFC 3339), and "attack": the
 * ATT&CK technique ids the event shows, from the table in
 * data/trap/attack.tsv. Every event and its fields is listed in
 * docs/formats/trap.md.
 *
 * The lines go to DIR/log/events.json (appended, one write per line) and,
 * through the reporter, to the spool that mamori-soc drains; a login
 * failure is also sent as an X.1367 record (0x20 Authentication Failed,
 * Protocol "Telnet", Requester the attacker's address, Responder the
 * trap's).
 */
#ifndef TRAP_EVENT_H
#define TRAP_EVENT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct mm_reporter;

/* ---- the ATT&CK table ---- */

struct trap_attack;

/*
 * Loads data/trap/attack.tsv: lines "KIND<TAB>MATCH<TAB>T-IDS" where KIND
 * is "event" (MATCH an eventid such as cowrie.login.failed), "command"
 * (MATCH an applet name as run: wget, chmod, /bin/busybox's applet) or
 * "argv" (MATCH "applet arg-substring": "cat /proc/cpuinfo"), and T-IDS
 * comma-separated technique ids; and lines "technique<TAB>ID<TAB>NAME<TAB>
 * TACTICS" naming each id (tactics comma-separated, ATT&CK short names).
 * Returns 0 or MM_EINVAL / MM_EIO with err naming the line.
 */
int trap_attack_load(const char *path, struct trap_attack **out, char *err, size_t errlen);
void trap_attack_free(struct trap_attack *a);

/* Adds to arr (a JSON array; no duplicates) the ids for an event id. */
void trap_attack_event(const struct trap_attack *a, const char *eventid, json_t *arr);
/* Adds the ids for one command as run (argv after expansion). */
void trap_attack_command(const struct trap_attack *a, int argc, char **argv, json_t *arr);
/* The name and tactics of an id, or NULL. */
const char *trap_attack_name(const struct trap_attack *a, const char *id, const char **tactics);

/* ---- the event log ---- */

struct trap_events;

struct trap_events_opts {
	int dir_fd;              /* DIR; log/events.json is made in it */
	const char *sensor;      /* Cowrie's "sensor": the host name by default */
	const struct trap_attack *attack;
	struct mm_reporter *rep; /* NULL: only the file */
	int quiet;               /* 1: no copy on standard output */
	uint64_t log_max;        /* events.json is rotated once it holds this many bytes:
				    events.json.1 ... events.json.<log_keep>, the oldest
				    dropped (the SOC has its own copy); 0: never */
	unsigned log_keep;       /* rotated files kept, 1 to 100 (0: 1) */
};

int trap_events_open(const struct trap_events_opts *o, struct trap_events **out);
void trap_events_close(struct trap_events *e);

/*
 * Emits one event: ev is a JSON object holding the event's own members
 * (message, username, password, input, url, shasum ...); this adds
 * eventid, event, time, timestamp (Cowrie's: ISO 8601 UTC with
 * microseconds and Z), sensor, session, src_ip, src_port, dst_ip,
 * dst_port, protocol "telnet", and attack (the table's ids for eventid,
 * merged with any "attack" array ev already has). It steals ev. Returns 0
 * or the first error (the file line is written even if the spool refuses).
 */
struct trap_session_id {
	char session[13];        /* 12 hex digits, as Cowrie's */
	char src_ip[48], dst_ip[48];
	uint16_t src_port, dst_port;
};
int trap_events_emit(struct trap_events *e, const struct trap_session_id *s, const char *eventid,
		     json_t *ev);

/* A login failure's X.1367 record (besides its event). */
int trap_events_auth_failed(struct trap_events *e, const struct trap_session_id *s,
			    const char *username);

/*
 * Any bytes as a JSON string: valid UTF-8 is kept, and each maximal
 * invalid subsequence becomes U+FFFD, as Python's (Cowrie's, asciinema's)
 * "replace" decoding does; NUL is kept (escaped by jansson). What a
 * session builds from an attacker's bytes (input, username, password)
 * goes through this, since jansson refuses strings that are not UTF-8.
 * Returns a new reference, or NULL (no memory).
 *
 *	json_object_set_new(ev, "input", trap_json_text(line, len));
 */
json_t *trap_json_text(const void *data, size_t len);

struct trap_events_stats {
	uint64_t lines, spooled, refused, errors;
	uint64_t rotations;      /* times events.json was rotated */
};
void trap_events_stats(const struct trap_events *e, struct trap_events_stats *st);

/* ---- session recordings (asciicast v2) ---- */

struct trap_record;

/* Opens DIR/tty/<session>.cast and writes the header line ({"version": 2,
 * "width", "height", "timestamp", "env": {"TERM", "SHELL"}, "title"}).
 * max_bytes bounds the file: past it, output is no longer recorded and a
 * last "o" event says so. */
int trap_record_open(int dir_fd, const char *session, unsigned width, unsigned height,
		     const char *term, uint64_t max_bytes, struct trap_record **out);
/* Appends an "o" (output) or "i" (input) event, time since open. The data
 * is any bytes: what is not UTF-8 is written as U+FFFD as asciinema does. */
int trap_record_write(struct trap_record *r, char type, const void *data, size_t len);
/* Writes the event lines gathered so far (trap_record_write gathers them,
 * and writes once they pass 32 KiB): the session calls it when it has
 * handled what arrived, so that a recording is never behind by more than
 * one turn. 0 or MM_EIO. */
int trap_record_flush(struct trap_record *r);
/* Closes the file (writing what is gathered); returns its size in *bytes
 * and its path relative to DIR (tty/<session>.cast) in path (64 bytes). */
void trap_record_close(struct trap_record *r, uint64_t *bytes, char *path);

#endif
