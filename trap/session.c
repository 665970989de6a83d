/*
 * The sessions of mamori-trap, served by one libevent loop: accept (with
 * the limits), the telnet greeting, banner and login as a BusyBox telnetd
 * and login(1) give them, the shell after a successful login, the events
 * of each step, the capture of the files a session makes, the recording,
 * and the timeouts.
 *
 * A session holds little until it logs in: its telnet state, a few
 * pointers and three libevent events. The line being typed, the input
 * waiting to be processed and the output waiting for the client are
 * buffers that grow only as needed (and the output queue is given back
 * once sent). The shell and its file system are made at login, the
 * recording at the first byte the client types.
 *
 * Callbacks never free their session in the middle: closing marks it dead
 * and the callback's last step destroys it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "mamori/buf.h"
#include "mamori/error.h"
#include "mamori/hash.h"
#include "mamori/log.h"

#include "capture.h"
#include "event.h"
#include "exec.h"
#include "fs.h"
#include "persona.h"
#include "telnet.h"
#include "trap.h"

#define READ_CHUNK 4096
/* Files a session may be writing at once before the oldest is captured
 * without waiting for its end. */
#define MAX_PENDING_FILES 8
/* Events the shell's hooks may queue during one line; more are counted. */
#define MAX_LINE_EVENTS 64

enum sstate { S_USER, S_PASS, S_DELAY, S_SHELL, S_CLOSING };

struct pending_file {
	char *path;
	uint8_t echo;   /* written in a line that ran echo or printf */
	uint8_t seen;   /* changed by the line just run */
};

struct trap_session {
	LIST_ENTRY(trap_session) link;
	struct trap_server *srv;
	int fd;
	struct event *ev_read, *ev_write, *ev_timer;
	struct trap_telnet tn;
	struct trap_session_id id;
	struct trap_addr addr;
	enum sstate state;
	uint8_t attempts;
	uint8_t skip_lf;      /* the last line ended at CR: an LF or NUL next ends nothing */
	uint8_t discard;      /* the line passed max_line: the rest of it is dropped */
	uint8_t reading;      /* ev_read is added */
	uint8_t dead;
	uint8_t rec_tried;
	uint8_t line_echo;    /* the line being run ran echo or printf */
	uint8_t nfiles;
	uint16_t fetches;     /* fetches this session began */
	uint16_t width, height;
	const char *reason;   /* why it closes */
	struct mm_buf line;
	struct mm_buf pending;
	struct mm_buf outq;
	char *username;       /* typed at the login prompt, until the password */
	char *user;           /* the user logged in as (the shell's) */
	uint64_t start_ms, input_ms, delay_until_ms;
	struct trap_record *rec;
	struct trap_fs *fs;
	struct trap_exec *x;
	json_t *line_attack;
	json_t *line_events;  /* [eventid, event] pairs the hooks queued */
	struct pending_file files[MAX_PENDING_FILES];
	uint64_t mem;         /* session_bytes() when last counted */
};

LIST_HEAD(session_list, trap_session);

struct trap_server {
	struct event_base *base;
	struct evconnlistener *lis;
	struct trap_server_opts o;
	const struct trap_config *cfg;
	struct session_list sessions;
	struct trap_server_stats st;
	uint64_t rng;
	uint64_t tty_bytes;   /* what DIR/tty holds: [record] max_total bounds it */
};

/* What a session holds that grows with what the attacker does: its own
 * files and its output waiting for the client. Counted into st.memory
 * after every turn, so that max_memory bounds all sessions together. */
static uint64_t session_bytes(const struct trap_session *s)
{
	return (uint64_t)s->outq.cap + (s->fs ? (uint64_t)trap_fs_bytes(s->fs) : 0);
}

static void account(struct trap_session *s)
{
	uint64_t now = session_bytes(s);

	s->srv->st.memory = s->srv->st.memory - s->mem + now;
	s->mem = now;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* xorshift64*: session ids need to be unpredictable enough not to collide
 * and not to be guessed; the seed comes from getrandom. */
static uint64_t next_rand(struct trap_server *srv)
{
	srv->rng ^= srv->rng >> 12;
	srv->rng ^= srv->rng << 25;
	srv->rng ^= srv->rng >> 27;
	return srv->rng * 2685821657736338717ULL;
}

static void new_session_id(struct trap_server *srv, char out[13])
{
	snprintf(out, 13, "%012llx", (unsigned long long)(next_rand(srv) & 0xffffffffffffULL));
}

/* The text form of an address, IPv4-mapped IPv6 written as IPv4. */
static void addr_text(const struct sockaddr *sa, char *out, size_t cap, uint16_t *port)
{
	*out = '\0';
	*port = 0;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &s4->sin_addr, out, (socklen_t)cap);
		*port = ntohs(s4->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
			inet_ntop(AF_INET, s6->sin6_addr.s6_addr + 12, out, (socklen_t)cap);
		else
			inet_ntop(AF_INET6, &s6->sin6_addr, out, (socklen_t)cap);
		*port = ntohs(s6->sin6_port);
	}
}

