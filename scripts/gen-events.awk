# Prints n events (awk -v n=N -f gen-events.awk), one per line, alternating
# X.1367 records and mamori events, each unique by its sequence number: the
# corpus of the sender's integration scenarios and of bench/send.sh.
BEGIN {
  for (i = 1; i <= n; i++) {
    if (i % 2)
      printf "{\"Timestamp\":\"2026-11-22T10:%02d:%02d.%03dZ\",\"Reporter\":{\"IP Address\":\"192.168.2.11\"},\"Protocol\":\"ECHONET Lite\",\"Requester\":{\"IP Address\":\"192.168.2.%d\",\"Transmitted Code\":\"1081%08X\"},\"Responder\":{\"IP Address\":\"192.168.2.40\",\"Transmitted Code\":\"1081000102880105FF0151018001\"},\"Error Code\":\"31\",\"Error Message\":\"Invalid Argument\",\"Description\":\"event %d\"}\n", int(i / 60000) % 60, int(i / 1000) % 60, i % 1000, 1 + i % 250, i, i
    else
      printf "{\"event\":\"test.event.sent\",\"time\":\"2026-11-22T10:00:00Z\",\"device\":{\"id\":\"dev-%d\",\"fw\":\"1.0\"},\"seq\":%d,\"note\":\"caf\\u00e9 \\\"quoted\\\" and é\"}\n", i % 97, i
  }
}
