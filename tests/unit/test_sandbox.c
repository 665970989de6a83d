/*
 * Unit tests of the worker sandbox (lib/sandbox.c). A sandbox is for the
 * rest of a process's life, so each scenario enters it in a forked child;
 * the child runs its list of checks and exits with the number of the first
 * one that failed, and the parent names that check. Entering needs root
 * (a user change, capabilities): the scenarios are skipped otherwise.
 */
#define _GNU_SOURCE /* unshare, CLONE_NEWNS, syscall */
#include <errno.h>
#include <pthread.h>
#include <pwd.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "mamori/error.h"
#include "mamori/sandbox.h"

static uid_t nobody_uid;
static gid_t nobody_gid;
static pid_t parent; /* root, so that signalling it needs CAP_KILL once the uid is nobody's */

static int has_cap(cap_flag_t set, cap_value_t c)
{
	cap_flag_value_t v = CAP_CLEAR;
	cap_t caps = cap_get_proc();

	if (caps == NULL)
		return -1;
	if (cap_get_flag(caps, c, set, &v) == -1)
		v = CAP_CLEAR;
	cap_free(caps);
	return v == CAP_SET;
}

static int is_nobody(void)
{
	gid_t g[4];

	return getuid() == nobody_uid && geteuid() == nobody_uid && getgid() == nobody_gid &&
	       getegid() == nobody_gid && getgroups(4, g) == 0;
}

static int is_root(void)
{
	return getuid() == 0 && geteuid() == 0;
}

static int kill_kept(void)
{
	return has_cap(CAP_PERMITTED, CAP_KILL) == 1 && has_cap(CAP_EFFECTIVE, CAP_KILL) == 1 &&
	       cap_get_bound(CAP_KILL) == 1;
}

/* Capabilities a root process has and a sandboxed one must not. */
static const cap_value_t others[] = {CAP_SYS_ADMIN, CAP_CHOWN, CAP_SETUID, CAP_SETGID,
				     CAP_DAC_OVERRIDE, CAP_NET_ADMIN, CAP_SETPCAP, CAP_SYS_PTRACE};

static int others_gone(void)
{
	size_t i;

	for (i = 0; i < sizeof others / sizeof others[0]; i++)
		if (has_cap(CAP_PERMITTED, others[i]) != 0 ||
		    has_cap(CAP_EFFECTIVE, others[i]) != 0 ||
		    has_cap(CAP_INHERITABLE, others[i]) != 0 || cap_get_bound(others[i]) != 0)
			return 0;
	return 1;
}

static int no_caps_at_all(void)
{
	return has_cap(CAP_PERMITTED, CAP_KILL) == 0 && has_cap(CAP_EFFECTIVE, CAP_KILL) == 0 &&
	       others_gone();
}

static int signal_root_allowed(void)
{
	return kill(parent, 0) == 0;
}

static int signal_root_refused(void)
{
	return kill(parent, 0) == -1 && errno == EPERM;
}

static int no_new_privs(void)
{
	return prctl(PR_GET_NO_NEW_PRIVS, 0L, 0L, 0L, 0L) == 1;
}

static int nofile_64(void)
{
	struct rlimit rl;

	return getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur == 64 && rl.rlim_max == 64;
}

static int execve_refused(void)
{
	char *const argv[] = {"true", NULL};
	char *const envp[] = {NULL};

	execve("/bin/true", argv, envp);
	return errno == EPERM;
}

static int unshare_refused(void)
{
	return unshare(CLONE_NEWNS) == -1 && errno == EPERM;
}

static int ptrace_refused(void)
{
	return syscall(SYS_ptrace, 0 /* PTRACE_TRACEME */, 0, 0, 0) == -1 && errno == EPERM;
}

static int fork_refused(void)
{
	pid_t p = fork();

	if (p == 0)
		_exit(0);
	if (p > 0) {
		waitpid(p, NULL, 0);
		return 0;
	}
	return errno == EPERM;
}

static int fork_allowed(void)
{
	int st;
	pid_t p = fork();

	if (p == 0)
		_exit(42);
	return p > 0 && waitpid(p, &st, 0) == p && WIFEXITED(st) && WEXITSTATUS(st) == 42;
}

static void *thread_fn(void *arg)
{
	return (char *)arg + 1;
}

/* Threads are clone(CLONE_THREAD): still made with no_fork. */
static int thread_allowed(void)
{
	static char x[2];
	pthread_t t;
	void *ret = NULL;

	return pthread_create(&t, NULL, thread_fn, x) == 0 && pthread_join(t, &ret) == 0 &&
	       ret == x + 1;
}

struct check {
	const char *name;
	int (*fn)(void);
};

struct scenario {
	const char *name;
	const char *user;
	int keep_kill;
	int no_fork;
	int seccomp;
	unsigned long long max_files;
	struct check checks[16];
};