static void emit(struct trap_session *s, const char *eventid, json_t *ev)
{
	int rc;

	if (!ev)
		return;
	if ((rc = trap_events_emit(s->srv->o.events, &s->id, eventid, ev)) < 0 && rc != MM_EFULL)
		log_debug("session %s: %s: %s", s->id.session, eventid, mm_strerror(rc));
}

static void session_close(struct trap_session *s, const char *reason);
static void arm_timer(struct trap_session *s);

/* ---- output ---- */

static void update_reading(struct trap_session *s);

/* Sends what the queue holds, as much as the socket takes now. */
static void flush(struct trap_session *s)
{
	while (s->outq.len > 0) {
		ssize_t n = send(s->fd, s->outq.data, s->outq.len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			session_close(s, "client");
			return;
		}
		mm_buf_consume(&s->outq, (size_t)n);
	}
	if (s->outq.len > 0) {
		event_add(s->ev_write, NULL);
		return;
	}
	event_del(s->ev_write);
	/* An idle session gives its queue back. */
	if (s->outq.cap > 8192)
		mm_buf_free(&s->outq);
	if (s->state == S_CLOSING && !s->dead)
		session_close(s, s->reason);
}

/* Bytes for the wire as they are (telnet negotiation). */
static void wire_out(struct trap_session *s, const void *p, size_t len)
{
	if (len && mm_buf_append(&s->outq, p, len) < 0)
		session_close(s, "error");
}

/* Terminal text: sent escaped (0xFF doubled, LF made CR LF), and recorded
 * as the terminal shows it (with the CR LF, without the doubling). */
static void term_out(struct trap_session *s, const void *p, size_t len)
{
	const uint8_t *in = p;

	if (len == 0 || s->dead)
		return;
	/* Escaped in slices so that the stack holds the worst case. */
	while (len > 0) {
		uint8_t esc[2 * 1024];
		size_t n = len > 1024 ? 1024 : len, m = trap_telnet_escape(in, n, esc);
		if (mm_buf_append(&s->outq, esc, m) < 0) {
			session_close(s, "error");
			return;
		}
		if (s->rec) {
			size_t i, k = 0;
			for (i = 0; i < m; i++, k++) {
				esc[k] = esc[i];
				if (esc[i] == 0xff && i + 1 < m && esc[i + 1] == 0xff)
					i++;
			}
			trap_record_write(s->rec, 'o', esc, k);
		}
		in += n;
		len -= n;
	}
}

static void term_puts(struct trap_session *s, const char *str)
{
	if (str)
		term_out(s, str, strlen(str));
}

/* ---- files the session makes ---- */

void trap_file_members(json_t *ev, int rc, const struct trap_capture_file *f)
{
	char outfile[16 + MM_SHA256_HEX];

	json_object_set_new(ev, "size", json_integer((json_int_t)f->size));
	json_object_set_new(ev, "kind", json_string(f->kind));
	if (rc != 0) {
		json_object_set_new(ev, "stored", json_false());
		json_object_set_new(ev, "why", json_string("larger than [capture] max_file"));
		return;
	}
	snprintf(outfile, sizeof outfile, "downloads/%s", f->sha256);
	json_object_set_new(ev, "shasum", json_string(f->sha256));
	if (f->stored)
		json_object_set_new(ev, "outfile", json_string(outfile));
	if (f->tlsh[0])
		json_object_set_new(ev, "tlsh", json_string(f->tlsh));
	if (f->elf_class) {
		json_object_set_new(ev, "elf_class", json_integer(f->elf_class));
		json_object_set_new(ev, "elf_machine", json_string(f->elf_machine));
		json_object_set_new(ev, "elf_endian", json_string(f->elf_endian));
	}
	json_object_set_new(ev, "stored", json_boolean(f->stored));
	json_object_set_new(ev, "duplicate", json_boolean(f->duplicate));
	if (!f->stored && f->why[0])
		json_object_set_new(ev, "why", json_string(f->why));
}

static void capture_file(struct trap_session *s, const char *path, const uint8_t *data,
			 size_t len, int echo)
{
	struct trap_capture_file f;
	json_t *ev;
	int rc;

	if (len == 0)
		return;
	memset(&f, 0, sizeof f);
	rc = trap_capture_add(s->srv->o.capture, data, len, &f);
	if (rc < 0 && rc != MM_ETOOBIG) {
		log_warnx("session %s: capture of %s: %s", s->id.session, path, mm_strerror(rc));
		return;
	}
	s->srv->st.files++;
	if (!(ev = json_object()))
		return;
	json_object_set_new(ev, "url", trap_json_text(path, strlen(path)));
	json_object_set_new(ev, "destfile", trap_json_text(path, strlen(path)));
	trap_file_members(ev, rc, &f);
	if (echo) {
		json_t *a = json_array();
		json_array_append_new(a, json_string("T1105"));
		json_object_set_new(ev, "attack", a);
	}
	emit(s, "cowrie.session.file_download", ev);
}

