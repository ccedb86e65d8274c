# A flipped byte in the chunk index, the map, the turtle or the custody record is detected and
# the damaged member is named.
source "$(dirname "$0")/../lib.sh"
make_source src.bin 2000000
"$ACQUIRE" src.bin -o orig -q --examiner "J. Doe"
for member in '\.index$' '/map$' '^information\.turtle$' '^custody/acquisition\.json$'; do
  cp orig.aff4 t.aff4
  offset=$(member_offset t.aff4 "$member")
  [ "$offset" != null ] || fail "no member $member"
  flip_byte t.aff4 $((offset + 5))
  run "$VERIFY" t.aff4
  [ "$RC" -eq 1 ] || [ "$RC" -eq 65 ] || fail "tampering with $member gave exit $RC"
  expect_stdout "FAILED"
  name=$(printf '%s' "$member" | sed 's/[\\^$]//g')
  grep -q "$name" stdout || fail "the report does not name the member $name"
done
