# The Go programs of the benchmarks (tests/bench/acmez, tests/bench/pebble_deadlock/stress) are
# built with the machine's Go (GOTOOLCHAIN=local: no toolchain fetched behind one's back). Their
# go.mod files say `go 1.26.0` because the versions they pin require it (acmez v3.1.7 and
# golang.org/x/crypto v0.57.0 and v0.59.0 each say `go 1.26.0`), while deploy/install-deps checks
# only for the 1.25 Pebble needs: this says so before a build fails on it. Sourced; needs
# dnsh_die (deploy/lib/stack.sh).

# Dies unless the machine's Go is at least the `go` line of the go.mod in directory $1.
dnsh_require_go_of_module() {
    local dir=$1 needed have
    needed=$(sed -n 's/^go \([0-9][0-9.]*\)[[:space:]]*$/\1/p' "$dir/go.mod")
    [ -n "$needed" ] || dnsh_die "no go line in $dir/go.mod"
    command -v go >/dev/null ||
        dnsh_die "Go $needed or newer is needed to build $dir (https://go.dev/dl/); 'go' is not on the PATH"
    have=$(GOTOOLCHAIN=local go env GOVERSION)
    have=${have#go}
    [ "$(printf '%s\n%s\n' "$needed" "$have" | sort -V | head -n 1)" = "$needed" ] ||
        dnsh_die "Go $needed or newer is needed to build $dir (its go.mod: the versions it pins require it); 'go' is $have (deploy/install-deps asks only for the 1.25 Pebble needs)"
}