static void capture_pending(struct trap_session *s, unsigned i)
{
	struct pending_file *p = &s->files[i];
	size_t len = 0;
	const uint8_t *data = trap_fs_own(s->fs, "/", p->path, &len);

	/* A file removed since is gone: nothing to capture. */
	if (data)
		capture_file(s, p->path, data, len, p->echo);
	free(p->path);
	s->files[i] = s->files[--s->nfiles];
}

static int on_changed(void *arg, const char *path, uint64_t id, const uint8_t *data, size_t len)
{
	struct trap_session *s = arg;
	unsigned i;

	(void)id;
	for (i = 0; i < s->nfiles; i++)
		if (strcmp(s->files[i].path, path) == 0) {
			s->files[i].seen = 1;
			s->files[i].echo |= s->line_echo;
			return 0;
		}
	if (s->nfiles == MAX_PENDING_FILES) {
		/* No room to wait for its end: captured as it is now. */
		capture_file(s, path, data, len, s->line_echo);
		return 0;
	}
	if (!(s->files[s->nfiles].path = strdup(path)))
		return 0;
	s->files[s->nfiles].echo = s->line_echo;
	s->files[s->nfiles].seen = 1;
	s->nfiles++;
	return 0;
}

/* After a line: the files it changed wait for their end; those it left
 * alone are whole and captured. With all, every one is captured. */
static void check_files(struct trap_session *s, int all)
{
	unsigned i;

	if (!s->fs)
		return;
	for (i = 0; i < s->nfiles; i++)
		s->files[i].seen = 0;
	trap_fs_changed(s->fs, on_changed, s);
	for (i = 0; i < s->nfiles;) {
		if (all || !s->files[i].seen)
			capture_pending(s, i);
		else
			i++;
	}
}

/* ---- the shell's hooks ---- */

static void queue_event(struct trap_session *s, const char *eventid, json_t *ev)
{
	json_t *pair;

	if (!ev)
		return;
	if (!s->line_events || json_array_size(s->line_events) >= MAX_LINE_EVENTS) {
		json_decref(ev);
		return;
	}
	pair = json_pack("[so]", eventid, ev);
	if (pair)
		json_array_append_new(s->line_events, pair);
}

static const char *base_name(const char *p)
{
	const char *slash = strrchr(p, '/');
	return slash ? slash + 1 : p;
}

static void hook_command(void *arg, int argc, char **argv)
{
	struct trap_session *s = arg;
	const char *name;

	if (argc < 1)
		return;
	if (s->line_attack)
		trap_attack_command(s->srv->o.attack, argc, argv, s->line_attack);
	name = base_name(argv[0]);
	if (strcmp(name, "busybox") == 0 && argc > 1)
		name = argv[1];
	if (strcmp(name, "echo") == 0 || strcmp(name, "printf") == 0)
		s->line_echo = 1;
}

static void hook_download(void *arg, const char *applet, const char *url, const char *outfile)
{
	struct trap_session *s = arg;
	struct trap_server *srv = s->srv;
	char why[128] = "";
	json_t *ev;
	int rc;

	srv->st.downloads++;
	/* Fetched out of band when the configuration allows it: the fetch
	 * gives the event, later; the shell still answers as a device that
	 * could not connect. */
	if (srv->o.fetch) {
		if (s->fetches >= (unsigned)srv->cfg->fetch_per_session) {
			snprintf(why, sizeof why, "fetch_per_session fetches were made");
		} else if ((rc = trap_fetch_start(srv->o.fetch, &s->id, applet, url, outfile, why,
						  sizeof why)) == 0) {
			s->fetches++;
			return;
		} else if (!why[0]) {
			snprintf(why, sizeof why, "%s", mm_strerror(rc));
		}
	}
	if (!(ev = json_object()))
		return;
	json_object_set_new(ev, "url", trap_json_text(url, strlen(url)));
	json_object_set_new(ev, "applet", json_string(applet));
	if (outfile && *outfile)
		json_object_set_new(ev, "destfile", trap_json_text(outfile, strlen(outfile)));
	if (srv->o.fetch) {
		json_object_set_new(ev, "fetched", json_false());
		json_object_set_new(ev, "reason", json_string(why));
	}
	queue_event(s, "cowrie.session.file_download.failed", ev);
}

static void hook_run(void *arg, const char *path, const uint8_t *data, size_t len, int argc,
		     char **argv)
{
	struct trap_session *s = arg;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	char hex[2 * EVP_MAX_MD_SIZE + 1];
	json_t *ev = json_object(), *args = json_array();
	int i;

	if (!ev || !args) {
		json_decref(ev);
		json_decref(args);
		return;
	}
	s->srv->st.runs++;
	for (i = 0; i < argc; i++)
		json_array_append_new(args, trap_json_text(argv[i], strlen(argv[i])));
	json_object_set_new(ev, "path", trap_json_text(path, strlen(path)));
	json_object_set_new(ev, "args", args);
	json_object_set_new(ev, "size", json_integer((json_int_t)len));
	if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) == 1) {
		mm_hex(md, mdlen, hex);
		json_object_set_new(ev, "shasum", json_string(hex));
	}
	queue_event(s, "trap.file.run", ev);
}

