/* mamori metrics: being written; replaced by the real command. */
#include "cli.h"
#include "mamori/log.h"

int cmd_metrics(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	log_warnx("metrics: not built yet");
	return CLI_USAGE;
}
