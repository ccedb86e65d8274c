// SPDX-License-Identifier: Apache-2.0
#define BOOST_TEST_MODULE custody_unit_tests
#include <boost/test/unit_test.hpp>