static const struct scenario scenarios[] = {
	{"nobody, CAP_KILL kept, no_fork", "nobody", 1, 1, 1, 64,
	 {{"uid/gid are nobody's, no groups", is_nobody},
	  {"CAP_KILL permitted, effective, bounding", kill_kept},
	  {"other capabilities gone from every set", others_gone},
	  {"CAP_KILL works: signal a root process", signal_root_allowed},
	  {"no_new_privs", no_new_privs},
	  {"RLIMIT_NOFILE 64", nofile_64},
	  {"execve EPERM", execve_refused},
	  {"unshare EPERM", unshare_refused},
	  {"ptrace EPERM", ptrace_refused},
	  {"fork EPERM", fork_refused},
	  {"threads still made", thread_allowed},
	  {NULL, NULL}}},
	{"nobody, no capabilities, fork allowed", "nobody", 0, 0, 1, 0,
	 {{"uid/gid are nobody's, no groups", is_nobody},
	  {"no capabilities at all", no_caps_at_all},
	  {"signalling root refused", signal_root_refused},
	  {"no_new_privs", no_new_privs},
	  {"fork allowed", fork_allowed},
	  {"execve EPERM", execve_refused},
	  {"threads still made", thread_allowed},
	  {NULL, NULL}}},
	{"root stays, CAP_KILL kept, no filter", "", 1, 0, 0, 0,
	 {{"uid stays root", is_root},
	  {"CAP_KILL kept", kill_kept},
	  {"other capabilities gone from every set", others_gone},
	  {"no_new_privs", no_new_privs},
	  {"fork allowed", fork_allowed},
	  {NULL, NULL}}},
};

/* In the child: enter, run the checks, exit with 0 or 100 + the failed check's index. */
static void __attribute__((noreturn)) run_child(const struct scenario *s)
{
	static const int keep[] = {CAP_KILL};
	struct mm_sandbox_opts o;
	int i;

	mm_sandbox_opts_default(&o);
	o.user = s->user;
	o.keep_caps = s->keep_kill ? keep : NULL;
	o.nkeep_caps = s->keep_kill ? 1 : 0;
	o.no_fork = s->no_fork;
	o.seccomp = s->seccomp;
	o.max_files = s->max_files;
	if (mm_sandbox_enter(&o) != 0)
		_exit(99);
	for (i = 0; s->checks[i].name; i++)
		if (!s->checks[i].fn())
			_exit(100 + i);
	/* _exit: the leak checker at exit would need ptrace and clone, refused here. */
	_exit(0);
}

/* The scenarios with a seccomp filter (seccomp = 1) or without one (0). */
static void scenarios_run(int seccomp)
{
	size_t i;

	if (geteuid() != 0) {
		print_message("not root: skipped\n");
		skip();
	}
	for (i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++) {
		const struct scenario *s = &scenarios[i];
		int st = 0;
		pid_t p;

		if (s->seccomp != seccomp)
			continue;
		print_message("scenario: %s\n", s->name);
		fflush(stdout);
		p = fork();
		assert_true(p >= 0);
		if (p == 0)
			run_child(s);
		assert_int_equal(waitpid(p, &st, 0), p);
		if (!WIFEXITED(st))
			fail_msg("%s: child ended by signal %d", s->name, WTERMSIG(st));
		if (WEXITSTATUS(st) == 99)
			fail_msg("%s: mm_sandbox_enter failed", s->name);
		if (WEXITSTATUS(st) >= 100)
			fail_msg("%s: check failed: %s", s->name,
				 s->checks[WEXITSTATUS(st) - 100].name);
		assert_int_equal(WEXITSTATUS(st), 0);
	}
}

/* qemu-user refuses to load seccomp filters (they would judge its own system calls),
 * so scripts/cross.sh skips this one under emulation. */
static void test_scenarios_seccomp(void **state)
{
	(void)state;
	scenarios_run(1);
}

static void test_scenarios(void **state)
{
	(void)state;
	scenarios_run(0);
}

static void test_bad_options(void **state)
{
	static const int bogus[] = {9999};
	struct mm_sandbox_opts o;
	int st = 0;
	pid_t p;

	(void)state;
	mm_sandbox_opts_default(&o);
	assert_int_equal(o.seccomp, 1);
	assert_null(o.user);
	assert_int_equal(o.nkeep_caps, 0);
	assert_int_equal(o.no_fork, 0);
	assert_int_equal(o.max_memory, 0);
	assert_int_equal(o.max_files, 0);
	assert_int_equal(mm_sandbox_enter(NULL), MM_EINVAL);
	o.nkeep_caps = 1;
	assert_int_equal(mm_sandbox_enter(&o), MM_EINVAL);

	/* An unknown user or capability: refused before any change (in a child all the same). */
	p = fork();
	assert_true(p >= 0);
	if (p == 0) {
		mm_sandbox_opts_default(&o);
		o.user = "no-such-user-mamori";
		if (mm_sandbox_enter(&o) != MM_EINVAL)
			_exit(1);
		o.user = NULL;
		o.keep_caps = bogus;
		o.nkeep_caps = 1;
		if (mm_sandbox_enter(&o) != MM_EINVAL)
			_exit(2);
		_exit(0);
	}
	assert_int_equal(waitpid(p, &st, 0), p);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

static void test_user(void **state)
{
	uid_t u = 1;
	gid_t g = 1;

	(void)state;
	assert_int_equal(mm_sandbox_user("root", &u, &g), 0);
	assert_int_equal(u, 0);
	assert_int_equal(g, 0);
	assert_int_equal(mm_sandbox_user("nobody", &u, &g), 0);
	assert_int_equal(u, nobody_uid);
	assert_int_equal(g, nobody_gid);
	assert_int_equal(mm_sandbox_user("no-such-user-mamori", &u, &g), MM_ENOTFOUND);
	assert_int_equal(mm_sandbox_user("", &u, &g), MM_EINVAL);
	assert_int_equal(mm_sandbox_user(NULL, &u, &g), MM_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_user),
		cmocka_unit_test(test_bad_options),
		cmocka_unit_test(test_scenarios),
		cmocka_unit_test(test_scenarios_seccomp),
	};
	struct passwd *pw = getpwnam("nobody");

	if (pw == NULL) {
		fprintf(stderr, "no user nobody\n");
		return 1;
	}
	nobody_uid = pw->pw_uid;
	nobody_gid = pw->pw_gid;
	parent = getpid();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
