/* mamori inventory: being written; replaced by the real command. */
#include "cli.h"
#include "mamori/log.h"

int cmd_inventory(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	log_warnx("inventory: not built yet");
	return CLI_USAGE;
}
