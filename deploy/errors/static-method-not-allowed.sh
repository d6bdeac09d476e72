# CGI script (lighttpd.conf runs it with /bin/sh): the answer to any method but GET and HEAD on
# the static documentation paths (/openapi.json, /docs...). lighttpd's static-file module would
# answer 501 Not Implemented to PUT, DELETE, PATCH, TRACE there (found by schemathesis), though
# it implements those methods for other paths; RFC 9110 §15.5.6 wants 405 with Allow, as every
# handler route answers.
method=$(printf '%s' "${REQUEST_METHOD:-}" | tr -cd 'A-Za-z0-9_-' | cut -c1-20)
body="{\"error\":\"method $method not allowed; use GET, HEAD\"}"
printf 'Status: 405 Method Not Allowed\r\nAllow: GET, HEAD\r\nContent-Type: application/json\r\nCache-Control: no-store\r\nContent-Length: %s\r\n\r\n%s' "${#body}" "$body"
