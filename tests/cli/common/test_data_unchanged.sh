# After all other tests (a ctest cleanup fixture, tests/CMakeLists.txt): no test modified the
# committed test data. Every file of tests/data matches tests/data/SHA256SUMS, which lists them all.
source "$(dirname "$0")/../lib.sh"
check_test_data
