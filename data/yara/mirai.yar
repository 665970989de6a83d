/*
 * mamorid's shipped YARA rules (yara_rules in mamorid.conf).
 *
 * mirai_like: an ELF executable that carries at least three of the strings
 * that Mirai and its many descendants are known for. One or two of them can
 * turn up in an ordinary program (a watchdog daemon opens /dev/watchdog,
 * a web client may say "POST /cdn-cgi/"); three together in one ELF do not.
 */
rule mirai_like
{
    meta:
        description = "ELF carrying several of Mirai's well-known strings"
        attack = "T1105"
        reference = "Mirai source (2016): table.c, killer.c, attack_app.c"

    strings:
        $busybox  = "/bin/busybox MIRAI"
        $dvr      = "dvrHelper"
        $nippon   = ".nippon"
        $watchdog = "/dev/watchdog"
        $tun0     = "listening tun0"
        $cdn      = "POST /cdn-cgi/"

    condition:
        uint32(0) == 0x464c457f and 3 of them
}
