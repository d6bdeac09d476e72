# Functions shared by deploy/up, deploy/down and deploy/test: build, start and stop the services
# of a stack (PostgreSQL, pebble-challtestsrv, Pebble, Knot, Unbound, lighttpd), each with a pid
# file. Sourced, not run.

DNSH_HOME=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)

# The sandbox's CA and customer DNS: the project's own build of Pebble and pebble-challtestsrv
# (deploy/pebble/install, run by deploy/install-deps), never whatever is on the PATH.
DNSH_PEBBLE_VERSION=v2.10.3
DNSH_PEBBLE_DIR=$DNSH_HOME/.deps/pebble-$DNSH_PEBBLE_VERSION
DNSH_PEBBLE=$DNSH_PEBBLE_DIR/bin/pebble
DNSH_CHALLTESTSRV=$DNSH_PEBBLE_DIR/bin/pebble-challtestsrv

dnsh_log() { printf '%s\n' "$*" >&2; }
dnsh_die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# dnsh_build DIR [cmake options...]; DNSH_BUILD_TARGET limits it (deploy/up: "product").
dnsh_build() {
    local build_dir=$1
    local log=$build_dir/build.log
    local target=()
    [ -n "${DNSH_BUILD_TARGET:-}" ] && target=(--target "$DNSH_BUILD_TARGET")
    mkdir -p "$build_dir"
    cmake -S "$DNSH_HOME" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release "${@:2}" >"$log" 2>&1 &&
        cmake --build "$build_dir" -j "$(nproc)" "${target[@]}" >>"$log" 2>&1 ||
        { tail -n 60 "$log" >&2; dnsh_die "build failed (full log: $log)"; }
}

# "90s", "10m", "2h" -> seconds on stdout; fails on anything else.
dnsh_duration_seconds() {
    case "$1" in
        [1-9]*s) [[ "${1%s}" =~ ^[0-9]+$ ]] && echo "${1%s}" ;;
        [1-9]*m) [[ "${1%m}" =~ ^[0-9]+$ ]] && echo $((${1%m} * 60)) ;;
        [1-9]*h) [[ "${1%h}" =~ ^[0-9]+$ ]] && echo $((${1%h} * 3600)) ;;
        *) return 1 ;;
    esac
}

dnsh_port_in_use() { ss -Hltnu "( sport = :$1 )" 2>/dev/null | grep -q .; }

# A free loopback port, TCP and UDP both, from 10000 up to the kernel's ephemeral range
# (32768 by default): a port from that range can be taken between this check and the bind by
# any outgoing connection or DNS query's source port (seen: unbound and knotd failing to bind).
dnsh_free_port() {
    local port ephemeral_low
    ephemeral_low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
    for _ in $(seq 200); do
        port=$((10000 + RANDOM % (ephemeral_low - 10000)))
        dnsh_port_in_use "$port" || { echo "$port"; return 0; }
    done
    dnsh_die "no free port found"
}

dnsh_pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

dnsh_wait_tcp() {
    local host=$1 port=$2 what=$3
    # 30 s: the tests' second Pebble (50% bad nonces) was once seen not listening after 10 s,
    # its log ending at its settings (cause not found); a start that fails still fails.
    for _ in $(seq 300); do
        (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null && return 0
        sleep 0.1
    done
    dnsh_die "$what did not start listening on $host:$port"
}

# Splits SERVER_ADDR ("host:port", ":port", "[::1]:port") into DNSH_BIND and DNSH_PORT.
dnsh_parse_server_addr() {
    local addr=$1
    case "$addr" in
        \[*\]:*) DNSH_BIND=${addr%%]*}; DNSH_BIND=${DNSH_BIND#[}; DNSH_PORT=${addr##*]:} ;;
        *:*) DNSH_BIND=${addr%:*}; DNSH_PORT=${addr##*:} ;;
        *) dnsh_die "SERVER_ADDR=$addr: expected host:port or :port" ;;
    esac
    [ -n "$DNSH_BIND" ] || DNSH_BIND=0.0.0.0
    [[ "$DNSH_PORT" =~ ^[0-9]+$ ]] && [ "$DNSH_PORT" -ge 1 ] && [ "$DNSH_PORT" -le 65535 ] ||
        dnsh_die "SERVER_ADDR=$addr: bad port"
}

# Warns (stderr) when SERVER_ADDR is not loopback and AUTH_TOKEN is empty: anyone who can reach
# the host could use the API. dnsh_warn_if_api_open SERVER_ADDR AUTH_TOKEN
dnsh_warn_if_api_open() {
    local DNSH_BIND DNSH_PORT
    dnsh_parse_server_addr "$1"
    if [ -z "$2" ] && [[ ! "$DNSH_BIND" =~ ^(127\.|::1$|localhost$) ]]; then
        dnsh_log "warning: SERVER_ADDR=$1 is not loopback and AUTH_TOKEN is empty: the API is open to the network"
    fi
}

# PostgreSQL on a unix socket only, run as the postgres user (it refuses root) in a data
# directory that user owns. Sets DATABASE_URL.
dnsh_start_postgres() {
    local dir=$1 pidfile=$2; shift 2
    local data=$dir/data sock=$dir/socket
    mkdir -p "$dir" "$sock"
    chown postgres:postgres "$dir" "$sock"
    # Trust authentication on this socket: only its owner (postgres) and root may reach it.
    chmod 0700 "$sock"
    if [ ! -f "$data/PG_VERSION" ]; then
        runuser -u postgres -- "$PG_BIN/initdb" -D "$data" -A trust -U postgres -E UTF8 \
            --no-locale >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; dnsh_die "initdb failed"; }
    fi
    DATABASE_URL="host=$sock port=5432 dbname=dnsh user=postgres"
    if ! runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$data" -l "$dir/postgres.log" -w -t 60 \
            -o "-k $sock -c listen_addresses='' -p 5432 $*" start >/dev/null ||
            { tail -n 20 "$dir/postgres.log" >&2; dnsh_die "PostgreSQL did not start"; }
    fi
    head -n 1 "$data/postmaster.pid" >"$pidfile"
    if ! runuser -u postgres -- "$PG_BIN/psql" -h "$sock" -d postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname = 'dnsh'" | grep -q 1; then
        runuser -u postgres -- "$PG_BIN/createdb" -h "$sock" dnsh
    fi
}

