// SPDX-License-Identifier: Apache-2.0
#include "../support/commands.hpp"
#include "../support/prerequisites.hpp"
#include "aff4/turtle.hpp"

#include <boost/test/unit_test.hpp>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <random>
#include <string>

namespace custody::internal {
namespace {

constexpr std::string_view k_aff4 = "http://aff4.org/Schema#";
constexpr std::string_view k_xsd = "http://www.w3.org/2001/XMLSchema#";

std::string aff4(std::string_view local) {
  return std::string(k_aff4) + std::string(local);
}

std::string xsd(std::string_view local) {
  return std::string(k_xsd) + std::string(local);
}

using test::have_tool;
using test::run_command;

RdfGraph parse_ok(std::string_view text, std::string_view base = "") {
  auto graph = RdfGraph::parse_turtle(text, base);
  BOOST_TEST_REQUIRE(graph.has_value(), graph.error().message);
  return std::move(*graph);
}

void expect_corrupt(std::string_view text, std::string_view fragment) {
  auto graph = RdfGraph::parse_turtle(text);
  BOOST_TEST_REQUIRE(!graph.has_value(), text.substr(0, 80));
  BOOST_TEST((graph.error().code == Errc::corrupt), graph.error().message);
  BOOST_TEST(graph.error().message.find(fragment) != std::string::npos, graph.error().message);
}

constexpr std::string_view k_snippet = R"(@prefix aff4: <http://aff4.org/Schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .
@prefix : <aff4://685e15cc-d0fb-4dbc-ba47-48117fc77044> .

<aff4://c215ba20-5648-4209-a793-1f918c723610>
        a                    aff4:ImageStream, aff4:Foo ;
        aff4:chunkSize       "32768"^^xsd:int ;
        aff4:size            "8688"^^xsd:long ;
        aff4:untypedSize     8688 ;
        aff4:hash            "abc"^^aff4:SHA1 , "def"^^<http://aff4.org/Schema#MD5> ;
        aff4:compressionMethod <http://code.google.com/p/snappy/> ;
        aff4:stored          : ;
        aff4:note            """two
lines with "quotes\"""" ;
        aff4:lang            "Platte"@de ;
        aff4:origin          [ a aff4:Device ; aff4:serial "S1" ] ;
        aff4:parts           ( 1 2 ) ;
        aff4:other           _:named .  # a comment with [ ( brackets

_:named rdf:type aff4:Thing .
:       a aff4:ZipVolume .
)";

}  // namespace

BOOST_AUTO_TEST_SUITE(turtle)

