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

run_specs() { # run_specs NAME BINARY
    echo "== busted specs against $2"
    LUNASERVE_BIN=$2 timeout 600 lua5.4 /usr/bin/busted -o plainTerminal spec > "$log/$1.txt" 2>&1 || status=1
    cat "$log/$1.txt"
    line=$(grep -E '[0-9]+ successes? / [0-9]+ failures? / [0-9]+ errors?' "$log/$1.txt" | tail -1)
    if [ -z "$line" ]; then
        echo "busted did not finish ($1)"; status=1; failed=$((failed + 1)); return
    fi
    ok=$(echo "$line" | sed 's/^[^0-9]*\([0-9]*\) success.*/\1/')
    bad=$(echo "$line" | sed 's/.* \([0-9]*\) failures\{0,1\} \/ \([0-9]*\) errors\{0,1\}.*/\1 \2/')
    passed=$((passed + ok)); failed=$((failed + ${bad% *} + ${bad#* }))
}
run_specs release "$build/lunaserve"
if [ -n "$asan" ]; then
    # Leaks at exit make the server's exit status non-zero, which the specs assert on.
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1
    run_specs asan "$asan/lunaserve"
fi
echo "make test: $passed passed, $failed failed"
[ "$status" = 0 ] && [ "$failed" = 0 ]