dnsh_stop_postgres() {
    local dir=$1
    [ -f "$dir/data/PG_VERSION" ] || return 0
    runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
}

dnsh_require_pebble() {
    [ -x "$DNSH_PEBBLE" ] && [ -x "$DNSH_CHALLTESTSRV" ] ||
        dnsh_die "Pebble $DNSH_PEBBLE_VERSION is not built in $DNSH_PEBBLE_DIR: run deploy/install-deps"
}

# The sandbox DNS: answers what its management API is told (set-txt, set-cname, set-servfail), on
# UDP and TCP (Pebble asks over TCP only). Only the DNS server and the API: no HTTP-01, TLS-ALPN-01
# or DNS-over-HTTPS listeners.
dnsh_start_challtestsrv() {
    local dns_port=$1 api_port=$2 pidfile=$3 logfile=$4
    # One started from another binary (Debian's, by an older deploy/up) is replaced.
    if dnsh_pid_alive "$pidfile" &&
        [ "$(readlink "/proc/$(cat "$pidfile")/exe")" != "$DNSH_CHALLTESTSRV" ]; then
        dnsh_log "restarting pebble-challtestsrv from $DNSH_CHALLTESTSRV"
        dnsh_stop_pidfile "$pidfile"
    fi
    dnsh_pid_alive "$pidfile" && return 0
    dnsh_require_pebble
    nohup "$DNSH_CHALLTESTSRV" -dnsserver "127.0.0.1:$dns_port" -management "127.0.0.1:$api_port" \
        -http01 "" -https01 "" -tlsalpn01 "" -doh "" -defaultIPv4 127.0.0.1 -defaultIPv6 "" \
        >>"$logfile" 2>&1 &
    echo $! >"$pidfile"
    dnsh_wait_tcp 127.0.0.1 "$api_port" pebble-challtestsrv
}

# The key-encryption key for private keys at rest: 32 random bytes as hex, mode 0600, owned by
# whoever runs the stack (the programs refuse a KEK file group or others may access). One made
# by an older checkout is made private too.
dnsh_ensure_kek() {
    local file=$1
    [ -s "$file" ] || (umask 077 && openssl rand -hex 32 >"$file")
    chmod go-rwx "$file"
}

# A TLS certificate for Pebble's listener (Pebble ships none), valid for 127.0.0.1.
dnsh_pebble_tls() {
    local dir=$1
    mkdir -p "$dir"
    [ -s "$dir/cert.pem" ] && return 0
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
        -subj /CN=pebble-sandbox -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
        -keyout "$dir/key.pem" -out "$dir/cert.pem" 2>/dev/null
}

# Pebble, the ACME test CA, its DNS pointed at DNS (host:port; Pebble asks it over TCP only).
# PEBBLE_* variables in the environment reach it (PEBBLE_AUTHZREUSE, PEBBLE_WFE_NONCEREJECT, ...);
# DNSH_CERT_VALIDITY_SECONDS sets the lifetime of the certificates of its profile "default"
# (Pebble's default is 90 days); its profile "shortlived" issues for 160 hours (Let's Encrypt's),
# or half of "default"'s lifetime when that is shorter. Sets ACME_DIRECTORY, ACME_CA_BUNDLE and
# PEBBLE_MANAGEMENT.
dnsh_start_pebble() {
    local dir=$1 acme_port=$2 mgmt_port=$3 dns=$4 pidfile=$5 logfile=$6 tls=${7:-$1}
    mkdir -p "$dir"
    dnsh_pebble_tls "$tls"
    # deploy/stack/pebble.json.in. Two profiles (draft-ietf-acme-profiles), each with its own lifetime: a profile's
    # validityPeriod is the only setting of it (the top-level certificateValidityPeriod of Pebble
    # 2.4 is ignored). Pebble picks a random profile for an order that names none, so the sandbox
    # and the tests set ACME_PROFILE=default. caaIdentities: the issuer domain the directory's
    # meta.caaIdentities names (RFC 8555 §7.1.1), written out rather than left to Pebble's
    # default, which is the same; Pebble itself checks no CAA. domainBlocklist: names Pebble
    # refuses with a rejectedIdentifier problem and a subproblem per name (RFC 8555 §6.7.1).
    local validity=${DNSH_CERT_VALIDITY_SECONDS:-7776000}
    local shortlived=576000
    [ $((validity / 2)) -lt "$shortlived" ] && shortlived=$(( validity / 2 > 0 ? validity / 2 : 1 ))
    # DNSH_PEBBLE_EAB_KID and DNSH_PEBBLE_EAB_KEY (base64url): a CA that requires External
    # Account Binding (RFC 8555 §7.3.4) with that one key, as ZeroSSL and Google Trust Services
    # do. DNSH_PEBBLE_CAA_IDENTITY: another issuer domain name for CAA (a second CA).
    local eab_required=false eab_keys='{}'
    if [ -n "${DNSH_PEBBLE_EAB_KID:-}" ]; then
        eab_required=true
        eab_keys="{\"$DNSH_PEBBLE_EAB_KID\": \"$DNSH_PEBBLE_EAB_KEY\"}"
    fi
    local config
    config=$(dnsh_render pebble.json.in ACME_PORT="$acme_port" MANAGEMENT_PORT="$mgmt_port" \
        TLS_DIR="$tls" VALIDITY="$validity" SHORTLIVED="$shortlived" EAB_REQUIRED="$eab_required" \
        EAB_KEYS="$eab_keys" CAA_IDENTITY="${DNSH_PEBBLE_CAA_IDENTITY:-pebble.letsencrypt.org}")
    # A running Pebble started with another configuration, DNS server, binary or PEBBLE_* settings
    # (say SANDBOX_CERT_VALIDITY changed) is restarted with the new ones.
    local signature
    signature="$config $DNSH_PEBBLE $(cat "$DNSH_PEBBLE_DIR/stamp" 2>/dev/null) -dnsserver $dns $(env | grep '^PEBBLE_' | grep -v '^PEBBLE_MANAGEMENT' | sort | tr '\n' ' ')"
    if [ "$signature" != "$(cat "$dir/pebble.signature" 2>/dev/null)" ] && dnsh_pid_alive "$pidfile"; then
        dnsh_log "restarting Pebble with its new configuration"
        dnsh_stop_pidfile "$pidfile"
    fi
    printf '%s\n' "$config" >"$dir/pebble.json"
    printf '%s\n' "$signature" >"$dir/pebble.signature"
    echo "$dns" >"$dir/dnsserver"
    ACME_DIRECTORY=https://127.0.0.1:$acme_port/dir
    ACME_CA_BUNDLE=$tls/cert.pem
    PEBBLE_MANAGEMENT=https://127.0.0.1:$mgmt_port
    dnsh_pid_alive "$pidfile" && return 0
    dnsh_launch_pebble "$dir" "$pidfile" "$logfile"
}