/* ---- login ---- */

/* The user name the shell shows: what was typed when it looks like one. */
static const char *shell_user(const char *typed)
{
	size_t i, n = strlen(typed);

	if (n == 0 || n > 32)
		return "root";
	for (i = 0; i < n; i++) {
		char c = typed[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '.'))
			return "root";
	}
	return typed;
}

static void show_prompt(struct trap_session *s)
{
	term_puts(s, trap_exec_prompt(s->x));
}

static int start_shell(struct trap_session *s)
{
	const struct trap_config *cfg = s->srv->cfg;
	struct trap_exec_opts xo;
	int rc;

	if ((rc = trap_fs_new(s->srv->o.persona->base, (size_t)cfg->max_fs, &s->fs)) < 0)
		return rc;
	memset(&xo, 0, sizeof xo);
	xo.persona = s->srv->o.persona;
	xo.fs = s->fs;
	xo.user = s->user;
	xo.hooks.command = hook_command;
	xo.hooks.download = hook_download;
	xo.hooks.run = hook_run;
	xo.hooks.arg = s;
	xo.max_output = (size_t)cfg->max_output;
	return trap_exec_new(&xo, &s->x);
}

static void login_prompt(struct trap_session *s)
{
	s->state = S_USER;
	term_puts(s, s->srv->o.persona->login_prompt);
}

static void password_line(struct trap_session *s, const char *pass, size_t plen)
{
	struct trap_server *srv = s->srv;
	const char *user = s->username ? s->username : "";
	enum trap_login_verdict v;
	json_t *ev;

	/* The line end after the password, which was not echoed, is the
	 * persona's to print: its login_failed and motd begin with it. */
	s->attempts++;
	v = trap_login_attempt(srv->o.login, &s->addr, user, pass);
	ev = json_object();
	if (ev) {
		json_object_set_new(ev, "username", trap_json_text(user, strlen(user)));
		json_object_set_new(ev, "password", trap_json_text(pass, plen));
	}
	if (v != TRAP_LOGIN_REFUSED) {
		srv->st.logins_ok++;
		if (ev)
			json_object_set_new(ev, "policy", json_string(v == TRAP_LOGIN_NTH
									    ? "nth"
									    : "dictionary"));
		emit(s, "cowrie.login.success", ev);
		s->user = strdup(shell_user(user));
		if (!s->user || start_shell(s) < 0) {
			log_warnx("session %s: the shell could not be made", s->id.session);
			session_close(s, "error");
			return;
		}
		free(s->username);
		s->username = NULL;
		s->state = S_SHELL;
		term_puts(s, srv->o.persona->motd);
		show_prompt(s);
		return;
	}
	srv->st.logins_failed++;
	emit(s, "cowrie.login.failed", ev);
	trap_events_auth_failed(srv->o.events, &s->id, user);
	free(s->username);
	s->username = NULL;
	s->state = S_DELAY;
	s->delay_until_ms = now_ms() + srv->o.login_delay_ms;
	arm_timer(s);
}

/* The login delay has passed: the answer, then another try or the end. */
static void delay_done(struct trap_session *s)
{
	const char *msg = s->srv->o.persona->login_failed;
	size_t n = msg ? strlen(msg) : 0;

	term_puts(s, msg);
	if (n == 0 || msg[n - 1] != '\n')
		term_puts(s, "\n");
	if (s->attempts >= s->srv->cfg->max_attempts) {
		s->state = S_CLOSING;
		s->reason = "login";
		flush(s);
		return;
	}
	login_prompt(s);
}

/* ---- lines ---- */

static int is_blank(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != ' ' && p[i] != '\t')
			return 0;
	return 1;
}

