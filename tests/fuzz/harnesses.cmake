# SPDX-License-Identifier: Apache-2.0
# One per parser of outside input: tests/fuzz/fuzz_NAME.cpp.
set(custody_fuzz_harnesses zip turtle codec aff4 record custody_log proof bagit cms
    envelope_index extract logical_manifest)
