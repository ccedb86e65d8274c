source "$(dirname "$0")/../lib.sh"
make_source src.bin 100000
"$ACQUIRE" --format raw src.bin -o img --case 2026-17 --evidence E-4 --examiner "J. Doe" --notes "bag 0042" -q
run "$INFO" img.acquisition.json
expect_rc 0
expect_stdout "2026-17"
expect_stdout "E-4"
expect_stdout "bag 0042"
expect_stdout "$(digest sha256 src.bin)"
expect_stdout "img.raw"
expect_stdout "complete"
run "$INFO" --json img.acquisition.json
expect_rc 0
jq -e '.case.evidence_number == "E-4"' stdout >/dev/null || fail "--json"
run "$INFO" missing.acquisition.json
expect_rc 66
printf 'not json' >bad.json
run "$INFO" bad.json
expect_rc 65