static void shell_line(struct trap_session *s, const char *line, size_t len)
{
	struct trap_server *srv = s->srv;
	struct mm_buf out;
	json_t *ev;
	size_t i;
	int rc, failed;

	srv->st.lines++;
	account(s);
	if (srv->st.memory > (uint64_t)srv->cfg->max_memory) {
		srv->st.memory_closed++;
		if ((ev = json_object())) {
			json_object_set_new(ev, "reason", json_string("memory"));
			emit(s, "trap.session.limit", ev);
		}
		session_close(s, "memory");
		return;
	}
	s->line_attack = json_array();
	s->line_events = json_array();
	s->line_echo = 0;
	mm_buf_init(&out, (size_t)srv->cfg->max_output + 4096);
	rc = trap_exec_line(s->x, line, len, &out);
	term_out(s, out.data, out.len);
	/* $? is 127 only for a command not found; exit keeps the last one. */
	failed = rc != TRAP_EXEC_EXIT && trap_exec_status(s->x) == 127;
	if (rc != TRAP_EXEC_EXIT && out.data &&
	    (strstr(out.data, ": not found") || strstr(out.data, "applet not found")))
		failed = 1;
	if (!is_blank(line, len) && (ev = json_object())) {
		json_object_set_new(ev, "input", trap_json_text(line, len));
		if (s->line_attack)
			json_object_set_new(ev, "attack", json_incref(s->line_attack));
		emit(s, "cowrie.command.input", ev);
		if (failed && (ev = json_object())) {
			json_object_set_new(ev, "input", trap_json_text(line, len));
			emit(s, "cowrie.command.failed", ev);
		}
	}
	for (i = 0; s->line_events && i < json_array_size(s->line_events); i++) {
		json_t *pair = json_array_get(s->line_events, i);
		emit(s, json_string_value(json_array_get(pair, 0)),
		     json_incref(json_array_get(pair, 1)));
	}
	json_decref(s->line_events);
	s->line_events = NULL;
	check_files(s, 0);
	json_decref(s->line_attack);
	s->line_attack = NULL;
	mm_buf_free(&out);
	if (rc == TRAP_EXEC_EXIT) {
		s->state = S_CLOSING;
		s->reason = "exit";
		return;
	}
	if (rc == TRAP_EXEC_MORE)
		term_puts(s, "> ");
	else
		show_prompt(s);
}

static void line_done(struct trap_session *s)
{
	char *line = s->line.data ? s->line.data : (char *)"";
	size_t len = s->line.len;

	s->discard = 0;
	if (s->rec && s->state != S_PASS) {
		trap_record_write(s->rec, 'i', line, len);
		trap_record_write(s->rec, 'i', "\r", 1);
	}
	switch (s->state) {
	case S_USER:
		if (len == 0) {
			login_prompt(s);
			break;
		}
		free(s->username);
		s->username = strndup(line, len);
		s->state = S_PASS;
		term_puts(s, s->srv->o.persona->password_prompt);
		break;
	case S_PASS:
		password_line(s, line, len);
		break;
	case S_SHELL:
		shell_line(s, line, len);
		break;
	default:
		break;
	}
	mm_buf_reset(&s->line);
	if (s->line.cap > 8192)
		mm_buf_free(&s->line);
}

static int can_process(const struct trap_session *s)
{
	return !s->dead && (s->state == S_USER || s->state == S_PASS || s->state == S_SHELL) &&
	       s->outq.len <= (size_t)s->srv->cfg->max_output_queue;
}

/* A persona's text into the recording with the line ends a terminal got. */
static void record_text(struct trap_session *s, const char *text)
{
	size_t len = text ? strlen(text) : 0;

	while (len > 0) {
		uint8_t esc[2 * 1024];
		size_t n = len > 1024 ? 1024 : len;

		trap_record_write(s->rec, 'o', esc, trap_telnet_escape(text, n, esc));
		text += n;
		len -= n;
	}
}

static void open_record(struct trap_session *s)
{
	const struct trap_persona *p = s->srv->o.persona;
	int rc;

	s->rec_tried = 1;
	if (s->srv->cfg->record_max_total &&
	    s->srv->tty_bytes >= (uint64_t)s->srv->cfg->record_max_total) {
		s->srv->st.unrecorded++;
		return;
	}
	rc = trap_record_open(s->srv->o.dir_fd, s->id.session, s->tn.width ? s->tn.width : 80,
			      s->tn.height ? s->tn.height : 24,
			      s->tn.term[0] ? s->tn.term : "vt100",
			      (uint64_t)s->srv->cfg->record_max_bytes, &s->rec);
	if (rc < 0) {
		log_debug("session %s: recording: %s", s->id.session, mm_strerror(rc));
		s->rec = NULL;
		return;
	}
	/* What the terminal showed before the recording began. */
	record_text(s, p->banner);
	record_text(s, p->login_prompt);
}

/*
 * Processes user data: echo, line editing, line ends. What cannot be
 * processed now (the login delay, a full output queue, a closing
 * session) is kept in pending, and reading stops until it is.
 */
