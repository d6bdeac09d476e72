# The floors the API benchmarks compare with (tests/bench/fcgi_floor.cpp), shared by tests/bench/api
# and tests/bench/instructions. Sourced; needs sql() and DATABASE_URL.

# The write floor's table: a key and a unique name, as domains has.
create_floor_table() {
    sql "CREATE TABLE IF NOT EXISTS bench_floor_writes (
             id bigserial PRIMARY KEY, name text NOT NULL UNIQUE,
             created_at timestamptz NOT NULL DEFAULT now())"
}

# lighttpd routes to the floors, appended to the project's lighttpd.conf; $1 the floor's
# executable. The floors answer with DNSH_FLOOR_BODY (GET) and DNSH_FLOOR_POST_BODY (write floor)
# from lighttpd's environment:
#   /floor             a FastCGI responder that does nothing
#   /floor-plain-close the same, closing its FastCGI connections as the handlers do
#   /floor-db          one prepared SELECT 1 per request (the "db floor")
#   /floor-db-plain-close  the same, closing its FastCGI connections as the handlers do
#   /floor-write       one INSERT ... RETURNING committed per request (the "write floor")
#   /floor-write-row   POST /domains' own INSERT of a domains row (the "row floor")
# with as many processes as the handlers they are held to: the read-only handlers'
# (DNSH_READ_HANDLER_PROCS) for the first four, create_domain's (DNSH_HANDLER_PROCS) for the
# writes.
floor_routes() {
    cat <<CONF
\$HTTP["url"] == "/floor" {
    fastcgi.server = ("/" => ((
        "bin-path" => "$1",
        "socket" => env.DNSH_RUN_DIR + "/fcgi_floor.sock",
        "max-procs" => env.DNSH_READ_HANDLER_PROCS, "bin-copy-environment" => ("DNSH_FLOOR_BODY"),
        "check-local" => "disable", "fix-root-scriptname" => "enable")))
}
\$HTTP["url"] == "/floor-plain-close" {
    fastcgi.server = ("/" => ((
        "bin-path" => "$1",
        "socket" => env.DNSH_RUN_DIR + "/fcgi_floor_plain.sock",
        "max-procs" => env.DNSH_READ_HANDLER_PROCS, "bin-copy-environment" => ("DNSH_FLOOR_BODY"),
        "bin-environment" => ("DNSH_FLOOR_PLAIN_CLOSE" => "1"),
        "check-local" => "disable", "fix-root-scriptname" => "enable")))
}
\$HTTP["url"] == "/floor-db" {
    fastcgi.server = ("/" => ((
        "bin-path" => "$1",
        "socket" => env.DNSH_RUN_DIR + "/fcgi_floor_db.sock",
        "max-procs" => env.DNSH_READ_HANDLER_PROCS, "bin-copy-environment" => ("DNSH_FLOOR_BODY"),
        "bin-environment" => ("DNSH_FLOOR_DATABASE_URL" => env.DATABASE_URL),
        "check-local" => "disable", "fix-root-scriptname" => "enable")))
}
\$HTTP["url"] == "/floor-db-plain-close" {
    fastcgi.server = ("/" => ((
        "bin-path" => "$1",
        "socket" => env.DNSH_RUN_DIR + "/fcgi_floor_db_plain.sock",
        "max-procs" => env.DNSH_READ_HANDLER_PROCS, "bin-copy-environment" => ("DNSH_FLOOR_BODY"),
        "bin-environment" => ("DNSH_FLOOR_DATABASE_URL" => env.DATABASE_URL,
                              "DNSH_FLOOR_PLAIN_CLOSE" => "1"),
        "check-local" => "disable", "fix-root-scriptname" => "enable")))
}
CONF
    write_floor_route "$1" /floor-write fcgi_floor_write 1
    write_floor_route "$1" /floor-write-row fcgi_floor_write_row row
}

# One write floor's route: $1 the executable, $2 the path, $3 the socket's name, $4
# DNSH_FLOOR_WRITE ("1": the floor's own table; "row": POST /domains' INSERT). As many processes
# as create_domain, answering POST's bytes, closing as the handlers do.
write_floor_route() {
    cat <<CONF
\$HTTP["url"] == "$2" {
    fastcgi.server = ("/" => ((
        "bin-path" => "$1",
        "socket" => env.DNSH_RUN_DIR + "/$3.sock",
        "max-procs" => env.DNSH_HANDLER_PROCS,
        "bin-environment" => ("DNSH_FLOOR_DATABASE_URL" => env.DATABASE_URL,
                              "DNSH_FLOOR_BODY" => env.DNSH_FLOOR_POST_BODY,
                              "DNSH_FLOOR_WRITE" => "$4", "DNSH_FLOOR_PLAIN_CLOSE" => "1"),
        "check-local" => "disable", "fix-root-scriptname" => "enable")))
}
CONF
}

# wrk's script for POST /domains and the write floor: a new name per request.
write_post_script() {
    cat >"$1" <<'LUA'
-- A new name per request, unique across wrk's threads and runs.
local counter = 0
local threads = 0
function setup(thread)
    threads = threads + 1
    thread:set("prefix", threads .. "-" .. os.time() .. "-" .. math.random(1, 1e9))
end
function request()
    counter = counter + 1
    local body = '{"domain_name":"p' .. prefix .. '-' .. counter .. '.post.example"}'
    -- The URL's path: POST /domains and the write floor get the same requests.
    return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
end
LUA
}
