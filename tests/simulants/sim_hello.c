#define _GNU_SOURCE
/*
 * sim_hello: an ordinary program for the workload, feed and allowlist
 * tests: prints "hello NAME" and writes /var/sim/hello.NAME (NAME from
 * argv[1], letters, digits, '-' and '_' only; default "x").
 */
#include "sim.h"

int main(int argc, char **argv)
{
	const char *name = argc > 1 ? argv[1] : "x";
	char mark[64], text[80];
	const char *p;

	for (p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '_') ||
		    p - name > 32) {
			fprintf(stderr, "sim_hello: bad name\n");
			return 2;
		}
	snprintf(mark, sizeof(mark), "hello.%s", name);
	snprintf(text, sizeof(text), "hello %s\n", name);
	sim_mark(mark, text);
	fputs(text, stdout);
	return 0;
}
