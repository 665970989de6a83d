/* mamori audit: being written; replaced by the real command. */
#include "cli.h"
#include "mamori/log.h"

int cmd_audit(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	log_warnx("audit: not built yet");
	return CLI_USAGE;
}
