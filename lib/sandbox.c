/*
 * Dropping privileges for a worker process (see include/mamori/sandbox.h).
 *
 * The order matters and is fixed here so that no caller gets it wrong:
 *   1. the capability bounding set is emptied of everything not kept while
 *      the process still holds CAP_SETPCAP (it is root), since after the
 *      user change it no longer can;
 *   2. the user changes with PR_SET_KEEPCAPS on, so that the permitted set
 *      survives setresuid(2) (without it a change away from uid 0 empties
 *      every set), then KEEPCAPS goes off again;
 *   3. the capability sets become exactly keep_caps in permitted and
 *      effective, nothing inheritable or ambient, so that nothing passes
 *      to a program it might start;
 *   4. no_new_privs, so that no set-user-ID program or file capability can
 *      give back what was dropped (seccomp needs it too);
 *   5. resource limits;
 *   6. the seccomp filter, last, because the steps above make system calls
 *      that it may refuse.
 * Every step that fails is logged once with its reason and ends the call;
 * the caller is expected to exit, since a half-entered sandbox is not one.
 */
#define _GNU_SOURCE /* setresuid, getresuid, CLONE_THREAD */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <unistd.h>

#include <seccomp.h>

#include "mamori/error.h"
#include "mamori/log.h"
#include "mamori/sandbox.h"

#define PW_BUF_START 4096
#define PW_BUF_MAX (1024 * 1024) /* a passwd entry larger than this is not believed */

/* What a parser of untrusted input never needs: refused with EPERM. */
static const char *const denied[] = {
	"execve", "execveat", "ptrace", "process_vm_readv", "process_vm_writev",
	"mount", "umount2", "pivot_root", "chroot", "unshare", "setns",
	"init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load",
	"bpf", "perf_event_open", "keyctl", "add_key", "request_key", "reboot",
	"swapon", "swapoff", "fanotify_init",
};

/* With no_fork: new processes. clone is handled apart, by its flags. */
static const char *const denied_fork[] = {"fork", "vfork"};

void mm_sandbox_opts_default(struct mm_sandbox_opts *o)
{
	memset(o, 0, sizeof *o);
	o->seccomp = 1;
}

int mm_sandbox_user(const char *user, uid_t *uid, gid_t *gid)
{
	struct passwd pw, *res = NULL;
	size_t len = PW_BUF_START;
	char *buf = NULL;
	int rc;

	if (user == NULL || *user == '\0')
		return MM_EINVAL;
	for (;;) {
		char *nb = realloc(buf, len);

		if (nb == NULL) {
			free(buf);
			return MM_ENOMEM;
		}
		buf = nb;
		rc = getpwnam_r(user, &pw, buf, len, &res);
		if (rc != ERANGE || len >= PW_BUF_MAX)
			break;
		len *= 2;
	}
	if (rc == 0 && res != NULL) {
		*uid = pw.pw_uid;
		*gid = pw.pw_gid;
	}
	free(buf);
	if (rc != 0) {
		errno = rc;
		return MM_EIO;
	}
	return res != NULL ? 0 : MM_ENOTFOUND;
}

static int kept(const struct mm_sandbox_opts *o, int cap)
{
	size_t i;

	for (i = 0; i < o->nkeep_caps; i++)
		if (o->keep_caps[i] == cap)
			return 1;
	return 0;
}

/*
 * Empties the bounding set of what is not kept. Without CAP_SETPCAP (not
 * root) this is not allowed, and the set stays as the parent left it: the
 * other steps still hold, since no_new_privs stops any regain through exec.
 */
static int drop_bounding(const struct mm_sandbox_opts *o)
{
	int cap, last = (int)cap_max_bits();

	for (cap = 0; cap < last; cap++) {
		if (kept(o, cap) || cap_get_bound((cap_value_t)cap) != 1)
			continue;
		if (cap_drop_bound((cap_value_t)cap) == -1) {
			if (errno == EPERM)
				return 0;
			log_warn("sandbox: dropping capability %d from the bounding set", cap);
			return MM_EIO;
		}
	}
	return 0;
}

static int change_user(const struct mm_sandbox_opts *o)
{
	uid_t uid, ru, eu, su;
	gid_t gid, rg, eg, sg;
	int rc;

	if (o->user == NULL || *o->user == '\0')
		return 0;
	if ((rc = mm_sandbox_user(o->user, &uid, &gid)) < 0) {
		if (rc == MM_ENOTFOUND)
			log_warnx("sandbox: no user %s", o->user);
		else
			log_warn("sandbox: looking up user %s", o->user);
		return rc == MM_ENOTFOUND ? MM_EINVAL : rc;
	}
	if (o->nkeep_caps > 0 && prctl(PR_SET_KEEPCAPS, 1L, 0L, 0L, 0L) == -1) {
		log_warn("sandbox: PR_SET_KEEPCAPS");
		return MM_EIO;
	}
	if (setgroups(0, NULL) == -1 || setresgid(gid, gid, gid) == -1 ||
	    setresuid(uid, uid, uid) == -1) {
		log_warn("sandbox: changing to user %s (%u:%u)", o->user, (unsigned)uid,
			 (unsigned)gid);
		return MM_EIO;
	}
	if (o->nkeep_caps > 0 && prctl(PR_SET_KEEPCAPS, 0L, 0L, 0L, 0L) == -1) {
		log_warn("sandbox: PR_SET_KEEPCAPS off");
		return MM_EIO;
	}
	/* Checked, not assumed: a silent partial change would leave a way back. */
	if (getresuid(&ru, &eu, &su) == -1 || getresgid(&rg, &eg, &sg) == -1 || ru != uid ||
	    eu != uid || su != uid || rg != gid || eg != gid || sg != gid) {
		log_warnx("sandbox: the user change to %s did not hold", o->user);
		return MM_EIO;
	}
	return 0;
}