BOOST_AUTO_TEST_CASE(aff4_style_turtle_expands_every_name) {
  const RdfGraph graph = parse_ok(k_snippet);
  const std::string stream = "aff4://c215ba20-5648-4209-a793-1f918c723610";

  BOOST_TEST(graph.has_type(stream, aff4("ImageStream")));
  BOOST_TEST(graph.has_type(stream, aff4("Foo")));
  BOOST_TEST(!graph.has_type(stream, aff4("Map")));
  const auto types = graph.objects(stream, k_rdf_type);
  BOOST_TEST_REQUIRE(types.size() == 2U);
  BOOST_TEST(types[0]->value == aff4("ImageStream"));  // document order
  BOOST_TEST((types[1]->kind == RdfTerm::Kind::iri));

  const RdfTerm* size = graph.object(stream, aff4("size"));
  BOOST_TEST_REQUIRE(size != nullptr);
  BOOST_TEST((size->kind == RdfTerm::Kind::literal));
  BOOST_TEST(size->value == "8688");
  BOOST_TEST(size->datatype == xsd("long"));

  const RdfTerm* untyped = graph.object(stream, aff4("untypedSize"));
  BOOST_TEST_REQUIRE(untyped != nullptr);
  BOOST_TEST(untyped->value == "8688");
  BOOST_TEST(untyped->datatype == xsd("integer"));  // Turtle's type of a bare integer

  const auto hashes = graph.objects(stream, aff4("hash"));
  BOOST_TEST_REQUIRE(hashes.size() == 2U);
  BOOST_TEST(hashes[0]->value == "abc");
  BOOST_TEST(hashes[0]->datatype == "http://aff4.org/Schema#SHA1");
  BOOST_TEST(hashes[1]->datatype == "http://aff4.org/Schema#MD5");

  BOOST_TEST(graph.object(stream, aff4("compressionMethod"))->value ==
             "http://code.google.com/p/snappy/");
  // ":" alone is the volume URN, without a trailing slash, as in the reference images.
  const RdfTerm* stored = graph.object(stream, aff4("stored"));
  BOOST_TEST(stored->value == "aff4://685e15cc-d0fb-4dbc-ba47-48117fc77044");
  BOOST_TEST((stored->kind == RdfTerm::Kind::iri));
  BOOST_TEST(graph.has_type("aff4://685e15cc-d0fb-4dbc-ba47-48117fc77044", aff4("ZipVolume")));

  BOOST_TEST(graph.object(stream, aff4("note"))->value == "two\nlines with \"quotes\"");
  BOOST_TEST(graph.object(stream, aff4("lang"))->language == "de");
  BOOST_TEST(graph.object(stream, aff4("lang"))->datatype.empty());

  const RdfTerm* origin = graph.object(stream, aff4("origin"));
  BOOST_TEST_REQUIRE(origin != nullptr);
  BOOST_TEST((origin->kind == RdfTerm::Kind::blank));
  BOOST_TEST(origin->value.starts_with("_:"));
  BOOST_TEST(graph.has_type(origin->value, aff4("Device")));
  BOOST_TEST(graph.object(origin->value, aff4("serial"))->value == "S1");

  const RdfTerm* parts = graph.object(stream, aff4("parts"));
  BOOST_TEST_REQUIRE(parts != nullptr);
  BOOST_TEST(
      graph.object(parts->value, "http://www.w3.org/1999/02/22-rdf-syntax-ns#first")->value == "1");

  const RdfTerm* other = graph.object(stream, aff4("other"));
  BOOST_TEST(other->value == "_:named");
  BOOST_TEST(graph.has_type("_:named", aff4("Thing")));

  BOOST_TEST(graph.object(stream, aff4("missing")) == nullptr);
  BOOST_TEST(graph.objects("aff4://nothing", aff4("size")).empty());
  const auto streams = graph.subjects_of_type(aff4("ImageStream"));
  BOOST_TEST_REQUIRE(streams.size() == 1U);
  BOOST_TEST(streams[0] == stream);
}

BOOST_AUTO_TEST_CASE(subjects_of_type_keeps_document_order_without_duplicates) {
  const RdfGraph graph = parse_ok(R"(@prefix aff4: <http://aff4.org/Schema#> .
<aff4://b> a aff4:Map .
<aff4://a> a aff4:Map, aff4:Map .
<aff4://b> a aff4:Map .
<aff4://c> aff4:type aff4:Map .
)");
  const auto maps = graph.subjects_of_type(aff4("Map"));
  BOOST_TEST_REQUIRE(maps.size() == 2U);
  BOOST_TEST(maps[0] == "aff4://b");
  BOOST_TEST(maps[1] == "aff4://a");
  BOOST_TEST(graph.triples().size() == 5U);
}

BOOST_AUTO_TEST_CASE(relative_iris_resolve_against_the_base) {
  const RdfGraph given = parse_ok("<stream> <p> <../other> .", "aff4://volume/dir/");
  BOOST_TEST(given.triples().at(0).subject == "aff4://volume/dir/stream");
  BOOST_TEST(given.triples().at(0).predicate == "aff4://volume/dir/p");
  BOOST_TEST(given.triples().at(0).object.value == "aff4://volume/other");
  const RdfGraph declared = parse_ok("@base <http://example.org/a/> .\n<b> <p> <c> .");
  BOOST_TEST(declared.triples().at(0).subject == "http://example.org/a/b");
  const RdfGraph none = parse_ok("<b> <p> <c> .");
  BOOST_TEST(none.triples().at(0).subject == "b");
}

