# custody-info recognises evidence by its content (the library's identify_evidence), not by its
# name: a container renamed to .json, a raw image (its record is shown), and for the kinds it does
# not describe (E01 sets, transfer packages) it names the tool to use instead of a parse error.
source "$(dirname "$0")/../lib.sh"
make_source src.bin 300000
"$ACQUIRE" src.bin -o disk -q --case 2026-17
cp disk.aff4 renamed.json
run "$INFO" renamed.json
expect_rc 0
expect_stdout "2026-17"

"$ACQUIRE" --format raw src.bin -o img --case 2026-18 -q
run "$INFO" img.raw
expect_rc 0
expect_stdout "2026-18"
expect_stdout "$(digest sha256 src.bin)"

"$CUSTODY_BIN/custody-export" disk.aff4 -o e01 --format e01 -q
run "$INFO" e01.E01
expect_rc 65
expect_error_line "custody-info does not describe: E01 set"
expect_stderr "custody-verify"
run "$INFO" --json e01.E01
expect_rc 65
expect_json custody-error

make_identities
"$CUSTODY_BIN/custody-pack" disk.aff4 -o package.tar --key keys/examiner.key \
  --cert keys/examiner.pem -q
run "$INFO" package.tar
expect_rc 65
expect_error_line "custody-info does not describe: transfer package"
expect_stderr "custody-receive"

run "$INFO" disk.aff4 img.acquisition.json
expect_rc 64
expect_error_line "several files are accepted only for the volumes of one AFF4 container"

run "$INFO" src.bin
expect_rc 65
expect_error_line "is not evidence the custody tools read"
