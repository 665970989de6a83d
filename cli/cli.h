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

/* Opens FILE, or stdin for "-". Prints the error and returns NULL on failure. */
#include <stdio.h>
FILE *cli_open(const char *path);
void cli_close(FILE *f);

#endif
