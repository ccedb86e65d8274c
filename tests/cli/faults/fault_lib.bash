# SPDX-License-Identifier: Apache-2.0
# Fault injection with strace for tests/cli/faults/*.sh (sourced after ../lib.sh; not a test).
#   count_calls SYSCALL CMD...   how many times CMD (and its threads) makes SYSCALL
#   spread COUNT [MAX]           up to MAX (default 6) call numbers spread over 1..COUNT
#   inject SYSCALL SPEC CMD...   runs CMD with strace -e inject=SYSCALL:SPEC (error=EIO:when=3,
#                                signal=SIGKILL:when=5); RC, stdout and stderr as run() keeps them
#   expect_clean_failure WHAT    after an injected error: exit 74 with an error line, or 0 when
#                                the injection did not hit; never 70, a signal or a sanitizer report
#   short_writes LIMIT_KIB CMD...  runs CMD with RLIMIT_FSIZE (ulimit -f, SIGXFSZ ignored): the
#                                write that crosses the limit is short, the next fails with EFBIG
command -v strace >/dev/null || skip "strace missing"
strace -f -o /dev/null true 2>/dev/null || skip "ptrace is not allowed here"

# LeakSanitizer cannot run under ptrace (the ASan build); leaks are checked by every other test.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"

# The system calls through which our tools put bytes on disk or make them durable.
WRITE_CALLS=(write pwrite64 pwritev writev fsync fdatasync)
# In the ASan build the sanitizer's runtime makes write(2) calls of its own (probing memory through
# a pipe) and aborts when one fails: write is injected in the normal build only.
if grep -q libasan <<<"$(ldd "$ACQUIRE" 2>/dev/null)"; then
  WRITE_CALLS=(pwrite64 pwritev writev fsync fdatasync)
fi

count_calls() {
  local syscall=$1
  shift
  strace -f -qq -o "$WORK/count.trace" -e trace="$syscall" "$@" >/dev/null 2>&1 || true
  grep -c "$syscall(" "$WORK/count.trace" || true
}

spread() {
  local count=$1 max=${2:-6}
  [ "$count" -gt 0 ] || return 0
  {
    echo 1
    [ "$count" -ge 2 ] && echo 2
    local i
    for ((i = 1; i < max - 1; ++i)); do echo $((count * i / (max - 1))); done
    echo "$count"
  } | awk '$1 >= 1' | sort -n | uniq | head -n "$max"
}

inject() {
  local syscall=$1 spec=$2
  shift 2
  set +e
  # (The subshell keeps bash's "Killed" notice out of the test's output.)
  (strace -f -qq -o /dev/null -e trace="$syscall" -e inject="$syscall:$spec" "$@" \
    >"$WORK/stdout" 2>"$WORK/stderr"; exit $?) 2>/dev/null
  RC=$?
  set -e
  if grep -qE 'internal error|runtime error:|AddressSanitizer|LeakSanitizer' "$WORK/stderr"; then
    fail "internal error or sanitizer report with $syscall:$spec from: $*"
  fi
}

# note LINE: a line for the test's log (what was injected and what happened).
note() {
  echo "$*"
}

expect_clean_failure() {
  case $RC in
    0) ;;
    74) grep -qE "^custody-[a-z]+: error: .+" "$WORK/stderr" || fail "$1: exit 74 without an error line" ;;
    *) fail "$1: exit $RC (expected 74 for an I/O error)" ;;
  esac
}

short_writes() {
  local limit=$1
  shift
  set +e
  (trap '' XFSZ; ulimit -f "$limit"; exec "$@") >"$WORK/stdout" 2>"$WORK/stderr"
  RC=$?
  set -e
  if grep -qE 'internal error|runtime error:|AddressSanitizer|LeakSanitizer' "$WORK/stderr"; then
    fail "internal error or sanitizer report with a file size limit of $limit KiB from: $*"
  fi
}