static void feed(struct trap_session *s, const uint8_t *d, size_t n)
{
	uint8_t echo[3 * READ_CHUNK + 8];
	size_t i, ne = 0;
	size_t max_line = (size_t)s->srv->cfg->max_line;

	if (n && !s->rec && !s->rec_tried && s->srv->cfg->record)
		open_record(s);
	for (i = 0; i < n; i++) {
		uint8_t c = d[i];
		int echoing = s->state != S_PASS;

		if (!can_process(s)) {
			if (ne)
				term_out(s, echo, ne);
			ne = 0;
			if (!s->dead && s->state != S_CLOSING &&
			    mm_buf_append(&s->pending, d + i, n - i) < 0)
				log_debug("session %s: input dropped", s->id.session);
			return;
		}
		if (s->skip_lf) {
			s->skip_lf = 0;
			if (c == '\n' || c == '\0')
				continue;
		}
		if (c == '\r' || c == '\n') {
			s->skip_lf = c == '\r';
			if (echoing) {
				echo[ne++] = '\n';
			}
			term_out(s, echo, ne);
			ne = 0;
			line_done(s);
			continue;
		}
		if (c == 0x7f || c == 0x08) {
			if (s->line.len > 0 && !s->discard) {
				s->line.len--;
				s->line.data[s->line.len] = '\0';
				if (echoing) {
					memcpy(echo + ne, "\b \b", 3);
					ne += 3;
				}
			}
			continue;
		}
		if (s->discard)
			continue;
		if (s->line.len >= max_line || mm_buf_putc(&s->line, (char)c) < 0) {
			s->discard = 1;
			continue;
		}
		if (echoing && ne < sizeof echo)
			echo[ne++] = c;
	}
	if (ne)
		term_out(s, echo, ne);
}

/* Processes what waited, as far as the session can go now. */
static void run_pending(struct trap_session *s)
{
	while (s->pending.len > 0 && can_process(s)) {
		uint8_t buf[READ_CHUNK];
		size_t n = s->pending.len > sizeof buf ? sizeof buf : s->pending.len;

		memcpy(buf, s->pending.data, n);
		mm_buf_consume(&s->pending, n);
		feed(s, buf, n);
	}
	if (s->pending.len == 0 && s->pending.cap > 0)
		mm_buf_free(&s->pending);
}

static void update_reading(struct trap_session *s)
{
	int want = !s->dead && s->state != S_CLOSING && s->state != S_DELAY &&
		   s->pending.len == 0 &&
		   s->outq.len <= (size_t)s->srv->cfg->max_output_queue;

	if (want && !s->reading)
		event_add(s->ev_read, NULL);
	else if (!want && s->reading)
		event_del(s->ev_read);
	s->reading = (uint8_t)want;
}

/* ---- closing ---- */

static void session_destroy(struct trap_session *s);

static void session_close(struct trap_session *s, const char *reason)
{
	struct trap_server *srv = s->srv;
	json_t *ev;

	if (s->dead)
		return;
	s->dead = 1;
	if (!s->reason || strcmp(reason, "client") == 0 || strcmp(reason, "error") == 0)
		s->reason = reason;
	check_files(s, 1);
	if (s->rec) {
		uint64_t bytes = 0;
		char path[64] = "";
		uint8_t md[MM_SHA256_LEN];
		char hex[MM_SHA256_HEX + 1];

		trap_record_close(s->rec, &bytes, path);
		srv->tty_bytes += bytes;
		s->rec = NULL;
		if ((ev = json_object())) {
			int fd = openat(srv->o.dir_fd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

			json_object_set_new(ev, "ttylog", json_string(path));
			json_object_set_new(ev, "size", json_integer((json_int_t)bytes));
			if (fd >= 0 && mm_sha256_fd(fd, 0, md, NULL) == 0) {
				mm_hex(md, sizeof md, hex);
				json_object_set_new(ev, "shasum", json_string(hex));
			}
			if (fd >= 0)
				close(fd);
			json_object_set_new(ev, "duplicate", json_false());
			emit(s, "cowrie.log.closed", ev);
		}
	}
	if ((ev = json_object())) {
		json_object_set_new(ev, "duration",
				    json_real((double)(now_ms() - s->start_ms) / 1000.0));
		json_object_set_new(ev, "reason", json_string(s->reason));
		emit(s, "cowrie.session.closed", ev);
	}
}

static void session_destroy(struct trap_session *s)
{
	struct trap_server *srv = s->srv;
	unsigned i;

	LIST_REMOVE(s, link);
	srv->st.memory -= s->mem;
	srv->st.open--;
	trap_limits_release(srv->o.limits, &s->addr);
	event_free(s->ev_read);
	event_free(s->ev_write);
	event_free(s->ev_timer);
	close(s->fd);
	for (i = 0; i < s->nfiles; i++)
		free(s->files[i].path);
	if (s->x)
		trap_exec_free(s->x);
	if (s->fs)
		trap_fs_free(s->fs);
	json_decref(s->line_attack);
	json_decref(s->line_events);
	mm_buf_free(&s->line);
	mm_buf_free(&s->pending);
	mm_buf_free(&s->outq);
	free(s->username);
	free(s->user);
	free(s);
}

/* The end of every callback: send, process what waited while the queue
 * allows (each turn consumes waiting input, so this ends), read again or
 * not, or go. */
static void settle(struct trap_session *s)
{
	while (!s->dead) {
		flush(s);
		if (s->dead || s->pending.len == 0 || !can_process(s))
			break;
		run_pending(s);
	}
	if (!s->dead) {
		update_reading(s);
		account(s);
		/* The recording is written once a turn, not once a piece. */
		if (s->rec && trap_record_flush(s->rec) < 0)
			log_warnx("session %s: its recording cannot be written", s->id.session);
	}
	if (s->dead)
		session_destroy(s);
}

/* ---- callbacks ---- */

static void on_read(evutil_socket_t fd, short what, void *arg)
{
	struct trap_session *s = arg;
	uint8_t in[READ_CHUNK], data[READ_CHUNK], reply[READ_CHUNK + TRAP_TELNET_REPLY_SLACK];
	size_t nd = 0, nr = 0;
	ssize_t n;

	(void)what;
	n = recv(fd, in, sizeof in, 0);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR && errno != EWOULDBLOCK)) {
		session_close(s, "client");
		goto out;
	}
	if (n < 0)
		goto out;
	s->input_ms = now_ms();
	trap_telnet_input(&s->tn, in, (size_t)n, data, &nd, reply, sizeof reply, &nr);
	wire_out(s, reply, nr);
	if ((s->tn.width != s->width || s->tn.height != s->height) && s->tn.width &&
	    s->tn.height) {
		json_t *ev = json_object();
		s->width = s->tn.width;
		s->height = s->tn.height;
		if (ev) {
			json_object_set_new(ev, "width", json_integer(s->width));
			json_object_set_new(ev, "height", json_integer(s->height));
			emit(s, "cowrie.client.size", ev);
		}
	}
	feed(s, data, nd);
