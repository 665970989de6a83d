/* mamori profile: being written; replaced by the real command. */
#include "cli.h"
#include "mamori/log.h"

int cmd_profile(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	log_warnx("profile: not built yet");
	return CLI_USAGE;
}
