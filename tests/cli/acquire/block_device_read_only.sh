# A read-only loop device: size and sector sizes come from the kernel, the kernel's read-only flag
# is recorded, and the device's content is unchanged after acquisition.
source "$(dirname "$0")/../lib.sh"
need_root "losetup"
command -v losetup >/dev/null || skip "losetup not installed"
make_source disk.img 4194304
loop=$(losetup -f --show -r disk.img 2>/dev/null) || skip "no loop device available here"
cleanup_hooks+=("losetup -d $loop")
before=$(sha256sum <"$loop" | cut -d' ' -f1)
run "$ACQUIRE" --format raw "$loop" -o dev --examiner tester
expect_rc 0
[ "$(json_field .source.kind dev.acquisition.json)" = "block-device" ] || fail "kind"
[ "$(json_field .source.size dev.acquisition.json)" = "4194304" ] || fail "size"
[ "$(json_field .source.logical_sector_size dev.acquisition.json)" = "512" ] || fail "sector"
[ "$(json_field .source.kernel_read_only dev.acquisition.json)" = "true" ] || fail "read-only"
[ "$(json_field .hashes.sha256 dev.acquisition.json)" = "$before" ] || fail "hash"
[ "$(sha256sum <"$loop" | cut -d' ' -f1)" = "$before" ] || fail "device changed"
[ "$(digest sha256 disk.img)" = "$before" ] || fail "backing file changed"
cmp -s disk.img dev.raw || fail "image differs from device"
