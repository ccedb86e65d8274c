// SPDX-License-Identifier: Apache-2.0
// AFF4 information.turtle (internal::RdfGraph over serd).
#include "aff4/turtle.hpp"
#include "fuzz_support.hpp"

CUSTODY_FUZZ_TARGET(turtle)(const std::uint8_t* data, std::size_t size) {
  using namespace custody::internal;
  auto graph = RdfGraph::parse_turtle(custody::fuzz::as_text(data, size), "aff4://base/");
  if (!graph) {
    return 0;
  }
  for (const std::string& subject : graph->subjects_of_type("http://aff4.org/Schema#ImageStream")) {
    (void)graph->objects(subject, "http://aff4.org/Schema#size");
  }
  // What we read we can write back.
  TurtleWriter writer;
  std::size_t n = 0;
  for (const Triple& triple : graph->triples()) {
    if (++n > 256) {
      break;
    }
    if (triple.object.kind == RdfTerm::Kind::literal) {
      writer.add_literal(triple.subject, triple.predicate, triple.object.value,
                         triple.object.datatype);
    } else {
      writer.add_iri(triple.subject, triple.predicate, triple.object.value);
    }
  }
  (void)writer.str();
  return 0;
}
