// SPDX-License-Identifier: Apache-2.0
// AFF4 metadata (information.turtle, aff4-subset.md §3) in both directions: RdfGraph parses Turtle
// with serd into plain triples with every IRI expanded, and TurtleWriter emits the small, fixed
// subset of Turtle our writers need. Neither knows the AFF4 vocabulary; callers do.
#pragma once

#include <custody/error.hpp>

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace custody::internal {

inline constexpr const char* k_rdf_type = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type";

struct RdfTerm {
  enum class Kind : std::uint8_t { iri, literal, blank };
  Kind kind = Kind::iri;
  // Expanded IRI, literal text (escapes decoded), or blank node label with its "_:" ("_:b1").
  std::string value;
  // Expanded datatype IRI of a typed literal, else empty. Untyped numbers and booleans get the
  // xsd:integer, xsd:decimal, xsd:double or xsd:boolean IRI, as Turtle defines.
  std::string datatype;
  std::string language;

  bool operator==(const RdfTerm&) const = default;
};

struct Triple {
  std::string subject;  // an expanded IRI or "_:label"
  std::string predicate;
  RdfTerm object;

  bool operator==(const Triple&) const = default;
};

class RdfGraph {
 public:
  // Parses Turtle: prefixes and base expanded (CURIEs become full IRIs, also in datatypes), "a"
  // becomes rdf:type, object lists (,) and predicate lists (;), typed and untyped literals,
  // language tags, blank nodes and collections (as rdf:first/rdf:rest), long strings. Relative
  // IRIs are resolved against @base or `base_uri`, and kept relative when there is neither.
  // Errc::corrupt, with serd's message and the line and column, on any syntax error (serd runs
  // strict: nothing is skipped), and on an undefined prefix or a NUL byte. Untrusted input is
  // bounded: over 64 MiB of text, over 4 million triples, or blank nodes and collections nested
  // over 64 deep (serd recurses per level and would overflow the stack) are Errc::corrupt.
  // Quirk of serd: document labels of the form b<digits> are renamed B<digits> ("_:b1" comes back
  // "_:B1") so they cannot clash with the labels serd gives anonymous nodes.
  static Result<RdfGraph> parse_turtle(std::string_view text, std::string_view base_uri = "");

  // In document order.
  const std::vector<Triple>& triples() const { return m_triples; }

  // All objects of (subject, predicate), in document order.
  std::vector<const RdfTerm*> objects(std::string_view subject, std::string_view predicate) const;

  // The first object of (subject, predicate), or nullptr.
  const RdfTerm* object(std::string_view subject, std::string_view predicate) const;

  // Subjects having rdf:type `type_iri`, in document order, without duplicates.
  std::vector<std::string> subjects_of_type(std::string_view type_iri) const;

  bool has_type(std::string_view subject, std::string_view type_iri) const;

 private:
  std::vector<Triple> m_triples;
  // Subject -> indices into m_triples, in document order: lookups stay cheap for large graphs.
  std::map<std::string, std::vector<std::size_t>, std::less<>> m_by_subject;
};

// Builds Turtle text for writers. Prefixes aff4:, xsd: and rdf: are declared once; statements are
// grouped by subject in the order subjects first appear, each subject's statements in insertion
// order:
//
//   <aff4://...>
//       a aff4:ImageStream ;
//       aff4:size "8688"^^xsd:long .
//
// rdf:type is written "a". An IRI under one of the three prefixes whose local part is
// [A-Za-z0-9_]+ is written as a prefixed name (aff4:ImageStream, xsd:long), any other as <...>
// with the characters Turtle forbids in IRIs (controls, space, <>"{}|^`\) and invalid UTF-8
// percent-encoded. A subject or object IRI "_:label" is a blank node; a label outside
// [A-Za-z0-9_-] is replaced by "x" and the hex of its bytes. Literals are quoted with \" \\ \n \r
// \t and \uXXXX for the other control characters (C0, DEL and C1); invalid UTF-8 becomes U+FFFD.
// Output is UTF-8.
class TurtleWriter {
 public:
  TurtleWriter();

  void add_iri(std::string_view subject, std::string_view predicate, std::string_view object_iri);
  // An empty `datatype_iri` writes a plain string literal.
  void add_literal(std::string_view subject,
                   std::string_view predicate,
                   std::string_view value,
                   std::string_view datatype_iri = "");

  std::string str() const;

 private:
  struct Prefix {
    std::string name;
    std::string iri;
  };
  struct Subject {
    std::string term;                     // already in Turtle syntax
    std::vector<std::string> statements;  // "predicate object", in Turtle syntax
  };

  void add_statement(std::string_view subject, std::string statement);
  std::string node(std::string_view iri) const;  // subject or object position
  std::string iri(std::string_view iri) const;   // predicate or datatype position

  std::vector<Prefix> m_prefixes;
  std::vector<Subject> m_subjects;
  std::map<std::string, std::size_t, std::less<>> m_subject_index;
};

}  // namespace custody::internal