BOOST_AUTO_TEST_CASE(writer_output_parses_back_to_the_same_triples) {
  const std::string image = "aff4://cf853d0b-5589-4c7c-8358-2ca1572b87eb";
  const std::string stream = "aff4://c215ba20-5648-4209-a793-1f918c723610";
  const std::string hard =
      "M\xC3\xBCller\n\"x\"\t\\ \r\x01\x1f\x7f \xC2\x85 end \xE2\x82\xAC \xF0\x9F\x94\x92";
  TurtleWriter writer;
  writer.add_iri(image, k_rdf_type, aff4("DiskImage"));
  writer.add_iri(stream, k_rdf_type, aff4("ImageStream"));
  writer.add_iri(image, k_rdf_type, aff4("Image"));
  writer.add_literal(image, aff4("size"), "268435456", xsd("long"));
  writer.add_literal(image, aff4("hash"), "fbac22cc", aff4("SHA1"));
  writer.add_literal(image, aff4("odd"), "v", "http://example.org/types/custom-type");
  writer.add_literal(image, aff4("diskSerial"), hard);
  writer.add_literal(image, aff4("empty"), "");
  writer.add_iri(stream, aff4("compressionMethod"), "http://code.google.com/p/snappy/");
  writer.add_iri(stream, aff4("target"), "_:map");
  writer.add_iri("_:map", aff4("label"), "aff4:odd path/with space<>{}");
  writer.add_iri(stream, "http://example.org/with#hash", aff4("SymbolicStream00"));

  const std::string text = writer.str();
  const RdfGraph graph = parse_ok(text);
  const std::vector<Triple> expected = {
      {image, std::string(k_rdf_type), {RdfTerm::Kind::iri, aff4("DiskImage"), "", ""}},
      {image, std::string(k_rdf_type), {RdfTerm::Kind::iri, aff4("Image"), "", ""}},
      {image, aff4("size"), {RdfTerm::Kind::literal, "268435456", xsd("long"), ""}},
      {image, aff4("hash"), {RdfTerm::Kind::literal, "fbac22cc", aff4("SHA1"), ""}},
      {image,
       aff4("odd"),
       {RdfTerm::Kind::literal, "v", "http://example.org/types/custom-type", ""}},
      {image, aff4("diskSerial"), {RdfTerm::Kind::literal, hard, "", ""}},
      {image, aff4("empty"), {RdfTerm::Kind::literal, "", "", ""}},
      {stream, std::string(k_rdf_type), {RdfTerm::Kind::iri, aff4("ImageStream"), "", ""}},
      {stream,
       aff4("compressionMethod"),
       {RdfTerm::Kind::iri, "http://code.google.com/p/snappy/", "", ""}},
      {stream, aff4("target"), {RdfTerm::Kind::blank, "_:map", "", ""}},
      {stream,
       "http://example.org/with#hash",
       {RdfTerm::Kind::iri, aff4("SymbolicStream00"), "", ""}},
      // Characters Turtle forbids in an IRI come back percent-encoded.
      {"_:map",
       aff4("label"),
       {RdfTerm::Kind::iri, "aff4:odd%20path/with%20space%3C%3E%7B%7D", "", ""}},
  };
  BOOST_TEST_REQUIRE(graph.triples().size() == expected.size(), text);
  for (std::size_t index = 0; index < expected.size(); ++index) {
    const Triple& got = graph.triples()[index];
    BOOST_TEST((got == expected[index]), "triple " << index << ": " << got.subject << " "
                                                   << got.predicate << " " << got.object.value
                                                   << "\n"
                                                   << text);
  }
}

