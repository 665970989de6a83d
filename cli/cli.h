/*
 * The mamori command line: one front for every subcommand.
 * Each noun has one entry point that takes the arguments after the noun
 * (argv[0] is the noun itself) and returns the process exit status.
 */
#ifndef MAMORI_CLI_H
#define MAMORI_CLI_H

/* Exit statuses shared by all subcommands. */
#define CLI_OK 0      /* done; for checks: everything valid */
#define CLI_INVALID 1 /* done; for checks: something was invalid or not found */
#define CLI_USAGE 2   /* bad command line, or an input that could not be read */

int cmd_x1367(int argc, char **argv);
int cmd_syslog(int argc, char **argv);
int cmd_send(int argc, char **argv);
int cmd_query(int argc, char **argv);
int cmd_baseline(int argc, char **argv);
int cmd_metrics(int argc, char **argv);
int cmd_profile(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_inventory(int argc, char **argv);

#include <stdio.h>

#include "mamori/buf.h"

/* Opens FILE, or stdin for "-". Prints the error and returns NULL on failure. */
FILE *cli_open(const char *path);
/* Closes what cli_open() opened (stdin stays open). */
void cli_close(FILE *f);
/*
 * Reads one line into b (replacing its content, without the LF).
 * Returns 1 for a line, 0 at the end of input, MM_ETOOBIG for a line longer
 * than b->max (the rest of that line is skipped), MM_EIO on a read error.
 */
int cli_read_line(FILE *f, struct mm_buf *b);

#endif
