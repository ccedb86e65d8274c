# SPDX-License-Identifier: Apache-2.0
# A loopback TEST-ONLY PKI with revocation services for the CLI tests of CAdES B-LT signatures
# and revocation checking: the CA and signers of samples/keys/make-test-revocation-pki.sh, an
# OCSP responder (stock "openssl ocsp") and a CRL distribution point (python3 http.server).
# Source it after tests/cli/lib.sh (it uses fail, skip and cleanup_hooks), then:
#   start_revocation_pki          makes ./pki, starts both services; exports PKI (the absolute
#                                 path of ./pki), OCSP_PORT, CRL_PORT, OCSP_URL, CRL_URL
#   revoke_signer NAME [TIME [REASON]]
#                                 revokes pki/NAME.pem (at TIME, YYYYMMDDHHMMSSZ, 1950 to 2049,
#                                 may be in the past; default now; REASON default keyCompromise),
#                                 publishes a new CRL and restarts the OCSP responder
#   stop_ocsp, start_ocsp         take the OCSP responder down and bring it back (same port)
#   stop_crl_server, start_crl_server
#                                 the same for the CRL distribution point
#   ocsp_status NAME              good, revoked or unknown: what stock openssl ocsp says of
#                                 pki/NAME.pem (fails when the responder does not answer)
#   ocsp_query NAME [OPTION...]   the whole output (stdout and stderr) of that openssl ocsp query
# Logs: pki/ocsp.log, pki/crl-server.log. Signer names: good, revoked-later, revoked-early,
# unknown, ocsp-only, crl-only (samples/keys/make-test-revocation-pki.sh describes them).
#
# Two bugs of "openssl ocsp -port" in OpenSSL 3.0 shape this file:
# - A client that connects and closes without sending a request leaves the responder spinning on
#   the dead connection at 100% CPU, never serving anyone again (openssl/openssl#23934, #31129).
#   So readiness is checked with real OCSP queries, never with a bare TCP connect; a test whose
#   client may give up before sending must expect a wedged responder (stop_ocsp; start_ocsp).
# - -multi (which would re-read index.txt by itself) shares that bug in every child, and its
#   parent ignores SIGTERM while children live. So the responder runs as one process, which reads
#   index.txt only at start: revoke_signer restarts it.
# Being one process, it serves one client at a time: a request body whose DER length promises
# more bytes than were sent holds it until that client gives up. Malformed requests that end do
# not stop it (-ignore_err). It answers POST and the GET form of RFC 6960 appendix A.1.
# The responder listens on all addresses (-port takes no host in 3.0); the CRL server on
# 127.0.0.1 only.

# Runs a command whose success chatter would clutter the test log; shows it only on failure.
_rpki_quietly() {
  local output
  if ! output=$("$@" 2>&1); then
    printf '%s\n' "$output" >&2
    return 1
  fi
}

# _rpki_running PIDFILE: the process named in PIDFILE is alive, and is ours (its command line
# names $PKI: a pid reused by an unrelated process is never touched).
_rpki_running() {
  local pid state
  [ -s "$1" ] || return 1
  pid=$(cat "$1")
  [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' '\n' <"/proc/$pid/cmdline" | grep -qF -- "$PKI" || return 1
  # A zombie still answers kill -0 but has closed its sockets already.
  state=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | cut -c1)
  [ -n "$state" ] && [ "$state" != Z ]
}

# _rpki_stop PIDFILE: ends that process (TERM, KILL after 5 s) and waits until it is gone, so
# that its port is free when this returns. Never fails: it also runs from the EXIT trap.
_rpki_stop() {
  local pidfile=$1 pid
  if _rpki_running "$pidfile"; then
    pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do _rpki_running "$pidfile" || break; sleep 0.1; done
    if _rpki_running "$pidfile"; then
      kill -KILL "$pid" 2>/dev/null || true
      for _ in $(seq 50); do _rpki_running "$pidfile" || break; sleep 0.1; done
    fi
  fi
  rm -f -- "$pidfile"
  return 0
}

