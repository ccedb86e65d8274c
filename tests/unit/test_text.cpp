// SPDX-License-Identifier: Apache-2.0
#include <custody/text.hpp>

#include <boost/test/unit_test.hpp>

namespace custody {

BOOST_AUTO_TEST_SUITE(text)

BOOST_AUTO_TEST_CASE(sizes_accept_plain_bytes_and_binary_suffixes) {
  BOOST_TEST(*parse_size("4096") == 4096U);
  BOOST_TEST(*parse_size("1K") == 1024U);
  BOOST_TEST(*parse_size("650M") == 650ULL << 20U);
  BOOST_TEST(*parse_size("2G") == 2ULL << 30U);
  BOOST_TEST(*parse_size("2GiB") == 2ULL << 30U);
  BOOST_TEST(*parse_size("1T") == 1ULL << 40U);
}

BOOST_AUTO_TEST_CASE(sizes_reject_garbage_zero_and_overflow) {
  for (const char* bad : {"", "0", "-1", "G", "2X", "1.5G", "99999999999999999999", "20000000T"}) {
    auto size = parse_size(bad);
    BOOST_TEST(!size, bad);
    if (!size) {
      BOOST_TEST((size.error().code == Errc::invalid_argument));
    }
  }
}

BOOST_AUTO_TEST_CASE(utc_times_are_rfc_3339) {
  const auto epoch = std::chrono::system_clock::time_point{};
  BOOST_TEST(format_utc(epoch) == "1970-01-01T00:00:00Z");
  BOOST_TEST(format_utc(epoch + std::chrono::seconds(1764390012)) == "2025-11-29T04:20:12Z");
}

BOOST_AUTO_TEST_CASE(byte_counts_are_readable) {
  BOOST_TEST(format_bytes(512) == "512 B");
  BOOST_TEST(format_bytes(1536) == "1.50 KiB");
  BOOST_TEST(format_bytes(2ULL << 30U) == "2.00 GiB");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace custody