static int set_caps(const struct mm_sandbox_opts *o)
{
	cap_value_t v[64];
	cap_t caps;
	size_t i;
	int rc = 0;

	if (o->nkeep_caps > sizeof v / sizeof v[0]) {
		log_warnx("sandbox: %zu capabilities to keep, at most %zu", o->nkeep_caps,
			  sizeof v / sizeof v[0]);
		return MM_EINVAL;
	}
	for (i = 0; i < o->nkeep_caps; i++) {
		if (o->keep_caps[i] < 0 || !CAP_IS_SUPPORTED(o->keep_caps[i])) {
			log_warnx("sandbox: capability %d is not known", o->keep_caps[i]);
			return MM_EINVAL;
		}
		v[i] = (cap_value_t)o->keep_caps[i];
	}
	if ((caps = cap_init()) == NULL) {
		log_warn("sandbox: cap_init");
		return MM_ENOMEM;
	}
	if (o->nkeep_caps > 0 &&
	    (cap_set_flag(caps, CAP_PERMITTED, (int)o->nkeep_caps, v, CAP_SET) == -1 ||
	     cap_set_flag(caps, CAP_EFFECTIVE, (int)o->nkeep_caps, v, CAP_SET) == -1)) {
		log_warn("sandbox: cap_set_flag");
		rc = MM_EIO;
	} else if (cap_set_proc(caps) == -1) {
		log_warn("sandbox: keeping %zu capabilities", o->nkeep_caps);
		rc = MM_EIO;
	}
	cap_free(caps);
	if (rc == 0 && CAP_AMBIENT_SUPPORTED() && cap_reset_ambient() == -1) {
		log_warn("sandbox: clearing the ambient capabilities");
		rc = MM_EIO;
	}
	return rc;
}

static int set_limit(int res, unsigned long long v, const char *name)
{
	struct rlimit rl;

	if (v == 0)
		return 0;
	rl.rlim_cur = rl.rlim_max = (rlim_t)v;
	if (setrlimit(res, &rl) == -1) {
		log_warn("sandbox: %s %llu", name, v);
		return MM_EIO;
	}
	return 0;
}

/* Adds "name -> EPERM"; a call this architecture does not have is skipped. */
static int deny_call(scmp_filter_ctx ctx, const char *name)
{
	int nr = seccomp_syscall_resolve_name(name), rc;

	if (nr == __NR_SCMP_ERROR)
		return 0;
	if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0)) < 0) {
		log_warnx("sandbox: seccomp rule for %s: %s", name, strerror(-rc));
		return MM_EIO;
	}
	return 0;
}

static int install_filter(const struct mm_sandbox_opts *o)
{
	scmp_filter_ctx ctx;
	size_t i;
	int rc = MM_EIO, r;

	if ((ctx = seccomp_init(SCMP_ACT_ALLOW)) == NULL) {
		log_warnx("sandbox: seccomp_init failed");
		return MM_ENOMEM;
	}
	for (i = 0; i < sizeof denied / sizeof denied[0]; i++)
		if (deny_call(ctx, denied[i]) < 0)
			goto fail;
	if (o->no_fork) {
		for (i = 0; i < sizeof denied_fork / sizeof denied_fork[0]; i++)
			if (deny_call(ctx, denied_fork[i]) < 0)
				goto fail;
		/*
		 * clone(2) makes threads as well as processes: only a clone
		 * without CLONE_THREAD is a new process. The flags are the
		 * first argument on x86, ARM and MIPS (not on s390).
		 */
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
				     SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, 0));
		if (r < 0) {
			log_warnx("sandbox: seccomp rule for clone: %s", strerror(-r));
			goto fail;
		}
		/*
		 * clone3(2) passes its flags in memory a filter cannot read:
		 * ENOSYS makes the C library fall back to clone(2), whose
		 * flags the rule above sees.
		 */
		r = seccomp_syscall_resolve_name("clone3");
		if (r != __NR_SCMP_ERROR &&
		    (r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), r, 0)) < 0) {
			log_warnx("sandbox: seccomp rule for clone3: %s", strerror(-r));
			goto fail;
		}
	}
	if ((r = seccomp_load(ctx)) < 0) {
		log_warnx("sandbox: loading the seccomp filter: %s", strerror(-r));
		goto fail;
	}
	rc = 0;
fail:
	seccomp_release(ctx);
	return rc;
}

int mm_sandbox_enter(const struct mm_sandbox_opts *o)
{
	int rc;

	if (o == NULL || (o->nkeep_caps > 0 && o->keep_caps == NULL))
		return MM_EINVAL;
	if ((rc = drop_bounding(o)) < 0 || (rc = change_user(o)) < 0 || (rc = set_caps(o)) < 0)
		return rc;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1L, 0L, 0L, 0L) == -1) {
		log_warn("sandbox: PR_SET_NO_NEW_PRIVS");
		return MM_EIO;
	}
	if ((rc = set_limit(RLIMIT_NOFILE, o->max_files, "RLIMIT_NOFILE")) < 0 ||
	    (rc = set_limit(RLIMIT_AS, o->max_memory, "RLIMIT_AS")) < 0)
		return rc;
	if (o->seccomp && (rc = install_filter(o)) < 0)
		return rc;
	return 0;
}