out:
	settle(s);
}

static void on_write(evutil_socket_t fd, short what, void *arg)
{
	struct trap_session *s = arg;

	(void)fd;
	(void)what;
	settle(s);
}

static void timeout(struct trap_session *s, const char *why)
{
	json_t *ev = json_object();

	s->srv->st.timeouts++;
	if (ev) {
		json_object_set_new(ev, "reason", json_string(why));
		emit(s, "trap.session.timeout", ev);
	}
	session_close(s, why);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct trap_session *s = arg;
	const struct trap_config *cfg = s->srv->cfg;
	uint64_t now = now_ms();

	(void)fd;
	(void)what;
	if (now >= s->start_ms + (uint64_t)cfg->session_timeout * 1000) {
		timeout(s, "session");
	} else if (now >= s->input_ms + (uint64_t)cfg->idle_timeout * 1000) {
		timeout(s, "idle");
	} else if (s->state == S_DELAY && now >= s->delay_until_ms) {
		delay_done(s);
	}
	if (!s->dead)
		arm_timer(s);
	settle(s);
}

/* Sets the timer to the nearest of the session's deadlines. */
static void arm_timer(struct trap_session *s)
{
	const struct trap_config *cfg = s->srv->cfg;
	uint64_t now = now_ms(), at, idle;
	struct timeval tv;

	at = s->start_ms + (uint64_t)cfg->session_timeout * 1000;
	idle = s->input_ms + (uint64_t)cfg->idle_timeout * 1000;
	if (idle < at)
		at = idle;
	if (s->state == S_DELAY && s->delay_until_ms < at)
		at = s->delay_until_ms;
	at = at > now ? at - now : 0;
	tv.tv_sec = (time_t)(at / 1000);
	tv.tv_usec = (suseconds_t)(at % 1000) * 1000;
	event_add(s->ev_timer, &tv);
}

/* ---- accept ---- */

static void refuse(struct trap_server *srv, int fd, const struct sockaddr *sa,
		   enum trap_limit_verdict v)
{
	struct trap_session_id id;
	struct sockaddr_storage local;
	socklen_t ll = sizeof local;
	json_t *ev;
	int rc;

	srv->st.refused++;
	memset(&id, 0, sizeof id);
	new_session_id(srv, id.session);
	addr_text(sa, id.src_ip, sizeof id.src_ip, &id.src_port);
	if (getsockname(fd, (struct sockaddr *)&local, &ll) == 0)
		addr_text((struct sockaddr *)&local, id.dst_ip, sizeof id.dst_ip, &id.dst_port);
	close(fd);
	if ((ev = json_object())) {
		json_object_set_new(ev, "reason", json_string(trap_limit_name(v)));
		if ((rc = trap_events_emit(srv->o.events, &id, "trap.session.limit", ev)) < 0 &&
		    rc != MM_EFULL)
			log_debug("trap.session.limit: %s", mm_strerror(rc));
	}
}