# _rpki_launch PIDFILE LOG PROBE COMMAND...: starts COMMAND in the background and waits until
# PROBE succeeds. If COMMAND dies first, most likely because its port is still held (a previous
# instance not quite gone, or sockets of its clients in TIME_WAIT when SO_REUSEADDR is not
# enough), it is started again, for up to about 10 s.
_rpki_launch() {
  local pidfile=$1 log=$2 probe=$3
  shift 3
  for _ in $(seq 20); do
    # No inherited stdin/stdout/stderr: ctest would wait for the server to close the test's pipes.
    "$@" </dev/null >>"$log" 2>&1 &
    echo "$!" >"$pidfile"
    # Out of the job table: bash then prints no "Terminated" notice when it is stopped.
    disown "$!"
    for _ in $(seq 50); do
      if "$probe"; then return 0; fi
      _rpki_running "$pidfile" || break
      sleep 0.1
    done
    if _rpki_running "$pidfile"; then
      _rpki_stop "$pidfile"  # alive for 5 s without ever answering: give up
      return 1
    fi
    sleep 0.5
  done
  rm -f -- "$pidfile"
  return 1
}

# ocsp_query NAME [OPTION...]: the stock OCSP query for pki/NAME.pem, all output on stdout.
# -no_proxy: an http_proxy of the environment must not take loopback queries elsewhere.
ocsp_query() {
  local name=${1:?usage: ocsp_query NAME [OPTION...]}
  shift
  openssl ocsp -issuer "$PKI/ca.pem" -cert "$PKI/$name.pem" -url "$OCSP_URL" \
    -CAfile "$PKI/ca.pem" -no_proxy 127.0.0.1 -timeout 5 "$@" 2>&1
}

# ocsp_status NAME: prints good, revoked or unknown; fails (printing the query's output on
# stderr) when there is no verified answer.
ocsp_status() {
  local name=${1:?usage: ocsp_status NAME} output status
  output=$(ocsp_query "$name") || true
  status=$(printf '%s\n' "$output" | awk -v prefix="$PKI/$name.pem: " \
    'index($0, prefix) == 1 { print substr($0, length(prefix) + 1) }')
  if printf '%s\n' "$output" | grep -qx 'Response verify OK' &&
    [[ $status =~ ^(good|revoked|unknown)$ ]]; then
    printf '%s\n' "$status"
    return 0
  fi
  printf '%s\n' "$output" >&2
  return 1
}

_rpki_ocsp_answers() {
  ocsp_status ocsp >/dev/null 2>&1
}

# start_ocsp: the OCSP responder on OCSP_PORT. -ignore_err: a malformed request must not end it
# (without it the responder exits); no -nrequest: it serves until stopped; -ndays 1: responses
# carry a nextUpdate, as real ones do.
start_ocsp() {
  _rpki_running "$PKI/ocsp.pid" && return 0
  _rpki_launch "$PKI/ocsp.pid" "$PKI/ocsp.log" _rpki_ocsp_answers \
    openssl ocsp -index "$PKI/index.txt" -port "$OCSP_PORT" -rsigner "$PKI/ocsp.pem" \
    -rkey "$PKI/ocsp.key" -CA "$PKI/ca.pem" -ignore_err -ndays 1 ||
    fail "the test OCSP responder did not start on port $OCSP_PORT (see $PKI/ocsp.log)"
}

stop_ocsp() {
  _rpki_stop "$PKI/ocsp.pid"
}

# The CRL distribution point: the files of pki/crl on 127.0.0.1 only, a CRL as
# application/pkix-crl (RFC 5280 section 4.2.1.13). Threads and a read timeout: a client that
# connects and says nothing cannot block the others. Request logs go to pki/crl-server.log.
_RPKI_CRL_SERVER='
import functools, http.server, sys
directory, port = sys.argv[1], int(sys.argv[2])
class Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".crl": "application/pkix-crl"}
    timeout = 10
server = http.server.ThreadingHTTPServer(
    ("127.0.0.1", port), functools.partial(Handler, directory=directory))
server.daemon_threads = True
print(f"port {port}", flush=True)
server.serve_forever()
'

# The CRL server answers when the CRL comes back over HTTP (not through any proxy).
_rpki_crl_answers() {
  python3 -c '
import sys, urllib.request
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
with opener.open(sys.argv[1], timeout=2) as reply:
    sys.exit(0 if reply.status == 200 and reply.read() else 1)
' "$CRL_URL" >/dev/null 2>&1
}

start_crl_server() {
  _rpki_running "$PKI/crl-server.pid" && return 0
  _rpki_launch "$PKI/crl-server.pid" "$PKI/crl-server.log" _rpki_crl_answers \
    python3 -c "$_RPKI_CRL_SERVER" "$PKI/crl" "$CRL_PORT" ||
    fail "the test CRL server did not start on port $CRL_PORT (see $PKI/crl-server.log)"
}

