#!/bin/sh
# The test HTTP echo (busybox httpd CGI, served for "/" by echo-server): says which site and which
# Pod answered, and what it saw of the request, one key=value per line.
printf 'Content-Type: text/plain\r\n\r\n'
printf 'site=%s\n' "${SITE_NAME:-unknown}"
printf 'host=%s\n' "$(hostname)"
printf 'method=%s\n' "$REQUEST_METHOD"
printf 'uri=%s\n' "$REQUEST_URI"
printf 'client=%s:%s\n' "$REMOTE_ADDR" "$REMOTE_PORT"
