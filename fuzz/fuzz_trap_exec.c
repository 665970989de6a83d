/*
 * libFuzzer target: the whole BusyBox ash emulation as an attacker drives
 * it after login. The input is split into lines; each runs through
 * trap_exec_line() in one session over the dvr-arm persona's file system
 * (loaded once), with a small overlay bound so that ENOSPC paths are
 * reached too. Every line's output must stay within the emulation's
 * bound, and a session must end with its memory given back.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mamori/buf.h"

#include "exec.h"
#include "fs.h"
#include "persona.h"

#define OUT_MAX (64u << 10)
#define FS_MAX (256u << 10)

static struct trap_persona *persona;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void load_persona(void)
{
	char err[256];

	if (trap_persona_load(MAMORI_SRC_DATADIR "/trap/personas", "dvr-arm", 1, &persona, err,
			      sizeof err) < 0) {
		fprintf(stderr, "fuzz_trap_exec: persona: %s\n", err);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct trap_exec_opts o;
	struct trap_exec *x = NULL;
	struct trap_fs *fs = NULL;
	struct mm_buf out;
	size_t i = 0;

	if (!persona)
		load_persona();
	if (trap_fs_new(persona->base, FS_MAX, &fs) < 0)
		return 0;
	memset(&o, 0, sizeof o);
	o.persona = persona;
	o.fs = fs;
	o.user = "root";
	o.max_output = OUT_MAX;
	o.max_pipe = OUT_MAX;
	if (trap_exec_new(&o, &x) < 0)
		goto done;
	mm_buf_init(&out, 4 * (size_t)OUT_MAX);
	while (i < size) {
		const uint8_t *nl = memchr(data + i, '\n', size - i);
		size_t len = nl ? (size_t)(nl - (data + i)) : size - i;
		int rc;

		mm_buf_reset(&out);
		rc = trap_exec_line(x, (const char *)data + i, len, &out);
		if (out.len > 2 * (size_t)OUT_MAX)
			abort();
		if (rc == TRAP_EXEC_EXIT)
			break;
		(void)trap_exec_prompt(x);
		i += len + 1;
	}
	mm_buf_free(&out);
done:
	trap_exec_free(x);
	trap_fs_free(fs);
	return 0;
}
