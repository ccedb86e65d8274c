// SPDX-License-Identifier: Apache-2.0
// RFC 7512 PKCS#11 URIs as --key, --seal-key and --by-key take them.
#include "crypto/pkcs11_uri.hpp"

#include <boost/test/unit_test.hpp>

namespace custody::internal {

BOOST_AUTO_TEST_SUITE(pkcs11_uri)

BOOST_AUTO_TEST_CASE(path_and_query_attributes_are_decoded) {
  auto uri = parse_pkcs11_uri(
      "pkcs11:token=LKA%20Seal;object=seal-2026;type=private;id=%01%ff;serial=12"
      "?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/pin");
  BOOST_TEST_REQUIRE(uri.has_value());
  BOOST_TEST(uri->attribute("token") == "LKA Seal");
  BOOST_TEST(uri->attribute("object") == "seal-2026");
  BOOST_TEST(uri->attribute("type") == "private");
  BOOST_TEST(uri->attribute("serial") == "12");
  BOOST_TEST(uri->attribute("model").empty());
  BOOST_TEST_REQUIRE(uri->id.has_value());
  BOOST_TEST((*uri->id == std::string("\x01\xff", 2)));
  BOOST_TEST(uri->module_path == "/usr/lib/softhsm/libsofthsm2.so");
  BOOST_TEST(uri->pin_source == "file:/run/pin");
}

BOOST_AUTO_TEST_CASE(the_scheme_is_case_insensitive_and_nothing_else_is_a_uri) {
  BOOST_TEST(is_pkcs11_uri("PKCS11:token=x"));
  BOOST_TEST(is_pkcs11_uri("pkcs11:"));
  BOOST_TEST(!is_pkcs11_uri("keys/examiner.key"));
  BOOST_TEST(!is_pkcs11_uri("pkcs11"));
  BOOST_TEST(!is_pkcs11_uri("./pkcs11:token=x"));
}

BOOST_AUTO_TEST_CASE(mistakes_are_refused_not_widened) {
  for (const char* bad : {
           "pkcs11:objekt=seal",              // a typo would match every key
           "pkcs11:object=a;object=b",        // given twice
           "pkcs11:id=%01;id=%02",            // given twice
           "pkcs11:object=%zz",               // bad escape
           "pkcs11:object=%4",                // truncated escape
           "pkcs11:object",                   // no value
           "pkcs11:type=secret",              // no such type
           "pkcs11:object=a?pin-value=1234",  // a PIN on the command line
           "pkcs11:object=a?module=x.so",     // no such query attribute
           "file:/keys/a.key",
       }) {
    auto uri = parse_pkcs11_uri(bad);
    BOOST_TEST(!uri.has_value(), bad);
    if (!uri) {
      BOOST_TEST((uri.error().code == Errc::invalid_argument), bad);
    }
  }
  BOOST_TEST(parse_pkcs11_uri("pkcs11:x-vendor=1;object=a?x-other=2").has_value());
}

BOOST_AUTO_TEST_CASE(a_pin_value_never_reaches_a_message) {
  BOOST_TEST(printable_pkcs11_uri("pkcs11:object=a?pin-value=1234&module-path=/m.so") ==
             "pkcs11:object=a?pin-value=***&module-path=/m.so");
  auto uri = parse_pkcs11_uri("pkcs11:objekt=a?pin-value=1234");
  BOOST_TEST_REQUIRE(!uri.has_value());
  BOOST_TEST(uri.error().message.find("1234") == std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace custody::internal
