// SPDX-License-Identifier: Apache-2.0
// Decoding of the ATA answers used to find a Host Protected Area or a Device Configuration
// Overlay (the SG_IO part needs a real ATA disk; a loop device reports "not checked").
#include "acquire/hidden_areas.hpp"

#include <boost/test/unit_test.hpp>

#include <array>

namespace custody::internal {

BOOST_AUTO_TEST_SUITE(hidden_areas)

BOOST_AUTO_TEST_CASE(identify_gives_48_bit_user_sectors_or_the_28_bit_count) {
  std::array<std::uint16_t, 256> words{};
  words[100] = 0x6DB0;  // 1953525168 = 0x74706DB0 sectors (a 1 TB disk)
  words[101] = 0x7470;
  BOOST_TEST(identify_user_sectors(words) == 1953525168U);
  words[100] = words[101] = 0;
  words[60] = 0x1000;
  words[61] = 0x0001;
  BOOST_TEST(identify_user_sectors(words) == 0x11000U);
}

BOOST_AUTO_TEST_CASE(ata_status_return_descriptor_gives_the_lba) {
  // Descriptor-format sense with an ATA Status Return descriptor: LBA 0x0000_7470_6DAF.
  std::array<std::uint8_t, 22> sense{0x72,
                                     0x01,
                                     0x00,
                                     0x1D,
                                     0,
                                     0,
                                     0,
                                     14,
                                     0x09,
                                     0x0C,
                                     0x01,
                                     0x00,
                                     0x00,
                                     0x00,
                                     /*lba 31:24*/ 0x74,
                                     /*7:0*/ 0xAF,
                                     /*39:32*/ 0x00,
                                     /*15:8*/ 0x6D,
                                     /*47:40*/ 0x00,
                                     /*23:16*/ 0x70,
                                     0x40,
                                     0x50};
  auto lba = sense_descriptor_lba(sense);
  BOOST_REQUIRE(lba.has_value());
  BOOST_TEST(*lba == 0x74706DAFU);
  std::array<std::uint8_t, 18> fixed{0x70};
  BOOST_TEST(!sense_descriptor_lba(fixed).has_value());
}

BOOST_AUTO_TEST_CASE(findings_are_described_in_plain_words) {
  BOOST_TEST(describe_hidden_areas(1000, 1000, 1000) == "no HPA; no DCO");
  const std::string hpa = describe_hidden_areas(900, 1000, 1000);
  BOOST_TEST(hpa.find("HPA PRESENT: the disk reports 900 sectors but has 1000 (100 hidden") !=
             std::string::npos);
  const std::string dco = describe_hidden_areas(1000, 1000, 1200);
  BOOST_TEST(dco.find("DCO PRESENT: the factory size is 1200 sectors (200 hidden") !=
             std::string::npos);
  BOOST_TEST(describe_hidden_areas(1000, std::nullopt, std::nullopt) ==
             "HPA not checked (READ NATIVE MAX ADDRESS EXT not answered); DCO not checked "
             "(DEVICE CONFIGURATION IDENTIFY not answered)");
}

BOOST_AUTO_TEST_CASE(a_file_descriptor_that_is_no_ata_disk_is_not_checked) {
  BOOST_TEST(check_hidden_areas(-1).starts_with("not checked ("));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace custody::internal