stop_crl_server() {
  _rpki_stop "$PKI/crl-server.pid"
}

# start_revocation_pki: see the top of this file.
start_revocation_pki() {
  command -v openssl >/dev/null || skip "openssl missing (the test revocation PKI)"
  command -v python3 >/dev/null || skip "python3 missing (the test CRL server)"
  local ports
  # Two distinct free ports: both sockets are bound at the same time. (Another process may take
  # one before the servers bind it; then start fails rather than picking other ports, since the
  # certificates name these.)
  ports=$(python3 -c '
import socket
sockets = [socket.socket() for _ in range(2)]
for s in sockets:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in sockets))
') || fail "could not pick free ports"
  read -r OCSP_PORT CRL_PORT <<<"$ports"
  export OCSP_PORT CRL_PORT
  export OCSP_URL="http://127.0.0.1:$OCSP_PORT/"
  export CRL_URL="http://127.0.0.1:$CRL_PORT/ca.crl"
  bash "$CUSTODY_SOURCE_DIR/samples/keys/make-test-revocation-pki.sh" pki "$OCSP_PORT" \
    "$CRL_PORT" || fail "could not make the test revocation PKI"
  PKI=$(cd pki && pwd)
  export PKI
  # Registered before starting, so that a half-started PKI is stopped too.
  cleanup_hooks+=("stop_ocsp" "stop_crl_server")
  start_crl_server
  start_ocsp
}

# revoke_signer NAME [TIME [REASON]]: see the top of this file.
revoke_signer() {
  local name=${1:?usage: revoke_signer NAME [YYYYMMDDHHMMSSZ [REASON]]} time=${2:-}
  local reason=${3:-keyCompromise} serial revoked
  _rpki_quietly openssl ca -config "$PKI/ca.cnf" -revoke "$PKI/$name.pem" -crl_reason "$reason" ||
    fail "could not revoke $name"
  if [ -n "$time" ]; then
    # index.txt holds revocation times as UTCTime (YYMMDDHHMMSSZ), which openssl ca and
    # openssl ocsp both parse as UTCTime only: years 1950 to 2049.
    [[ $time =~ ^(19[5-9][0-9]|20[0-4][0-9])[0-9]{10}Z$ ]] ||
      fail "revoke_signer: $time is not YYYYMMDDHHMMSSZ in 1950 to 2049"
    serial=$(openssl x509 -in "$PKI/$name.pem" -noout -serial) || fail "no serial in $name.pem"
    serial=${serial#serial=}
    # Fields: status, expiry, revocation time[,reason], serial, file, subject.
    awk -F '\t' -v OFS='\t' -v serial="${serial^^}" -v time="${time:2}" \
      '$4 == serial && $1 == "R" { sub(/^[^,]*/, time, $3) } { print }' \
      "$PKI/index.txt" >"$PKI/index.txt.new" || fail "could not rewrite index.txt"
    revoked=$(awk -F '\t' -v serial="${serial^^}" '$4 == serial { print $3 }' "$PKI/index.txt.new")
    [ "${revoked%%,*}" = "${time:2}" ] || fail "could not set the revocation time of $name"
    mv -f -- "$PKI/index.txt.new" "$PKI/index.txt"
  fi
  publish_crl
  # openssl ocsp reads index.txt only at start.
  stop_ocsp
  start_ocsp
}

# publish_crl: a new CRL from index.txt (next update in 30 days): pki/ca-crl.pem and the
# served pki/crl/ca.crl. Each file is replaced in one rename, so the server never sends half a
# CRL.
publish_crl() {
  _rpki_quietly openssl ca -batch -config "$PKI/ca.cnf" -gencrl -out "$PKI/ca-crl.pem.new" ||
    fail "could not make the CRL"
  openssl crl -in "$PKI/ca-crl.pem.new" -outform DER -out "$PKI/ca.crl.new" ||
    fail "could not convert the CRL"
  chmod 644 "$PKI/ca-crl.pem.new" "$PKI/ca.crl.new"
  mv -f -- "$PKI/ca-crl.pem.new" "$PKI/ca-crl.pem"
  mv -f -- "$PKI/ca.crl.new" "$PKI/crl/ca.crl"
}
