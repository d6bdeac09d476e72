# CGI script (lighttpd.conf's server.error-handler runs it with /bin/sh): every answer lighttpd
# makes itself (404 for an unknown path, 503 when no handler process is available, ...) is the
# JSON of status-<status>.html beside this file, with the status lighttpd gives in
# REDIRECT_STATUS. A 503 also says when to come back (RFC 9110 §10.2.3), as the handlers' own
# 503s do: lighttpd takes a backend it could not reach out of use for a second or so.
dir=$(dirname "$SCRIPT_FILENAME")
status=$(printf '%s' "${REDIRECT_STATUS:-}" | tr -cd '0-9' | cut -c1-3)
# Asked for by its own path, not as lighttpd's error handler: there is nothing here.
case "$status" in [45][0-9][0-9]) ;; *) status=404 ;; esac
page="$dir/status-$status.html"
[ -f "$page" ] || page="$dir/status-500.html"
body=$(cat "$page")
retry=
[ "$status" = 503 ] && retry='Retry-After: 2\r\n'
printf "Status: %s\r\nContent-Type: application/json\r\n${retry}Content-Length: %s\r\n\r\n%s" \
    "$status" "${#body}" "$body"
