# No output of custody-pack or custody-receive is ever one of their inputs: the package (archive,
# directory, encrypted segments, envelopes, index) is never written over a container, by name,
# hard link or symbolic link, and custody-receive never writes its bag or receipt over the
# package's files or inside a bag directory it reads. Each is refused before anything is written
# (exit 73), and the inputs stay byte-identical, with no "packaged" event added.
source "$(dirname "$0")/../lib.sh"
PACK="$CUSTODY_BIN/custody-pack"
RECEIVE="$CUSTODY_BIN/custody-receive"
make_identities
make_source a.bin 200000
"$ACQUIRE" a.bin -o disk1 -q --seal-key keys/examiner.key --seal-cert keys/examiner.pem
want=$(digest sha256 disk1.aff4)
sender=(--key keys/examiner.key --cert keys/examiner.pem)
receiver=(--key keys/witness.key --cert keys/witness.pem --trust keys/ca.pem)

refused() { # custody-pack/receive ARGS...: exit 73, the input named, the container unchanged
  run "$@"
  expect_rc 73
  expect_stderr "refusing to write"
  expect_stderr "custody never writes over its input"
  [ "$(digest sha256 disk1.aff4)" = "$want" ] || fail "the container changed: $*"
}

ln disk1.aff4 hard.tar
refused "$PACK" disk1.aff4 -o hard.tar "${sender[@]}"
expect_stderr "it is the same file as disk1.aff4"
ln -s disk1.aff4 soft.zip
refused "$PACK" disk1.aff4 -o soft.zip "${sender[@]}"
mkdir enc
ln disk1.aff4 enc/sealed.tar.enc.001
refused "$PACK" disk1.aff4 -o enc/sealed.tar "${sender[@]}" --encrypt-to keys/witness.pem
ln -s ../disk1.aff4 enc/other.tar.enc.000.p7m
refused "$PACK" disk1.aff4 -o enc/other.tar "${sender[@]}" --encrypt-to keys/witness.pem
ln -s disk1.aff4 enc/index.tar.enc.json
mv enc/index.tar.enc.json index.tar.enc.json
refused "$PACK" disk1.aff4 -o index.tar "${sender[@]}" --encrypt-to keys/witness.pem
# The same container twice, under another name.
ln disk1.aff4 again.aff4
run "$PACK" disk1.aff4 again.aff4 -o twice.tar "${sender[@]}"
expect_rc 64
expect_stderr "given twice"
[ "$(digest sha256 disk1.aff4)" = "$want" ] || fail "the container changed"
[ ! -e twice.tar ] || fail "a package was written"

# custody-receive: a bag directory, a tar and an encrypted package as inputs.
"$PACK" disk1.aff4 -o bag "${sender[@]}" -q
"$PACK" disk1.aff4 -o transfer.tar "${sender[@]}" -q
"$PACK" disk1.aff4 -o sealed.tar "${sender[@]}" -q --encrypt-to keys/witness.pem
find bag -type f -exec sha256sum {} + | sort >bag.before
sha256sum transfer.tar sealed.tar.enc.* | sort >files.before
want=$(digest sha256 disk1.aff4)
refused "$RECEIVE" bag -o bag/data/inside "${receiver[@]}"
expect_stderr "it lies inside bag"
refused "$RECEIVE" bag -o out1 --receipt bag/custody/receipt.json "${receiver[@]}"
refused "$RECEIVE" transfer.tar -o out2 --receipt transfer.tar "${receiver[@]}"
expect_stderr "it is the input being read"
ln transfer.tar linked.json
refused "$RECEIVE" transfer.tar -o out3 --receipt linked.json "${receiver[@]}"
refused "$RECEIVE" sealed.tar.enc.json -o out4 --receipt sealed.tar.enc.000 "${receiver[@]}"
ln -s sealed.tar.enc.000.p7m p7m-link
refused "$RECEIVE" sealed.tar.enc.json -o p7m-link "${receiver[@]}"
find bag -type f -exec sha256sum {} + | sort | diff bag.before - ||
  fail "the bag directory changed"
sha256sum transfer.tar sealed.tar.enc.* | sort | diff files.before - || fail "a package changed"
for out in out1 out2 out3 out4 bag/data/inside; do
  [ ! -e "$out" ] || fail "$out was written"
done
! ls -d .custody-receive-* bag/data/.custody-receive-* 2>/dev/null ||
  fail "a temporary directory was left behind"