BOOST_AUTO_TEST_CASE(writer_layout_is_grouped_and_prefixed) {
  TurtleWriter writer;
  writer.add_iri("aff4://s", k_rdf_type, aff4("ImageStream"));
  writer.add_literal("aff4://t", aff4("size"), "1", xsd("long"));
  writer.add_literal("aff4://s", aff4("chunkSize"), "32768", xsd("int"));
  writer.add_literal("aff4://s", aff4("note"), "a\"b\\c\nd\x02");
  writer.add_literal("aff4://s", aff4("bad"), "x\xFFy\xC0\x80z");  // invalid UTF-8
  writer.add_iri("aff4://s", aff4("x"), aff4("not-local"));
  BOOST_TEST(writer.str() ==
             "@prefix aff4: <http://aff4.org/Schema#> .\n"
             "@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .\n"
             "@prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .\n"
             "\n"
             "<aff4://s>\n"
             "    a aff4:ImageStream ;\n"
             "    aff4:chunkSize \"32768\"^^xsd:int ;\n"
             "    aff4:note \"a\\\"b\\\\c\\nd\\u0002\" ;\n"
             "    aff4:bad \"x\xEF\xBF\xBDy\xEF\xBF\xBD\xEF\xBF\xBDz\" ;\n"
             "    aff4:x <http://aff4.org/Schema#not-local> .\n"
             "\n"
             "<aff4://t>\n"
             "    aff4:size \"1\"^^xsd:long .\n");
  const TurtleWriter empty;
  BOOST_TEST(parse_ok(empty.str()).triples().empty());
}

BOOST_AUTO_TEST_CASE(syntax_errors_are_corrupt_with_a_position) {
  auto graph = RdfGraph::parse_turtle(
      "@prefix aff4: <http://aff4.org/Schema#> .\n"
      "@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .\n"
      "<aff4://a> aff4:size \"1\"^^xsd:long ;\n"
      "    aff4:oops  .\n");
  BOOST_TEST_REQUIRE(!graph.has_value());
  BOOST_TEST((graph.error().code == Errc::corrupt));
  BOOST_TEST(graph.error().message.find("line 4, column") != std::string::npos,
             graph.error().message);

  auto broken = RdfGraph::parse_turtle("<aff4://a> <aff4://p> \"unterminated .\n<b> <c> <d> .\n");
  BOOST_TEST_REQUIRE(!broken.has_value());
  BOOST_TEST(broken.error().message.find("line") != std::string::npos, broken.error().message);

  expect_corrupt("<aff4://a> <aff4://p> <bad iri> .", "line 1, column");
  expect_corrupt("<aff4://a> aff4:p <aff4://b> .", "undefined prefix");
  expect_corrupt("<aff4://a> <aff4://p> \"x\"^^nope:t .", "undefined prefix");
  expect_corrupt("<aff4://a> <aff4://p> <aff4://b>", "line");  // no final dot
  constexpr char k_with_nul[] = "<aff4://a> <aff4://p> \"a\0b\" .";
  expect_corrupt(std::string_view(k_with_nul, sizeof k_with_nul - 1), "NUL");
  expect_corrupt("<aff4://a> <aff4://p> \"\xFF\" .", "line");  // not UTF-8
}

BOOST_AUTO_TEST_CASE(hostile_input_is_bounded) {
  // serd recurses per nesting level: a few hundred thousand levels overflow the stack.
  std::string deep = "<a> <p> ";
  for (int level = 0; level < 200000; ++level) {
    deep += "[ <p> ";
  }
  deep += std::string(200000, ']') + " .";
  expect_corrupt(deep, "deep");
  std::string lists = "<a> <p> " + std::string(100000, '(') + std::string(100000, ')') + " .";
  expect_corrupt(lists, "deep");
  // Brackets in strings, IRIs and comments do not count.
  parse_ok("<a> <p> \"" + std::string(1000, '[') + "\" . # " + std::string(1000, '(') +
           "\n<a> <p> '''" + std::string(1000, '(') + "''' .");
  // Nesting up to the limit is fine.
  std::string nested = "<a> <p> ";
  for (int level = 0; level < 64; ++level) {
    nested += "[ <p> ";
  }
  parse_ok(nested + "1 " + std::string(64, ']') + " .");

  expect_corrupt(std::string((std::size_t{64} << 20U) + 1, ' '), "limit");
}

