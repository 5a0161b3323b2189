#!/bin/sh
# run.sh BUILD [ASAN_BUILD [FUZZ_BUILD]]: the C unit tests (ctest, in both builds), a replay of the fuzz
# corpus, then every busted spec against BUILD/lunaserve and ASAN_BUILD/lunaserve; ends with
# one summary line.
build=${1:-build}
asan=${2:-}
fuzz=${3:-}
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT
status=0

echo "== C unit tests (ctest)"
ctest --test-dir "$build" --output-on-failure > "$log/ctest.txt" 2>&1 || status=1
cat "$log/ctest.txt"
c_pass=$(sed -n 's/.* tests passed, \([0-9]*\) tests failed out of \([0-9]*\).*/\2 \1/p' "$log/ctest.txt")
c_total=${c_pass% *}; c_fail=${c_pass#* }
passed=$(( ${c_total:-0} - ${c_fail:-0} )); failed=${c_fail:-0}
if [ -n "$asan" ]; then
    echo "== C unit tests under ASan+UBSan (ctest)"
    ctest --test-dir "$asan" --output-on-failure > "$log/ctest-asan.txt" 2>&1 || status=1
    cat "$log/ctest-asan.txt"
    a_pass=$(sed -n 's/.* tests passed, \([0-9]*\) tests failed out of \([0-9]*\).*/\2 \1/p' "$log/ctest-asan.txt")
    a_total=${a_pass% *}; a_fail=${a_pass#* }
    [ -n "$a_pass" ] || { a_total=1; a_fail=1; status=1; }
    passed=$((passed + a_total - a_fail)); failed=$((failed + a_fail))
fi

if [ -n "$fuzz" ]; then
    echo "== fuzz corpus replay (core/fuzz/corpus)"
    n=$(ls core/fuzz/corpus | wc -l)
    if "$fuzz/fuzz_conn" core/fuzz/corpus/* > "$log/fuzz.txt" 2>&1; then
        echo "replayed $n inputs: ok"; passed=$((passed + n))
    else
        tail -30 "$log/fuzz.txt"; echo "fuzz replay failed"; status=1; failed=$((failed + 1))
    fi
fi

# LUNASERVE_SPEC_PARALLEL=1: the two builds' busted runs go at the same time (each with its own
# slice of ports for services, see free_port in spec/support/server.lua); their output is
# printed one after the other once both are done.
parallel=${LUNASERVE_SPEC_PARALLEL:-0}
[ -n "$asan" ] || parallel=0
shards=1; [ "$parallel" = 1 ] && shards=2

spec_run() { # spec_run NAME BINARY SHARD: busted over spec/ into $log/NAME.txt
    LUNASERVE_BIN=$2 LUNASERVE_SPEC_SHARD=$3 LUNASERVE_SPEC_SHARDS=$shards \
        timeout 600 lua5.4 /usr/bin/busted -o plainTerminal spec > "$log/$1.txt" 2>&1
    echo $? > "$log/$1.rc"
}
spec_report() { # spec_report NAME BINARY
    echo "== busted specs against $2"
    [ "$(cat "$log/$1.rc" 2>/dev/null)" = 0 ] || status=1
    cat "$log/$1.txt"
    line=$(grep -E '[0-9]+ successes? / [0-9]+ failures? / [0-9]+ errors?' "$log/$1.txt" | tail -1)
    if [ -z "$line" ]; then
        echo "busted did not finish ($1)"; status=1; failed=$((failed + 1)); return
    fi
    ok=$(echo "$line" | sed 's/^[^0-9]*\([0-9]*\) success.*/\1/')
    bad=$(echo "$line" | sed 's/.* \([0-9]*\) failures\{0,1\} \/ \([0-9]*\) errors\{0,1\}.*/\1 \2/')
    passed=$((passed + ok)); failed=$((failed + ${bad% *} + ${bad#* }))
}
# (ASan: leaks at exit make the server's exit status non-zero, which the specs assert on.)
if [ "$parallel" = 1 ]; then
    spec_run release "$build/lunaserve" 0 &
    rel=$!
    ( export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1
      spec_run asan "$asan/lunaserve" 1 ) &
    as=$!
    wait $rel; wait $as
    spec_report release "$build/lunaserve"
    spec_report asan "$asan/lunaserve"
else
    spec_run release "$build/lunaserve" 0
    spec_report release "$build/lunaserve"
    if [ -n "$asan" ]; then
        export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1
        spec_run asan "$asan/lunaserve" 0
        spec_report asan "$asan/lunaserve"
    fi
fi
echo "make test: $passed passed, $failed failed"
[ "$status" = 0 ] && [ "$failed" = 0 ]
