/*
 * Dropping privileges for a worker process (OpenBSD's privsep, done with
 * Linux's tools): change to an unprivileged user, keep only the listed
 * capabilities (libcap), forbid regaining any (no_new_privs), set resource
 * limits, and install a seccomp filter (libseccomp) that refuses the system
 * calls a parser of untrusted input has no business making.
 *
 *	struct mm_sandbox_opts o;
 *	mm_sandbox_opts_default(&o);
 *	o.user = "nobody";                  NULL or "": keep the uid
 *	o.keep_caps = (const int[]){CAP_KILL}; o.nkeep_caps = 1;
 *	if (mm_sandbox_enter(&o) < 0) fatalx("sandbox");
 */
#ifndef MAMORI_SANDBOX_H
#define MAMORI_SANDBOX_H

#include <stddef.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

struct mm_sandbox_opts {
	const char *user;      /* switch to this user's uid, gid and no supplementary
				  groups; NULL or "": stay */
	const int *keep_caps;  /* CAP_* values kept in the permitted and effective sets */
	size_t nkeep_caps;
	int seccomp;           /* 1 (default): install the filter */
	unsigned long long max_files;   /* RLIMIT_NOFILE, 0: unchanged */
	unsigned long long max_memory;  /* RLIMIT_AS, 0: unchanged (default; ASan needs it) */
	int no_fork;           /* 1: the filter also refuses fork, clone of a process, vfork */
};

void mm_sandbox_opts_default(struct mm_sandbox_opts *o);

/*
 * Looks up a user: its uid and gid. 0, or MM_ENOTFOUND when there is none.
 */
int mm_sandbox_user(const char *user, uid_t *uid, gid_t *gid);

/*
 * Enters the sandbox for the rest of the process's life. The filter refuses
 * (EPERM) execve, execveat, ptrace, process_vm_readv/writev, mount, umount2,
 * pivot_root, chroot, unshare, setns, init_module, finit_module,
 * delete_module, kexec_load, kexec_file_load, bpf, perf_event_open, keyctl,
 * add_key, request_key, reboot, swapon, swapoff, fanotify_init, and, with
 * no_fork, fork/vfork and clone without CLONE_THREAD. Returns 0 or MM_EIO/
 * MM_EINVAL, with the reason logged once.
 */
int mm_sandbox_enter(const struct mm_sandbox_opts *o);

#ifdef __cplusplus
}
#endif
#endif
