# Read-only evidence is never written to, whoever runs the tool (root passes access(2) for mode
# 0444): custody-verify --record refuses before verifying, custody-export --files extracts and
# says the export is not recorded, and both containers stay byte-identical.
source "$(dirname "$0")/../lib.sh"
EXPORT="$CUSTODY_BIN/custody-export"
make_source src.bin 300000
"$ACQUIRE" src.bin -o img -q
chmod 0444 img.aff4
before=$(sha256sum <img.aff4)
run "$VERIFY" img.aff4 --record
expect_rc 64
expect_error_line
expect_stderr "cannot record the verification in the container: img.aff4 is read-only"
expect_stderr "custody-log add"
run "$VERIFY" img.aff4 --record --json
expect_rc 64
expect_json custody-error
[ "$(sha256sum <img.aff4)" = "$before" ] || fail "verify --record wrote to a read-only container"

mkdir files
echo "a file" >files/a.txt
"$ACQUIRE" --logical files -o logical -q
chmod 0444 logical.aff4
before=$(sha256sum <logical.aff4)
run "$EXPORT" logical.aff4 --files -o out
expect_rc 0
expect_stderr "logical.aff4 is read-only: this export is NOT recorded"
[ "$(cat out/files/a.txt 2>/dev/null || cat out/a.txt)" = "a file" ] || fail "not extracted"
[ "$(sha256sum <logical.aff4)" = "$before" ] || fail "export --files wrote to a read-only container"
