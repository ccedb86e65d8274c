// SPDX-License-Identifier: Apache-2.0
// Revocation data inside signatures (CAdES B-LT): a forged "good" OCSP response, signed by a
// certificate that only looks like the signer's issuer (same name and key identifier, another
// key) and carried in the signature beside it, must not clear a revoked signer.
#include "../support/commands.hpp"
#include "../support/temp_dir.hpp"
#include "crypto/revocation.hpp"

#include <custody/cades.hpp>
#include <custody/identity.hpp>

#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace custody {
namespace {

namespace fs = std::filesystem;

const fs::path k_revocation_source_dir = CUSTODY_SOURCE_DIR;

// The test PKI of samples/keys/make-test-revocation-pki.sh (no services), and a look-alike of
// its CA with a "good" OCSP response for the revoked-early signer.
const test::TempDir& pki_with_look_alike() {
  static const test::TempDir dir;
  static const bool made = [] {
    const std::string script =
        (k_revocation_source_dir / "samples/keys/make-test-revocation-pki.sh").string();
    const std::string commands =
        "set -e; bash " + test::quoted(script) + " " + test::quoted(dir.file("pki")) + " 9 9; cd " +
        test::quoted(dir.file("pki")) +
        R"(; openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out fake.key
skid=$(openssl x509 -in ca.pem -noout -ext subjectKeyIdentifier | sed -n 2p | tr -d ' ')
subj=$(openssl x509 -in ca.pem -noout -subject -nameopt compat | sed 's/^subject=//')
openssl req -new -x509 -key fake.key -subj "$subj" -days 30 -addext "subjectKeyIdentifier=$skid" \
  -addext "basicConstraints=critical,CA:true" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -out fake.pem
openssl ocsp -issuer fake.pem -cert revoked-early.pem -reqout req.der -no_nonce
serial=$(openssl x509 -in revoked-early.pem -noout -serial | cut -d= -f2)
printf 'V\t300101000000Z\t\t%s\tunknown\t/CN=x\n' "$serial" >fake-index.txt
openssl ocsp -index fake-index.txt -rsigner fake.pem -rkey fake.key -CA fake.pem \
  -reqin req.der -respout fake.ocsp -ndays 1)";
    return std::system(("bash -c " + test::quoted(commands) + " >/dev/null 2>&1").c_str()) == 0;
  }();
  BOOST_REQUIRE_MESSAGE(made, "could not make the test PKI and its look-alike CA");
  return dir;
}

std::string pki(const std::string& name) {
  return pki_with_look_alike().file("pki/" + name);
}

// A signature by the revoked-early signer, with `chain` as its chain and `ocsp` embedded.
std::string signature_with(const std::string& chain, const std::string& ocsp) {
  IdentityOptions options;
  options.key_path = pki("revoked-early.key");
  options.cert_path = pki("revoked-early.pem");
  options.chain_path = chain;
  auto identity = Identity::load(options);
  BOOST_REQUIRE_MESSAGE(identity.has_value(),
                        (identity ? std::string() : identity.error().message));
  auto signature = identity->sign_detached("content");
  BOOST_REQUIRE(signature);
  internal::CertificateStatus status;
  status.from_ocsp = true;
  status.der = test::read_file(ocsp);
  auto embedded = internal::embed_revocation_data(*signature, {status});
  BOOST_REQUIRE(embedded);
  return *embedded;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(revocation)

BOOST_AUTO_TEST_CASE(look_alike_issuer_cannot_clear_a_revoked_signer) {
  const std::string forged = signature_with(pki("fake.pem"), pki("fake.ocsp"));
  auto embedded = internal::embedded_revocation_data(forged);
  BOOST_REQUIRE(embedded);
  BOOST_TEST(embedded->ocsp_responses.size() == 1U);
  auto check = verify_detached(forged, "content", {pki("ca.pem")});
  BOOST_REQUIRE(check);
  BOOST_TEST(check->signature_valid);
  auto validation = validate_signature(forged, *check, {}, {}, {}, {});
  BOOST_REQUIRE(validation);
  BOOST_TEST(validation->indication != "TOTAL-PASSED");
  BOOST_TEST(validation->revocation.find("not revoked") == std::string::npos,
             "the forged response was believed: " << validation->revocation);
}

BOOST_AUTO_TEST_CASE(the_issuer_is_the_certificate_whose_key_signed_the_signer) {
  const std::string genuine = signature_with(pki("ca.pem"), pki("fake.ocsp"));
  auto cms_check = verify_detached(genuine, "content", {pki("ca.pem")});
  BOOST_REQUIRE(cms_check);
  // With the real CA in the chain, the look-alike's response is about another issuer key: it is
  // not taken as evidence either way.
  auto validation = validate_signature(genuine, *cms_check, {}, {}, {}, {});
  BOOST_REQUIRE(validation);
  BOOST_TEST(validation->sub_indication == "TRY_LATER");
  BOOST_TEST(validation->revocation.find("no revocation data") != std::string::npos,
             validation->revocation);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace custody
