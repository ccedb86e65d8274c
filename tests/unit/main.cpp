// SPDX-License-Identifier: Apache-2.0
// The runner of the unit tests: Boost.Test's, except that it exits with 77 (ctest:
// SKIP_RETURN_CODE, reported as Skipped) when every test case it was asked to run was skipped
// because a prerequisite is missing (tests/support/prerequisites.hpp).
#define BOOST_TEST_MODULE custody_unit_tests
#define BOOST_TEST_NO_MAIN
#include <boost/test/tree/observer.hpp>
#include <boost/test/unit_test.hpp>

#include <iostream>

namespace {

namespace utf = boost::unit_test;

// Counts the test cases that ran and those skipped for a failed precondition, and says why each
// was skipped (Boost reports the cases that --run_test leaves out as skipped too, with the reason
// "disabled").
class SkipCounter final : public utf::test_observer {
 public:
  void test_unit_start(const utf::test_unit& unit) override {
    if (unit.p_type == utf::TUT_CASE) {
      ++m_ran;
    }
  }
  void test_unit_skipped(const utf::test_unit& unit, utf::const_string reason) override {
    if (unit.p_type == utf::TUT_CASE && reason != utf::const_string("disabled")) {
      ++m_skipped;
      std::cerr << "SKIPPED: " << unit.full_name() << ": " << reason << '\n';
    }
  }
  bool only_skipped() const { return m_skipped > 0 && m_ran == 0; }

 private:
  int m_ran = 0;
  int m_skipped = 0;
};

SkipCounter g_counter;

struct CountSkips {
  CountSkips() { utf::framework::register_observer(g_counter); }
  ~CountSkips() { utf::framework::deregister_observer(g_counter); }
  CountSkips(const CountSkips&) = delete;
  CountSkips& operator=(const CountSkips&) = delete;
};

}  // namespace

BOOST_TEST_GLOBAL_FIXTURE(CountSkips);

int main(int argc, char* argv[]) {
#ifdef BOOST_TEST_ALTERNATIVE_INIT_API
  const int status = utf::unit_test_main(&init_unit_test, argc, argv);
#else
  const int status = utf::unit_test_main(&init_unit_test_suite, argc, argv);
#endif
  return status == 0 && g_counter.only_skipped() ? 77 : status;
}