BOOST_AUTO_TEST_CASE(mutated_turtle_never_crashes) {
  std::mt19937 engine(77);
  constexpr std::string_view k_alphabet = "<>\"'[]()@^_:.,;#\\ \nab01\xC3\xBC";
  for (int round = 0; round < 3000; ++round) {
    std::string text(k_snippet);
    const auto edits = 1 + engine() % 6;
    for (unsigned edit = 0; edit < edits; ++edit) {
      const std::size_t at = engine() % text.size();
      switch (engine() % 3) {
        case 0:
          text[at] = k_alphabet[engine() % k_alphabet.size()];
          break;
        case 1:
          text.erase(at, 1 + engine() % 8);
          break;
        default:
          text.insert(at, 1, k_alphabet[engine() % k_alphabet.size()]);
          break;
      }
    }
    auto graph = RdfGraph::parse_turtle(text);
    BOOST_TEST((graph || graph.error().code == Errc::corrupt));
  }
}

// information.turtle of an Evimetry reference image, extracted at run time.
BOOST_AUTO_TEST_CASE(reference_image_metadata_parses, *test::needs_tools({"unzip"})) {
  auto text = run_command("unzip -p '" CUSTODY_TESTDATA_DIR
                          "/aff4/AFF4Std/Base-Linear.aff4' information.turtle");
  BOOST_TEST_REQUIRE(text.has_value());
  const RdfGraph graph = parse_ok(*text);

  const auto streams = graph.subjects_of_type(aff4("ImageStream"));
  BOOST_TEST_REQUIRE(streams.size() == 1U);
  const std::string& stream = streams[0];
  BOOST_TEST(stream == "aff4://c215ba20-5648-4209-a793-1f918c723610");
  const RdfTerm* chunk_size = graph.object(stream, aff4("chunkSize"));
  BOOST_TEST_REQUIRE(chunk_size != nullptr);
  BOOST_TEST(chunk_size->value == "32768");
  BOOST_TEST(chunk_size->datatype == xsd("int"));
  const RdfTerm* method = graph.object(stream, aff4("compressionMethod"));
  BOOST_TEST_REQUIRE(method != nullptr);
  BOOST_TEST((method->kind == RdfTerm::Kind::iri));
  BOOST_TEST(method->value == "http://code.google.com/p/snappy/");
  BOOST_TEST(graph.object(stream, aff4("size"))->datatype == xsd("long"));

  const std::string image = "aff4://cf853d0b-5589-4c7c-8358-2ca1572b87eb";
  BOOST_TEST(graph.has_type(image, aff4("DiskImage")));
  BOOST_TEST(graph.has_type(image, aff4("ContiguousImage")));
  BOOST_TEST(graph.has_type(image, aff4("Image")));
  BOOST_TEST(graph.object(image, aff4("hash"))->datatype == aff4("blockMapHashSHA512"));
  // The volume is the ":" prefix, and two hashes share one object list.
  BOOST_TEST(graph.object(image, aff4("stored"))->value ==
             "aff4://685e15cc-d0fb-4dbc-ba47-48117fc77044");
  BOOST_TEST(graph.objects(stream, aff4("hash")).size() == 2U);
  BOOST_TEST(graph.object(image, aff4("diskMake"))->value == "Seagate");
  BOOST_TEST(graph.object(image, aff4("diskMake"))->datatype.empty());  // plain literal
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace custody::internal