static void on_accept(struct evconnlistener *lis, evutil_socket_t fd, struct sockaddr *sa,
		      int salen, void *arg)
{
	struct trap_server *srv = arg;
	const struct trap_persona *p = srv->o.persona;
	struct trap_session *s;
	struct trap_addr a;
	struct sockaddr_storage local;
	socklen_t ll = sizeof local;
	enum trap_limit_verdict v;
	uint8_t greet[64];
	size_t ng;
	json_t *ev;

	(void)lis;
	(void)salen;
	srv->st.accepted++;
	if (trap_addr_from(sa, &a) < 0) {
		close(fd);
		return;
	}
	if ((v = trap_limits_admit(srv->o.limits, &a, now_ms())) != TRAP_LIMIT_OK) {
		refuse(srv, fd, sa, v);
		return;
	}
	if (!(s = calloc(1, sizeof *s))) {
		trap_limits_release(srv->o.limits, &a);
		close(fd);
		return;
	}
	s->srv = srv;
	s->fd = fd;
	s->addr = a;
	s->start_ms = s->input_ms = now_ms();
	mm_buf_init(&s->line, (size_t)srv->cfg->max_line + 1);
	mm_buf_init(&s->pending, READ_CHUNK);
	mm_buf_init(&s->outq, (size_t)srv->cfg->max_output_queue +
				      4 * (size_t)srv->cfg->max_output + 65536);
	s->ev_read = event_new(srv->base, fd, EV_READ | EV_PERSIST, on_read, s);
	s->ev_write = event_new(srv->base, fd, EV_WRITE | EV_PERSIST, on_write, s);
	s->ev_timer = event_new(srv->base, -1, 0, on_timer, s);
	LIST_INSERT_HEAD(&srv->sessions, s, link);
	srv->st.open++;
	srv->st.sessions++;
	if (!s->ev_read || !s->ev_write || !s->ev_timer) {
		s->dead = 1;
		session_destroy(s);
		return;
	}
	new_session_id(srv, s->id.session);
	addr_text(sa, s->id.src_ip, sizeof s->id.src_ip, &s->id.src_port);
	if (getsockname(fd, (struct sockaddr *)&local, &ll) == 0)
		addr_text((struct sockaddr *)&local, s->id.dst_ip, sizeof s->id.dst_ip,
			  &s->id.dst_port);
	if ((ev = json_object())) {
		json_object_set_new(ev, "message", json_string("New connection"));
		emit(s, "cowrie.session.connect", ev);
	}
	trap_telnet_init(&s->tn);
	ng = trap_telnet_greeting(&s->tn, greet, sizeof greet);
	wire_out(s, greet, ng);
	term_puts(s, p->banner);
	login_prompt(s);
	arm_timer(s);
	settle(s);
}

static void on_accept_error(struct evconnlistener *lis, void *arg)
{
	int err = EVUTIL_SOCKET_ERROR();

	(void)lis;
	(void)arg;
	/* Out of descriptors or buffers: the connection waits in the backlog
	 * and is tried again; nothing to do but say so. */
	log_debug("accept: %s", evutil_socket_error_to_string(err));
}

/* ---- the server ---- */

/* The bytes of the recordings already in DIR/tty (from earlier runs). */
static uint64_t tty_usage(int dir_fd)
{
	uint64_t sum = 0;
	struct dirent *de;
	struct stat st;
	DIR *d;
	int fd = openat(dir_fd, "tty", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd == -1)
		return 0;
	if (!(d = fdopendir(fd))) {
		close(fd);
		return 0;
	}
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.' &&
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(st.st_mode))
			sum += (uint64_t)st.st_size;
	closedir(d);
	return sum;
}

int trap_server_new(struct event_base *base, int fd, const struct trap_server_opts *o,
		    struct trap_server **out)
{
	struct trap_server *srv;

	*out = NULL;
	if (!(srv = calloc(1, sizeof *srv)))
		return MM_ENOMEM;
	srv->base = base;
	srv->o = *o;
	srv->cfg = o->cfg;
	srv->tty_bytes = tty_usage(o->dir_fd);
	LIST_INIT(&srv->sessions);
	if (getrandom(&srv->rng, sizeof srv->rng, 0) != sizeof srv->rng)
		srv->rng = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	if (!srv->rng)
		srv->rng = 0x9e3779b97f4a7c15ULL;
	srv->lis = evconnlistener_new(base, on_accept, srv, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
				      -1, fd);
	if (!srv->lis) {
		free(srv);
		return MM_EIO;
	}
	evconnlistener_set_error_cb(srv->lis, on_accept_error);
	*out = srv;
	return 0;
}

void trap_server_shutdown(struct trap_server *srv)
{
	if (srv->lis) {
		evconnlistener_free(srv->lis);
		srv->lis = NULL;
	}
	while (!LIST_EMPTY(&srv->sessions)) {
		struct trap_session *s = LIST_FIRST(&srv->sessions);

		session_close(s, "shutdown");
		/* What is queued goes out if the socket takes it now. */
		if (s->outq.len)
			(void)!send(s->fd, s->outq.data, s->outq.len, MSG_NOSIGNAL | MSG_DONTWAIT);
		session_destroy(s);
	}
}

void trap_server_free(struct trap_server *srv)
{
	if (!srv)
		return;
	trap_server_shutdown(srv);
	free(srv);
}

void trap_server_stats(const struct trap_server *srv, struct trap_server_stats *st)
{
	*st = srv->st;
}
