#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The AFF4-L sample written by pyaff4 (dream.aff4): listed, verified, and dream.txt extracted with
# the SHA-256 of tests/data/README.md.
source "$(dirname "$0")/../lib.sh"
sample="$TESTDATA/aff4/AFF4-L/dream.aff4"
[ -f "$sample" ] || fail "AFF4-L sample missing from tests/data"
cp "$sample" dream.aff4 && chmod 444 dream.aff4   # never written to, even if a tool tried

run "$INFO" dream.aff4
expect_rc 0
expect_stdout "test_images/AFF4-L/dream.txt"
expect_stdout "75d83773f8d431a3ca91bfb8859e486d"

run "$VERIFY" dream.aff4
expect_rc 0
expect_stdout "VERIFIED"

run "$EXPORT" dream.aff4 --files -o out --no-record
expect_rc 0
[ "$(digest sha256 out/test_images/AFF4-L/dream.txt)" = \
  2f8c33d140c42a3039c16281724fd94a3070176daec59987c32d2da5c0affc67 ] || fail "dream.txt differs"
cmp -s "$sample" dream.aff4 || fail "the sample was changed"
echo "PASS"