# Starts Pebble from the configuration dnsh_start_pebble wrote into DIR (also how the fault tests
# bring a stopped one back). -strict: Pebble refuses what upcoming ACME changes will refuse, so the
# product meets the stricter CA.
dnsh_launch_pebble() {
    local dir=$1 pidfile=$2 logfile=$3
    dnsh_require_pebble
    nohup "$DNSH_PEBBLE" -strict -config "$dir/pebble.json" -dnsserver "$(cat "$dir/dnsserver")" \
        </dev/null >>"$logfile" 2>&1 &
    echo $! >"$pidfile"
    local port
    port=$(sed -n 's/.*"listenAddress": "127.0.0.1:\([0-9]*\)".*/\1/p' "$dir/pebble.json")
    dnsh_wait_tcp 127.0.0.1 "$port" pebble
}

# Prints deploy/stack/TEMPLATE with each placeholder @NAME@ replaced by VALUE of an argument
# NAME=VALUE; dies on a placeholder left unfilled.
dnsh_render() {
    local template=$1 text pair; shift
    text=$(<"$DNSH_HOME/deploy/stack/$template")
    for pair in "$@"; do
        text=${text//"@${pair%%=*}@"/"${pair#*=}"}
    done
    [[ $text =~ @[A-Z_]+@ ]] && dnsh_die "deploy/stack/$template: ${BASH_REMATCH[0]} not filled in"
    printf '%s\n' "$text"
}

# --- Delegated validation (README "Zero-touch: one CNAME, then nothing"): authoritative Knots for
# the delegation zone and for a customer zone, and Unbound, the recursive resolver that Pebble and
# the service ask. ---

# Whether anything listens on exactly ADDRESS:PORT (TCP or UDP).
dnsh_address_in_use() { ss -Hltnu src "$1:$2" 2>/dev/null | grep -q .; }

# A loopback address 127.A.B.C (A in 100..199) with nothing on port 53 yet. NS records carry no
# port, so every authoritative server the precheck asks needs port 53 of an address of its own;
# stacks running side by side (deploy/up, deploy/test) each pick their own. Linux routes all of
# 127.0.0.0/8 to lo: nothing to configure.
dnsh_free_loopback_address() {
    local addr
    for _ in $(seq 200); do
        addr=127.$((100 + RANDOM % 100)).$((RANDOM % 256)).$((1 + RANDOM % 254))
        dnsh_address_in_use "$addr" 53 || { echo "$addr"; return 0; }
    done
    dnsh_die "no free loopback address found"
}

# Waits until something listens on exactly ADDRESS:PORT, UDP and TCP (a wildcard listener of
# another program on the port does not count) while the process of PIDFILE lives; dies with
# LOGFILE's tail if that process exits or nothing appears within 10 s.
dnsh_wait_dns() {
    local address=$1 port=$2 pidfile=$3 what=$4 logfile=$5
    for _ in $(seq 100); do
        dnsh_pid_alive "$pidfile" || { tail -n 20 "$logfile" >&2; dnsh_die "$what exited (log: $logfile)"; }
        ss -Hlun src "$address:$port" 2>/dev/null | grep -q . &&
            ss -Hltn src "$address:$port" 2>/dev/null | grep -q . && return 0
        sleep 0.1
    done
    tail -n 20 "$logfile" >&2
    dnsh_die "$what did not start listening on $address:$port (log: $logfile)"
}

# The TSIG key of the dynamic updates, generated once into FILE (mode 0600) as
# "hmac-sha256:NAME:BASE64" (32 random bytes), the form of DNS_UPDATE_TSIG. Sets DNSH_TSIG (that
# line), DNSH_TSIG_NAME and DNSH_TSIG_SECRET.
dnsh_ensure_tsig_key() {
    local file=$1 name=${2:-dnsh-update.}
    [ -s "$file" ] ||
        (umask 077 && printf 'hmac-sha256:%s:%s\n' "$name" "$(openssl rand -base64 32)" >"$file")
    DNSH_TSIG=$(cat "$file")
    IFS=: read -r _ DNSH_TSIG_NAME DNSH_TSIG_SECRET <<<"$DNSH_TSIG"
}

# Knot DNS on ADDRESS port 53 (or ADDRESS@PORT), primary (no notify) for each ZONE: "name" (NS ns1.name and
# ns2.name both at ADDRESS) or "name:NS1-ADDRESSES:NS2-ADDRESSES[:NS3-ADDRESSES...]" (NS ns1.name,
# ns2.name, ... each with the comma-separated IPv4 addresses given: one zone served by two
# independent primaries is started on both with the same argument, an update sent to one is not
# on the other; a zone whose nameservers live elsewhere is only described by this Knot). It
# accepts RFC 2136 updates signed with the hmac-sha256 TSIG key NAME/SECRET (base64) and keeps
# them in its journal under DIR (zonefile-sync: -1: the zone files stay as written here, the
# journal is replayed over them at start). Anyone on loopback may query. Apex records TTL 1,
# negative answers TTL 0. A running Knot whose configuration or zones changed is restarted with
# an empty journal (its changes were made to the old zones).
dnsh_start_knot_zones() {
    local dir=$1 address=${2%@*} port=53 pidfile=$3 logfile=$4 key_name=$5 key_secret=$6
    [[ $2 == *@* ]] && port=${2##*@}
    shift 6
    [ $# -gt 0 ] || dnsh_die "dnsh_start_knot_zones: no zone given"
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    local spec name fields nameservers zone_entries="" zone_texts=() zone_names=() text i ns_addr
    for spec in "$@"; do
        IFS=: read -r -a fields <<<"$spec"
        name=${fields[0]%.}
        nameservers=("${fields[@]:1}")
        [ ${#nameservers[@]} -gt 0 ] || nameservers=("$address" "$address")
        zone_names+=("$name")
        text=$'$ORIGIN '"$name."$'\n$TTL 1\n@    SOA ns1 hostmaster 1 60 10 3600 0'
        for i in "${!nameservers[@]}"; do
            text+=$'\n'"@    NS  ns$((i + 1))"
        done
        for i in "${!nameservers[@]}"; do
            for ns_addr in ${nameservers[$i]//,/ }; do
                # "none": a nameserver whose name has no address (a stale NS record).
                [ "$ns_addr" = none ] && continue
                text+=$'\n'"ns$((i + 1))  A   $ns_addr"
            done
        done
        zone_texts+=("$text")
        zone_entries+=$'\n'"  - domain: $name."$'\n'"    file: \"$name.zone\""
    done
    local config
    config=$(dnsh_render knot.conf.in DIR="$dir" LISTEN="$address@$port" KEY_NAME="$key_name" \
        KEY_SECRET="$key_secret" ZONES="$zone_entries")
    local signature
    signature=$(printf '%s\n' "$config" "${zone_texts[@]}" | md5sum | cut -d' ' -f1)
    if [ "$signature" != "$(cat "$dir/knot.signature" 2>/dev/null)" ]; then
        if dnsh_pid_alive "$pidfile"; then
            dnsh_log "restarting Knot ($dir) with its new zones"
            dnsh_stop_pidfile "$pidfile"
        fi
        rm -rf "$dir/db" "$dir/zones"
        mkdir -p "$dir/zones"
        local i
        for i in "${!zone_names[@]}"; do
            printf '%s\n' "${zone_texts[$i]}" >"$dir/zones/${zone_names[$i]}.zone"
        done
        (umask 077 && printf '%s\n' "$config" >"$dir/knot.conf")
        echo "$signature" >"$dir/knot.signature"
    fi
    dnsh_pid_alive "$pidfile" && return 0
    dnsh_address_in_use "$address" "$port" && dnsh_die "$address:$port is taken by another process"
    # Knot 3.2 does not create its database directory: without it, it answers queries but every
    # update fails (SERVFAIL, "DDNS, processing failed (not exists)").
    mkdir -p "$dir/db/journal" "$dir/db/timers"
    nohup knotd -c "$dir/knot.conf" </dev/null >>"$logfile" 2>&1 &
    echo $! >"$pidfile"
    dnsh_wait_dns "$address" "$port" "$pidfile" "knotd ($dir)" "$logfile"
}

# "host:port" or "host" (port 53) -> Unbound's "host@port".
dnsh_unbound_address() {
    case "$1" in
        *:*) echo "${1%:*}@${1##*:}" ;;
        *) echo "$1@53" ;;
    esac
}

# Unbound, the stack's recursive resolver, on 127.0.0.1@PORT only. Each ZONE
# ("name@address[:port][,address[:port]]...") is a stub zone asked at those authoritative servers
# (port 53 unless given); every other name goes to FORWARD (host:port: the sandbox's
# pebble-challtestsrv, which plays every customer's DNS). No DNSSEC validation, no cache worth
# the name (every lookup reaches the servers), runs as the invoking user. A running Unbound whose
# configuration changed is restarted.
dnsh_start_unbound() {
    local dir=$1 port=$2 pidfile=$3 logfile=$4 forward=$5; shift 5
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    local spec name addrs addr stubs=""
    for spec in "$@"; do
        name=${spec%%@*}
        addrs=${spec#*@}
        [ "$name" != "$spec" ] && [ -n "$addrs" ] || dnsh_die "dnsh_start_unbound: bad zone '$spec'"
        stubs+=$'\n'"stub-zone:"$'\n'"    name: \"${name%.}.\""
        for addr in ${addrs//,/ }; do
            stubs+=$'\n'"    stub-addr: $(dnsh_unbound_address "$addr")"
        done
        stubs+=$'\n'"    stub-prime: no"$'\n'"    stub-first: no"
    done
    # Cache nothing: a value just written must be seen at once, one just removed gone at once.
    # (Unbound still answers a zero-TTL record from its cache for the rest of the current second:
    # tests that remove a record wait until the resolver no longer shows it.)
    # DNSH_UNBOUND_CACHING=1: the opposite, every answer kept an hour (a resolver serving a stale
    # record, for the test that the authoritative precheck does not depend on it).
    local cache="    cache-max-ttl: 0"$'\n'"    cache-max-negative-ttl: 0"
    [ "${DNSH_UNBOUND_CACHING:-}" = 1 ] && cache="    cache-min-ttl: 3600"
    local config
    config=$(dnsh_render unbound.conf.in PORT="$port" DIR="$dir" LOGFILE="$logfile" CACHE="$cache" \
        STUBS="$stubs" FORWARD="$(dnsh_unbound_address "$forward")")
    if [ "$config" != "$(cat "$dir/unbound.conf" 2>/dev/null)" ]; then
        if dnsh_pid_alive "$pidfile"; then
            dnsh_log "restarting Unbound with its new configuration"
            dnsh_stop_pidfile "$pidfile"
        fi
        printf '%s\n' "$config" >"$dir/unbound.conf"
    fi
    dnsh_pid_alive "$pidfile" && return 0
    unbound-checkconf "$dir/unbound.conf" >>"$logfile" 2>&1 ||
        { tail -n 5 "$logfile" >&2; dnsh_die "bad Unbound configuration $dir/unbound.conf"; }
    nohup unbound -d -c "$dir/unbound.conf" </dev/null >>"$logfile" 2>&1 &
    echo $! >"$pidfile"
    dnsh_wait_dns 127.0.0.1 "$port" "$pidfile" unbound "$logfile"
}

# The issuance daemon; its JSON log lines go to the log file.
dnsh_start_scheduler() {
    local bin=$1 pidfile=$2 logfile=$3
    dnsh_pid_alive "$pidfile" && return 0
    nohup "$bin" </dev/null >>"$logfile" 2>&1 &
    echo $! >"$pidfile"
    sleep 0.2
    dnsh_pid_alive "$pidfile" || { tail -n 5 "$logfile" >&2; dnsh_die "dns-scheduler did not start"; }
}

# lighttpd with the project's lighttpd.conf (or CONF); the environment carries every setting.
# It runs at nice DNSH_LIGHTTPD_NICE (-5): the one process every request passes through is not
# queued behind the handlers and PostgreSQL it feeds (README "Benchmark"); each handler goes
# back to nice 0 when it starts (shared/core/process_priority.hpp). Where raising a priority is
# not permitted (not root), nice(1) says so in handlers.log and lighttpd runs at the caller's.
#   dnsh_start_lighttpd BIN_DIR RUN_DIR LOG_DIR [CONF]
dnsh_start_lighttpd() {
    local bin_dir=$1 run_dir=$2 log_dir=$3 conf=${4:-$DNSH_HOME/lighttpd.conf}
    local nice=${DNSH_LIGHTTPD_NICE:--5}
    dnsh_pid_alive "$run_dir/lighttpd.pid" && return 0
    [[ $nice =~ ^-?[0-9]+$ ]] && ((nice >= -20 && nice <= 19)) ||
        dnsh_die "DNSH_LIGHTTPD_NICE=$nice: expected a nice value from -20 to 19"
    mkdir -p "$run_dir" "$log_dir"
    # The read-only handlers: as many as dnsh-admin says (the settings, else where DATABASE_URL
    # points; README "Configuration").
    local read_procs
    read_procs=$("${DNSH_ADMIN_BIN:-$(dirname "$bin_dir")/tools/dnsh-admin}" handler-procs) ||
        dnsh_die "dnsh-admin handler-procs failed"
    # Foreground (-D) in the background: the handlers inherit its stderr, so their JSON log
    # lines land in handlers.log (under systemd: the journal).
    DNSH_HOME=$DNSH_HOME DNSH_BIN_DIR=$bin_dir DNSH_RUN_DIR=$run_dir DNSH_LOG_DIR=$log_dir \
        DNSH_BIND=$DNSH_BIND DNSH_PORT=$DNSH_PORT DNSH_HANDLER_PROCS=${DNSH_HANDLER_PROCS:-4} \
        DNSH_READ_HANDLER_PROCS=$read_procs \
        DNSH_ISSUE_HANDLER_PROCS=${DNSH_ISSUE_HANDLER_PROCS:-${DNSH_HANDLER_PROCS:-4}} \
        nohup nice -n "$nice" lighttpd -D -f "$conf" \
        </dev/null >>"$log_dir/handlers.log" 2>&1 &
    echo $! >"$run_dir/lighttpd.pid"
    local host=$DNSH_BIND
    [ "$host" = 0.0.0.0 ] && host=127.0.0.1
    dnsh_wait_tcp "$host" "$DNSH_PORT" lighttpd
}

# The sandbox's TLS terminator: HAProxy on TLS_ADDR serving every certificate dnsh-edge-sync keeps
# in VAR/edge (a self-signed default for names it does not know), updated through HAProxy's admin
# socket with no reload. The agent's first pass writes the crt-list HAProxy starts from.
#   dnsh_start_edge EDGE_SYNC_BIN VAR_DIR RUN_DIR LOG_DIR TLS_ADDR
dnsh_start_edge() {
    local bin=$1 var=$2 run=$3 log=$4 tls_addr=$5
    local edge=$var/edge dir=$var/haproxy
    mkdir -p "$dir" "$run" "$log"
    if [ ! -f "$dir/default.pem" ]; then
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
            -subj /CN=sandbox-default.invalid -keyout "$dir/default.key" -out "$dir/default.crt" \
            2>/dev/null || dnsh_die "cannot make HAProxy's default certificate"
        cat "$dir/default.crt" "$dir/default.key" >"$dir/default.pem"
        chmod 0600 "$dir/default.pem" "$dir/default.key"
    fi
    if ! dnsh_pid_alive "$run/haproxy.pid"; then
        dnsh_pid_alive "$run/edge-sync.pid" || EDGE_DIR=$edge EDGE_HAPROXY_SOCKET= "$bin" --once \
            >>"$log/edge-sync.log" 2>&1 ||
            dnsh_log "note: the edge agent's first pass left something out (see $log/edge-sync.log)"
        sed -e "s|@TLS_ADDR@|$tls_addr|g" -e "s|@EDGE_DIR@|$edge|g" \
            -e "s|@SOCKET@|$dir/admin.sock|g" -e "s|@DEFAULT_PEM@|$dir/default.pem|g" \
            "$DNSH_HOME/deploy/edge/haproxy.cfg.in" >"$dir/haproxy.cfg"
        haproxy -D -p "$run/haproxy.pid" -f "$dir/haproxy.cfg" >>"$log/haproxy.log" 2>&1 ||
            { tail -n 5 "$log/haproxy.log" >&2; dnsh_die "HAProxy did not start"; }
        dnsh_wait_tcp "${tls_addr%:*}" "${tls_addr##*:}" haproxy
    fi
    if ! dnsh_pid_alive "$run/edge-sync.pid"; then
        EDGE_DIR=$edge EDGE_HAPROXY_SOCKET=$dir/admin.sock nohup "$bin" </dev/null \
            >>"$log/edge-sync.log" 2>&1 &
        echo $! >"$run/edge-sync.pid"
        sleep 0.2
        dnsh_pid_alive "$run/edge-sync.pid" ||
            { tail -n 5 "$log/edge-sync.log" >&2; dnsh_die "dnsh-edge-sync did not start"; }
    fi
}

# Stops a process by pid file: its children first (lighttpd's FastCGI handlers), then itself.
dnsh_stop_pidfile() {
    local pidfile=$1 pid
    [ -f "$pidfile" ] || return 0
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
}

# Throw-away data: durability is not needed, speed is.
DNSH_TEST_POSTGRES_OPTIONS=(-c fsync=off -c synchronous_commit=off -c full_page_writes=off
                            -c max_connections=300)

# The test stack's own DNS servers under TEST_DIR, beside challtestsrv (DNS_RESOLVER): Knots for
# nxdomain.test, the delegation zone and the customer zones, and two Unbounds; exports where each
# one is (DNSH_TEST_*, DNS_UPDATE_*, DELEGATION_ZONE).
dnsh_start_test_dns() {
    local test_dir=$1
    local run=$test_dir/run log=$test_dir/log
    # One TSIG key for every Knot of the stack.
    dnsh_ensure_tsig_key "$test_dir/tsig.key" dnsh-update.
    # Knot, authoritative for the zone nxdomain.test (only its apex records): the real source of
    # NXDOMAIN answers, which pebble-challtestsrv cannot give.
    local knot_port
    knot_port=$(dnsh_free_port)
    dnsh_start_knot_zones "$test_dir/knot" "127.0.0.1@$knot_port" "$run/knot.pid" "$log/knot.log" \
        "$DNSH_TSIG_NAME" "$DNSH_TSIG_SECRET" nxdomain.test:127.0.0.1
    export DNSH_TEST_AUTHORITATIVE_DNS=127.0.0.1:$knot_port

    # Delegated validation: a Knot for the delegation zone; two Knots, each an independent primary
    # of one customer zone (NS ns1 -> the first, ns2 -> the second: an update sent to one is not on
    # the other); Unbound asking them for their zones and challtestsrv for every other name.
    local delegation_address customer_ns1 customer_ns2 unbound_port
    delegation_address=$(dnsh_free_loopback_address)
    dnsh_start_knot_zones "$test_dir/knot-delegation" "$delegation_address" "$run/knot-delegation.pid" \
        "$log/knot-delegation.log" "$DNSH_TSIG_NAME" "$DNSH_TSIG_SECRET" acme-delegation.test
    customer_ns1=$(dnsh_free_loopback_address)
    while customer_ns2=$(dnsh_free_loopback_address); [ "$customer_ns2" = "$customer_ns1" ]; do :; done
    # Two zones whose nameservers the tests play themselves (tests/support/fake_nameservers):
    # Knot describes them (SOA, NS, the nameservers' addresses) beside customer-zone.test, and
    # their nameservers' addresses are free loopback addresses where nothing listens until a test
    # binds port 53 there. silent-zone.test: 10 nameservers of 5 addresses each, more than the
    # precheck asks, for a zone that never answers; played-zone.test: one nameserver;
    # partly-reachable.test: one nameserver at the played address and at 255.255.255.255, the
    # address every Linux host refuses to send to at once (EACCES without SO_BROADCAST), as a
    # host without IPv6 refuses a nameserver's IPv6 address (ENETUNREACH); dangling-ns.test: one
    # nameserver at the played address and one whose name has no address at all.
    local silent_spec=silent-zone.test silent_all="" played_address group address
    for _ in $(seq 10); do
        group=""
        for _ in $(seq 5); do
            while address=$(dnsh_free_loopback_address);
                [[ ",$silent_all,$customer_ns1,$customer_ns2," == *",$address,"* ]]; do :; done
            silent_all+=${silent_all:+,}$address
            group+=${group:+,}$address
        done
        silent_spec+=:$group
    done
    while played_address=$(dnsh_free_loopback_address);
        [[ ",$silent_all,$customer_ns1,$customer_ns2," == *",$played_address,"* ]]; do :; done
    dnsh_start_knot_zones "$test_dir/knot-customer-1" "$customer_ns1" "$run/knot-customer-1.pid" \
        "$log/knot-customer-1.log" "$DNSH_TSIG_NAME" "$DNSH_TSIG_SECRET" \
        "customer-zone.test:$customer_ns1:$customer_ns2" "$silent_spec" \
        "played-zone.test:$played_address" "partly-reachable.test:$played_address,255.255.255.255" \
        "dangling-ns.test:$played_address:none"
    dnsh_start_knot_zones "$test_dir/knot-customer-2" "$customer_ns2" "$run/knot-customer-2.pid" \
        "$log/knot-customer-2.log" "$DNSH_TSIG_NAME" "$DNSH_TSIG_SECRET" \
        "customer-zone.test:$customer_ns1:$customer_ns2"
    unbound_port=$(dnsh_free_port)
    dnsh_start_unbound "$test_dir/unbound" "$unbound_port" "$run/unbound.pid" "$log/unbound.log" \
        "$DNS_RESOLVER" "acme-delegation.test@$delegation_address" \
        "customer-zone.test@$customer_ns1,$customer_ns2" "nxdomain.test@127.0.0.1:$knot_port" \
        "silent-zone.test@$customer_ns1" "played-zone.test@$customer_ns1" \
        "partly-reachable.test@$customer_ns1" "dangling-ns.test@$customer_ns1"
    # A resolver that keeps every answer an hour: the stale cache an authoritative precheck ignores.
    local caching_port
    caching_port=$(dnsh_free_port)
    DNSH_UNBOUND_CACHING=1 dnsh_start_unbound "$test_dir/unbound-caching" "$caching_port" \
        "$run/unbound-caching.pid" "$log/unbound-caching.log" "$DNS_RESOLVER" \
        "customer-zone.test@$customer_ns1,$customer_ns2"
    export DNSH_TEST_CACHING_RESOLVER=127.0.0.1:$caching_port
    export DELEGATION_ZONE=acme-delegation.test
    # challtestsrv plays every customer's DNS without NS records of its own: the tests that are
    # about the authoritative precheck ask for it (customer-zone.test, the delegation zone).
    export DNS_PRECHECK=resolver
    export DNS_UPDATE_SERVER=$delegation_address:53 DNS_UPDATE_TSIG=$DNSH_TSIG
    export DNSH_TEST_UNBOUND=127.0.0.1:$unbound_port
    export DNSH_TEST_CUSTOMER_ZONE=customer-zone.test
    export DNSH_TEST_CUSTOMER_NS1=$customer_ns1:53 DNSH_TEST_CUSTOMER_NS2=$customer_ns2:53
    export DNSH_TEST_SILENT_ZONE=silent-zone.test DNSH_TEST_SILENT_NS_ADDRESSES=$silent_all
    export DNSH_TEST_PLAYED_ZONE=played-zone.test DNSH_TEST_PLAYED_NS_ADDRESS=$played_address
    export DNSH_TEST_PARTLY_REACHABLE_ZONE=partly-reachable.test
    export DNSH_TEST_DANGLING_NS_ZONE=dangling-ns.test
    export DNSH_TEST_UNSENDABLE_ADDRESS=255.255.255.255
}

# The throw-away stack of deploy/test and the benchmarks: every service on a free loopback port,
# data under $test_dir (in /tmp, owned by postgres: CI may clone where postgres cannot enter).
# Exports what the tests read: BASE_URL, DATABASE_URL, DNS_RESOLVER, SANDBOX_DNS_API,
# ACME_DIRECTORY(_NONCEREJECT), ACME_CA_BUNDLE, PEBBLE_MANAGEMENT, KEY_ENCRYPTION_KEY_FILE, ...;
# for delegated validation DELEGATION_ZONE, DNS_UPDATE_SERVER, DNS_UPDATE_TSIG, DNSH_TEST_UNBOUND
# (the resolver that follows CNAMEs into Knot), DNSH_TEST_CUSTOMER_ZONE/_NS1/_NS2,
# DNSH_TEST_SILENT_ZONE/_NS_ADDRESSES and DNSH_TEST_PLAYED_ZONE/_NS_ADDRESS (zones whose
# nameservers a test plays on loopback addresses), DNSH_TEST_PARTLY_REACHABLE_ZONE and
# DNSH_TEST_UNSENDABLE_ADDRESS (the played nameserver, plus an address no packet can go to) and
# ACME_DIRECTORY_UNBOUND/PEBBLE_MANAGEMENT_UNBOUND (a CA resolving through that Unbound).
# DNS_RESOLVER and the other CAs stay on challtestsrv.
dnsh_start_test_stack() {
    local build=$1 test_dir=$2
    local run=$test_dir/run log=$test_dir/log
    chmod 755 "$test_dir"
    mkdir -p "$run" "$log"
    dnsh_start_postgres "$test_dir/postgres" "$run/postgres.pid" "${DNSH_TEST_POSTGRES_OPTIONS[@]}"
    export DATABASE_URL
    "$build/tools/dnsh-admin" migrate >/dev/null

    local dns_port api_port
    dns_port=$(dnsh_free_port)
    api_port=$(dnsh_free_port)
    dnsh_start_challtestsrv "$dns_port" "$api_port" "$run/challtestsrv.pid" "$log/challtestsrv.log"
    export DNS_RESOLVER=127.0.0.1:$dns_port
    export SANDBOX_DNS_API=http://127.0.0.1:$api_port
    # For a test that runs a challtestsrv of its own.
    export DNSH_CHALLTESTSRV
    export DNS_TIMEOUT=${DNS_TIMEOUT:-2s} LOG_LEVEL=${LOG_LEVEL:-info}
    # A failed domain's retry waits 2 s, not 5 minutes (tests/e2e/issue_claims_test.cpp).
    export ISSUE_RETRY_BACKOFF=${ISSUE_RETRY_BACKOFF:-2s}

    dnsh_start_test_dns "$test_dir"

    # Sandbox CAs: a plain one, one rejecting half of all nonces (badNonce tests), and one for
    # renewals. Pebble reuses valid authorizations half of the time unless told otherwise: the
    # first two never do, so every order of theirs has values to publish.
    export PEBBLE_VA_NOSLEEP=${PEBBLE_VA_NOSLEEP:-1}
    PEBBLE_AUTHZREUSE=0 PEBBLE_WFE_NONCEREJECT=50 dnsh_start_pebble "$test_dir/pebble-nonce" "$(dnsh_free_port)" \
        "$(dnsh_free_port)" "$DNS_RESOLVER" "$run/pebble-nonce.pid" "$log/pebble-nonce.log" \
        "$test_dir/pebble-tls"
    export ACME_DIRECTORY_NONCEREJECT=$ACME_DIRECTORY
    # Renewal tests: a CA issuing 40-second certificates that reuses valid authorizations, as
    # Let's Encrypt does (a renewal with nothing to publish).
    PEBBLE_AUTHZREUSE=100 DNSH_CERT_VALIDITY_SECONDS=40 dnsh_start_pebble "$test_dir/pebble-reuse" \
        "$(dnsh_free_port)" "$(dnsh_free_port)" "$DNS_RESOLVER" "$run/pebble-reuse.pid" \
        "$log/pebble-reuse.log" "$test_dir/pebble-tls"
    export ACME_DIRECTORY_REUSE=$ACME_DIRECTORY PEBBLE_MANAGEMENT_REUSE=$PEBBLE_MANAGEMENT
    # Delegated validation end to end: a CA asking Unbound, so it follows a customer's CNAME
    # (challtestsrv) into the delegation zone (Knot). The other CAs ask challtestsrv directly:
    # Unbound answers a zero-TTL record it just saw for the rest of that second, and the tests
    # that replace records and have them validated at once must not see that.
    PEBBLE_AUTHZREUSE=0 dnsh_start_pebble "$test_dir/pebble-unbound" "$(dnsh_free_port)" \
        "$(dnsh_free_port)" "$DNSH_TEST_UNBOUND" "$run/pebble-unbound.pid" \
        "$log/pebble-unbound.log" "$test_dir/pebble-tls"
    export ACME_DIRECTORY_UNBOUND=$ACME_DIRECTORY PEBBLE_MANAGEMENT_UNBOUND=$PEBBLE_MANAGEMENT
    # Several CAs (README "Several CAs"): a second CA that requires External Account Binding and
    # that CAA names by another issuer domain, the fallback of the multi-CA tests.
    # (Not ACME_EAB_*: the one-CA form would send that key to every other CA of the tests.)
    export DNSH_TEST_EAB_KID=dnsh-test-kid
    DNSH_TEST_EAB_HMAC_KEY=$(openssl rand 32 | basenc --base64url | tr -d '=\n')
    export DNSH_TEST_EAB_HMAC_KEY ACME_CAA_IDENTITY_EAB=fallback.pebble.test
    DNSH_PEBBLE_EAB_KID=$DNSH_TEST_EAB_KID DNSH_PEBBLE_EAB_KEY=$DNSH_TEST_EAB_HMAC_KEY \
        DNSH_PEBBLE_CAA_IDENTITY=$ACME_CAA_IDENTITY_EAB PEBBLE_AUTHZREUSE=0 \
        dnsh_start_pebble "$test_dir/pebble-eab" "$(dnsh_free_port)" "$(dnsh_free_port)" \
        "$DNS_RESOLVER" "$run/pebble-eab.pid" "$log/pebble-eab.log" "$test_dir/pebble-tls"
    export ACME_DIRECTORY_EAB=$ACME_DIRECTORY PEBBLE_MANAGEMENT_EAB=$PEBBLE_MANAGEMENT
    PEBBLE_AUTHZREUSE=0 dnsh_start_pebble "$test_dir/pebble" "$(dnsh_free_port)" "$(dnsh_free_port)" \
        "$DNS_RESOLVER" "$run/pebble.pid" "$log/pebble.log" "$test_dir/pebble-tls"
    export ACME_DIRECTORY ACME_CA_BUNDLE PEBBLE_MANAGEMENT
    # Every order names its profile: Pebble gives one that names none a random one.
    export ACME_PROFILE=default
    export KEY_ENCRYPTION_KEY_FILE=$test_dir/kek
    dnsh_ensure_kek "$KEY_ENCRYPTION_KEY_FILE"
    export DNSH_SCHEDULER_BIN=$build/scheduler/dns-scheduler DNSH_ADMIN_BIN=$build/tools/dnsh-admin
    export DNSH_EDGE_SYNC_BIN=$build/tools/dnsh-edge-sync

    DNSH_BIND=127.0.0.1
    DNSH_PORT=$(dnsh_free_port)
    dnsh_start_lighttpd "$build/handlers" "$run" "$log"
    export BASE_URL=http://127.0.0.1:$DNSH_PORT
    export DNSH_HANDLER_DIR=$build/handlers DNSH_TEST_LOG_DIR=$log DNSH_TEST_RUN_DIR=$run
    export DNSH_TEST_DIR=$test_dir DNSH_SERVICE_CONTROL=$DNSH_HOME/deploy/lib/service-control
}

# Stops what dnsh_start_test_stack started; with show_logs=1 prints the services' last lines.
# The names of the tests ctest saw fail in this run, each with the last lines of its output
# (ctest keeps them in LastTest.log).
dnsh_print_failed_tests() {
    local dir=$1
    [ -s "$dir/LastTestsFailed.log" ] || return 0
    echo "=== failed tests" >&2
    while IFS=: read -r number name; do
        echo "--- $number: $name" >&2
        awk -v header="^[0-9]+/[0-9]+ Testing: " -v name="$name" '
            $0 ~ header { sub(header, ""); inside = ($0 == name); next }
            inside && /^<end of output>/ { inside = 0 }
            inside { print }' "$dir/LastTest.log" | tail -n 40 >&2
    done < "$dir/LastTestsFailed.log"
}

# After a failed run: where each of the test stack's Pebbles is stuck. Go prints every goroutine
# on SIGQUIT (and exits); this names the Pebble frames of those waiting for a lock, counted, so a
# CA that stopped answering shows which of its locks it waits on (README, "The 60-second CA stalls").
dnsh_report_pebble_locks() {
    local run=$1 log=$2 name pid
    for name in pebble pebble-nonce pebble-reuse pebble-unbound pebble-eab; do
        pid=$(cat "$run/$name.pid" 2>/dev/null) || continue
        kill -0 "$pid" 2>/dev/null || continue
        kill -QUIT "$pid" 2>/dev/null
        for _ in $(seq 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        echo "--- $name: goroutines waiting for a lock when the run ended (SIGQUIT dump in $log/$name.log) ---" >&2
        awk '/^goroutine .*\[(semacquire|sync\.RWMutex|sync\.Mutex)/ { waiting = 1; next }
             /^goroutine / { waiting = 0 }
             waiting && /pebble\/v2\/(wfe|va|db|core|ca)\./ { getline at; sub(/ \+0x.*/, "", at);
                 sub(/^.*pebble\/v2\//, "", at); print at; waiting = 0 }' "$log/$name.log" |
            sort | uniq -c | sort -rn | head -n 8 >&2
    done
}

dnsh_stop_test_stack() {
    local test_dir=$1 show_logs=${2:-0}
    local run=$test_dir/run
    [ "$show_logs" = 1 ] && dnsh_report_pebble_locks "$run" "$test_dir/log"
    for service in lighttpd pebble pebble-nonce pebble-reuse pebble-unbound pebble-eab unbound unbound-caching \
        challtestsrv knot \
        knot-delegation knot-customer-1 knot-customer-2; do
        dnsh_stop_pidfile "$run/$service.pid"
    done
    # Schedulers, edge agents and TLS servers the tests started and could not stop (a crashed
    # test) carry the stack's env.
    for pid in $(pgrep -x dns-scheduler; pgrep -x dnsh-edge-sync; pgrep -x haproxy; pgrep -x nginx); do
        grep -qz "KEY_ENCRYPTION_KEY_FILE=$test_dir/kek" "/proc/$pid/environ" 2>/dev/null &&
            kill -9 "$pid" 2>/dev/null
    done
    dnsh_stop_postgres "$test_dir/postgres"
    if [ "$show_logs" = 1 ]; then
        echo "--- last lines of the service logs ($test_dir/log) ---" >&2
        for f in "$test_dir"/log/*.log "$test_dir/postgres/postgres.log"; do
            [ -f "$f" ] && { echo "== $f" >&2; tail -n 30 "$f" >&2; }
        done
    fi
    rm -rf "$test_dir"
}
