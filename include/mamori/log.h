/*
 * The one logging module: stderr in the foreground, syslog(3) when detached.
 *
 *	mm_log_init(1, "mamori");      foreground, to stderr
 *	log_warn("open %s", path);     appends ": strerror(errno)"
 *	log_warnx("bad line %d", n);   no errno
 *	fatalx("cannot continue");     logs and exits 1
 *
 * The short names (log_warn, log_info, ...) are macros so that an embedding
 * gateway can define MM_LOG_NO_SHORT_NAMES and keep its own.
 */
#ifndef MAMORI_LOG_H
#define MAMORI_LOG_H

#ifdef __cplusplus
extern "C" {
#endif

/* foreground: 1 logs to stderr, 0 to syslog(3) under ident. */
void mm_log_init(int foreground, const char *ident);
/* 0: warnings and info; 1 or more: also debug. */
void mm_log_verbose(int level);
void mm_log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void mm_log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void mm_log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void mm_log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void mm_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void mm_fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#ifndef MM_LOG_NO_SHORT_NAMES
#define log_warn mm_log_warn
#define log_warnx mm_log_warnx
#define log_info mm_log_info
#define log_debug mm_log_debug
#define fatal mm_fatal
#define fatalx mm_fatalx
#endif

#ifdef __cplusplus
}
#endif
#endif
