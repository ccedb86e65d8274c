// SPDX-License-Identifier: Apache-2.0
// information.turtle: written in the AFF4 Standard vocabulary, and read with serd from
// containers made by any AFF4 tool.
#include "aff4/turtle.hpp"

#include <fmt/format.h>

#include <serd/serd.h>

#include <algorithm>
#include <array>
#include <cstdarg>
#include <cstdio>
#include <memory>
#include <optional>
#include <set>

namespace custody::internal {

namespace {

constexpr std::size_t k_max_turtle_size = std::size_t{64} << 20U;
// information.turtle of a physical image holds about a hundred triples; a logical image some per
// file. The cap bounds memory (a few hundred bytes per triple) for hostile text such as a long
// collection, which yields two triples per two bytes of input.
constexpr std::size_t k_max_triples = 4'000'000;
// serd parses nested blank nodes and collections recursively, about half a kilobyte of stack per
// level, so deep nesting would overflow a thread's stack. AFF4 metadata nests nothing.
constexpr std::size_t k_max_nesting = 64;

constexpr std::string_view k_aff4_namespace = "http://aff4.org/Schema#";
constexpr std::string_view k_xsd_namespace = "http://www.w3.org/2001/XMLSchema#";
constexpr std::string_view k_rdf_namespace = "http://www.w3.org/1999/02/22-rdf-syntax-ns#";

std::string to_string(const SerdNode& node) {
  if (node.buf == nullptr) {
    return {};
  }
  return {reinterpret_cast<const char*>(node.buf), node.n_bytes};
}

// A node quoted in an error message, cut at a character boundary so a hostile document cannot
// make the message huge (reports are JSON and must stay valid UTF-8).
std::string shortened(const SerdNode& node) {
  constexpr std::size_t k_max_quoted = 200;
  std::string text = to_string(node);
  if (text.size() > k_max_quoted) {
    std::size_t cut = k_max_quoted;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0U) == 0x80U) {
      --cut;
    }
    text.resize(cut);
    text += "...";
  }
  return text;
}

const std::uint8_t* as_serd(const std::string& text) {
  return reinterpret_cast<const std::uint8_t*>(text.c_str());
}

struct ReaderFree {
  void operator()(SerdReader* reader) const { serd_reader_free(reader); }
};
struct EnvFree {
  void operator()(SerdEnv* env) const { serd_env_free(env); }
};

// Owns a node that serd allocated and returned by value.
class OwnedNode {
 public:
  explicit OwnedNode(SerdNode node) : m_node(node) {}
  ~OwnedNode() { serd_node_free(&m_node); }
  OwnedNode(const OwnedNode&) = delete;
  OwnedNode& operator=(const OwnedNode&) = delete;
  const SerdNode& get() const { return m_node; }

 private:
  SerdNode m_node;
};

// Finds nesting of blank nodes ("[") and collections ("(") deeper than k_max_nesting before serd
// recurses into it. Skips IRIs, strings and comments, where brackets are plain text.
Result<void> check_nesting(std::string_view text) {
  std::size_t depth = 0;
  std::size_t i = 0;
  const auto skip_to = [&](std::string_view stops) {
    const std::size_t found = text.find_first_of(stops, i);
    i = found == std::string_view::npos ? text.size() : found + 1;
  };
  while (i < text.size()) {
    const char c = text[i];
    if (c == '#') {
      skip_to("\r\n");
    } else if (c == '<') {
      ++i;
      skip_to(">");
    } else if (c == '"' || c == '\'') {
      const std::string long_quote(3, c);
      const bool is_long = text.substr(i, 3) == long_quote;
      i += is_long ? 3 : 1;
      while (i < text.size()) {
        if (text[i] == '\\') {
          i += 2;
        } else if (is_long ? text.substr(i, 3) == long_quote : text[i] == c || text[i] == '\n') {
          i += is_long ? 3 : 1;
          break;
        } else {
          ++i;
        }
      }
    } else if (c == '\\') {
      i += 2;  // an escaped character in a prefixed name
    } else {
      if (c == '[' || c == '(') {
        if (++depth > k_max_nesting) {
          const auto line =
              1 + std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(i), '\n');
          return make_error(Errc::corrupt,
                            fmt::format("turtle nests blank nodes or collections more than {} deep "
                                        "(line {})",
                                        k_max_nesting, line));
        }
      } else if ((c == ']' || c == ')') && depth > 0) {
        --depth;
      }
      ++i;
    }
  }
  return {};
}

// What the serd callbacks share. The first failure wins; later statements are ignored.
struct ParseState {
  SerdEnv* env = nullptr;
  std::vector<Triple> triples;
  std::optional<Error> failure;
  std::string syntax_error;  // serd's first message, with its position
};

Result<std::string> expand_iri(const SerdEnv* env, const SerdNode& node) {
  if (node.type == SERD_URI && serd_uri_string_has_scheme(node.buf)) {
    return to_string(node);  // absolute already; serd would only re-serialise it
  }
  if (node.type == SERD_URI || node.type == SERD_CURIE) {
    const OwnedNode expanded(serd_env_expand_node(env, &node));
    if (expanded.get().buf != nullptr) {
      return to_string(expanded.get());
    }
    if (node.type == SERD_CURIE) {
      return make_error(Errc::corrupt,
                        fmt::format("turtle uses an undefined prefix in '{}'", shortened(node)));
    }
    return to_string(node);  // a relative IRI without any base
  }
  return make_error(Errc::corrupt,
                    fmt::format("turtle has '{}' where an IRI must be", shortened(node)));
}

Result<std::string> subject_text(const SerdEnv* env, const SerdNode& node) {
  if (node.type == SERD_BLANK) {
    return "_:" + to_string(node);
  }
  return expand_iri(env, node);
}

Result<RdfTerm> object_term(const SerdEnv* env,
                            const SerdNode& node,
                            const SerdNode* datatype,
                            const SerdNode* language) {
  RdfTerm term;
  switch (node.type) {
    case SERD_LITERAL:
      term.kind = RdfTerm::Kind::literal;
      term.value = to_string(node);
      if (datatype != nullptr && datatype->buf != nullptr) {
        auto expanded = expand_iri(env, *datatype);
        CUSTODY_TRY(expanded);
        term.datatype = std::move(*expanded);
      }
      if (language != nullptr && language->buf != nullptr) {
        term.language = to_string(*language);
      }
      return term;
    case SERD_BLANK:
      term.kind = RdfTerm::Kind::blank;
      term.value = "_:" + to_string(node);
      return term;
    default: {
      auto expanded = expand_iri(env, node);
      CUSTODY_TRY(expanded);
      term.value = std::move(*expanded);
      return term;
    }
  }
}

Result<Triple> make_triple(const SerdEnv* env,
                           const SerdNode& subject,
                           const SerdNode& predicate,
                           const SerdNode& object,
                           const SerdNode* datatype,
                           const SerdNode* language) {
  Triple triple;
  auto subject_value = subject_text(env, subject);
  CUSTODY_TRY(subject_value);
  triple.subject = std::move(*subject_value);
  auto predicate_value = expand_iri(env, predicate);
  CUSTODY_TRY(predicate_value);
  triple.predicate = std::move(*predicate_value);
  auto object_value = object_term(env, object, datatype, language);
  CUSTODY_TRY(object_value);
  triple.object = std::move(*object_value);
  return triple;
}

SerdStatus on_base(void* handle, const SerdNode* uri) {
  return serd_env_set_base_uri(static_cast<ParseState*>(handle)->env, uri);
}

SerdStatus on_prefix(void* handle, const SerdNode* name, const SerdNode* uri) {
  return serd_env_set_prefix(static_cast<ParseState*>(handle)->env, name, uri);
}

SerdStatus on_statement(void* handle,
                        SerdStatementFlags /*flags*/,
                        const SerdNode* /*graph*/,
                        const SerdNode* subject,
                        const SerdNode* predicate,
                        const SerdNode* object,
                        const SerdNode* object_datatype,
                        const SerdNode* object_language) {
  auto& state = *static_cast<ParseState*>(handle);
  if (state.failure) {
    return SERD_ERR_UNKNOWN;
  }
  if (state.triples.size() >= k_max_triples) {
    state.failure =
        make_error(Errc::corrupt, fmt::format("turtle has more than {} statements", k_max_triples))
            .value();
    return SERD_ERR_UNKNOWN;
  }
  auto triple =
      make_triple(state.env, *subject, *predicate, *object, object_datatype, object_language);
  if (!triple) {
    state.failure = std::move(triple.error());
    return SERD_ERR_UNKNOWN;
  }
  state.triples.push_back(std::move(*triple));
  return SERD_SUCCESS;
}

SerdStatus on_error(void* handle, const SerdError* error) {
  auto& state = *static_cast<ParseState*>(handle);
  if (!state.syntax_error.empty()) {
    return SERD_SUCCESS;
  }
  std::array<char, 512> message{};
  va_list args;
  va_copy(args, *error->args);
  std::vsnprintf(message.data(), message.size(), error->fmt, args);
  va_end(args);
  std::string_view text(message.data());
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) {
    text.remove_suffix(1);
  }
  state.syntax_error =
      fmt::format("turtle syntax error at line {}, column {}: {}", error->line, error->col, text);
  return SERD_SUCCESS;
}

}  // namespace

Result<RdfGraph> RdfGraph::parse_turtle(std::string_view text, std::string_view base_uri) {
  if (text.size() > k_max_turtle_size) {
    return make_error(Errc::corrupt,
                      fmt::format("turtle metadata of {} bytes is over the limit of {} bytes",
                                  text.size(), k_max_turtle_size));
  }
  // serd reads a NUL-terminated string and would stop early at an embedded NUL.
  if (const auto nul = text.find('\0'); nul != std::string_view::npos) {
    return make_error(Errc::corrupt, fmt::format("turtle has a NUL byte at offset {}", nul));
  }
  CUSTODY_TRY(check_nesting(text));

  const std::string base(base_uri);
  const SerdNode base_node = serd_node_from_string(SERD_URI, as_serd(base));
  const std::unique_ptr<SerdEnv, EnvFree> env(serd_env_new(base.empty() ? nullptr : &base_node));
  ParseState state;
  state.env = env.get();
  const std::unique_ptr<SerdReader, ReaderFree> reader(
      serd_reader_new(SERD_TURTLE, &state, nullptr, on_base, on_prefix, on_statement, nullptr));
  if (!env || !reader) {
    return make_error(Errc::internal, "cannot create the turtle parser");
  }
  // Strict: the lax default reports a bad statement, skips it and carries on.
  serd_reader_set_strict(reader.get(), true);
  serd_reader_set_error_sink(reader.get(), on_error, &state);

  const std::string terminated(text);
  const SerdStatus status = serd_reader_read_string(reader.get(), as_serd(terminated));
  if (state.failure) {
    return tl::unexpected(std::move(*state.failure));
  }
  if (!state.syntax_error.empty()) {
    return make_error(Errc::corrupt, std::move(state.syntax_error));
  }
  if (status > SERD_FAILURE) {
    return make_error(Errc::corrupt,
                      fmt::format("turtle does not parse ({})",
                                  reinterpret_cast<const char*>(serd_strerror(status))));
  }

  RdfGraph graph;
  graph.m_triples = std::move(state.triples);
  for (std::size_t index = 0; index < graph.m_triples.size(); ++index) {
    graph.m_by_subject[graph.m_triples[index].subject].push_back(index);
  }
  return graph;
}

std::vector<const RdfTerm*> RdfGraph::objects(std::string_view subject,
                                              std::string_view predicate) const {
  std::vector<const RdfTerm*> found;
  const auto entry = m_by_subject.find(subject);
  if (entry == m_by_subject.end()) {
    return found;
  }
  for (const std::size_t index : entry->second) {
    if (m_triples[index].predicate == predicate) {
      found.push_back(&m_triples[index].object);
    }
  }
  return found;
}

const RdfTerm* RdfGraph::object(std::string_view subject, std::string_view predicate) const {
  const auto entry = m_by_subject.find(subject);
  if (entry == m_by_subject.end()) {
    return nullptr;
  }
  for (const std::size_t index : entry->second) {
    if (m_triples[index].predicate == predicate) {
      return &m_triples[index].object;
    }
  }
  return nullptr;
}

std::vector<std::string> RdfGraph::subjects_of_type(std::string_view type_iri) const {
  std::vector<std::string> subjects;
  std::set<std::string_view> seen;
  for (const auto& triple : m_triples) {
    if (triple.predicate == k_rdf_type && triple.object.kind == RdfTerm::Kind::iri &&
        triple.object.value == type_iri && seen.insert(triple.subject).second) {
      subjects.push_back(triple.subject);
    }
  }
  return subjects;
}

bool RdfGraph::has_type(std::string_view subject, std::string_view type_iri) const {
  const auto types = objects(subject, k_rdf_type);
  return std::any_of(types.begin(), types.end(), [&](const RdfTerm* term) {
    return term->kind == RdfTerm::Kind::iri && term->value == type_iri;
  });
}

// ---- TurtleWriter ------------------------------------------------------------------------------

namespace {

// Length of the valid UTF-8 sequence (RFC 3629: shortest form, no surrogates, at most U+10FFFF)
// starting at text[pos], or 0 when the bytes there are not one.
std::size_t utf8_length(std::string_view text, std::size_t pos) {
  const auto byte = [&](std::size_t at) {
    return static_cast<unsigned char>(at < text.size() ? text[at] : '\0');
  };
  const unsigned lead = byte(pos);
  const auto continuation = [&](std::size_t at) { return (byte(at) & 0xC0U) == 0x80U; };
  if (lead < 0x80U) {
    return 1;
  }
  if (lead >= 0xC2U && lead <= 0xDFU) {
    return continuation(pos + 1) ? 2 : 0;
  }
  if (lead >= 0xE0U && lead <= 0xEFU) {
    const unsigned second = byte(pos + 1);
    const bool shortest = lead != 0xE0U || second >= 0xA0U;
    const bool not_surrogate = lead != 0xEDU || second < 0xA0U;
    return continuation(pos + 1) && continuation(pos + 2) && shortest && not_surrogate ? 3 : 0;
  }
  if (lead >= 0xF0U && lead <= 0xF4U) {
    const unsigned second = byte(pos + 1);
    const bool shortest = lead != 0xF0U || second >= 0x90U;
    const bool in_range = lead != 0xF4U || second < 0x90U;
    return continuation(pos + 1) && continuation(pos + 2) && continuation(pos + 3) && shortest &&
                   in_range
               ? 4
               : 0;
  }
  return 0;
}

bool is_local_name(std::string_view local) {
  return !local.empty() && std::all_of(local.begin(), local.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

bool is_blank_label(std::string_view label) {
  return is_local_name(label.substr(0, 1)) && std::all_of(label.begin(), label.end(), [](char c) {
           return is_local_name(std::string_view(&c, 1)) || c == '-';
         });
}

std::string quote_literal(std::string_view value) {
  std::string out = "\"";
  out.reserve(value.size() + 2);
  std::size_t i = 0;
  while (i < value.size()) {
    const auto c = static_cast<unsigned char>(value[i]);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20U || c == 0x7FU) {
          out += fmt::format("\\u{:04X}", c);
        } else if (c < 0x80U) {
          out += static_cast<char>(c);
        } else if (const std::size_t length = utf8_length(value, i); length == 0) {
          out += "\xEF\xBF\xBD";  // U+FFFD: the output must stay valid UTF-8
        } else if (c == 0xC2U && static_cast<unsigned char>(value[i + 1]) < 0xA0U) {
          // C1 controls (U+0080..U+009F) are invisible and confuse terminals: escape them too.
          out += fmt::format("\\u{:04X}", static_cast<unsigned char>(value[i + 1]));
          i += 2;
          continue;
        } else {
          out.append(value.substr(i, length));
          i += length;
          continue;
        }
        break;
    }
    ++i;
  }
  out += '"';
  return out;
}

// <iri>, with what IRIREF forbids percent-encoded so the output always parses.
std::string bracket_iri(std::string_view iri) {
  constexpr std::string_view k_forbidden = "<>\"{}|^`\\";
  std::string out = "<";
  std::size_t i = 0;
  while (i < iri.size()) {
    const auto c = static_cast<unsigned char>(iri[i]);
    std::size_t length = c < 0x80U ? 1 : utf8_length(iri, i);
    if (c <= 0x20U || c == 0x7FU || k_forbidden.find(static_cast<char>(c)) != k_forbidden.npos ||
        length == 0) {
      out += fmt::format("%{:02X}", c);
      length = 1;
    } else {
      out.append(iri.substr(i, length));
    }
    i += length;
  }
  out += '>';
  return out;
}

}  // namespace

TurtleWriter::TurtleWriter()
    : m_prefixes{{"aff4", std::string(k_aff4_namespace)},
                 {"xsd", std::string(k_xsd_namespace)},
                 {"rdf", std::string(k_rdf_namespace)}} {}

void TurtleWriter::add_iri(std::string_view subject,
                           std::string_view predicate,
                           std::string_view object_iri) {
  const std::string verb = predicate == k_rdf_type ? std::string("a") : iri(predicate);
  add_statement(subject, verb + " " + node(object_iri));
}

void TurtleWriter::add_literal(std::string_view subject,
                               std::string_view predicate,
                               std::string_view value,
                               std::string_view datatype_iri) {
  const std::string verb = predicate == k_rdf_type ? std::string("a") : iri(predicate);
  std::string statement = verb + " " + quote_literal(value);
  if (!datatype_iri.empty()) {
    statement += "^^" + iri(datatype_iri);
  }
  add_statement(subject, std::move(statement));
}

std::string TurtleWriter::str() const {
  std::string out;
  for (const auto& prefix : m_prefixes) {
    out += fmt::format("@prefix {}: {} .\n", prefix.name, bracket_iri(prefix.iri));
  }
  for (const auto& subject : m_subjects) {
    out += '\n';
    out += subject.term;
    out += '\n';
    for (std::size_t index = 0; index < subject.statements.size(); ++index) {
      const bool last = index + 1 == subject.statements.size();
      out += fmt::format("    {} {}\n", subject.statements[index], last ? "." : ";");
    }
  }
  return out;
}

void TurtleWriter::add_statement(std::string_view subject, std::string statement) {
  auto entry = m_subject_index.find(subject);
  if (entry == m_subject_index.end()) {
    entry = m_subject_index.emplace(std::string(subject), m_subjects.size()).first;
    m_subjects.push_back(Subject{node(subject), {}});
  }
  m_subjects[entry->second].statements.push_back(std::move(statement));
}

std::string TurtleWriter::node(std::string_view iri_or_blank) const {
  if (iri_or_blank.starts_with("_:")) {
    const std::string_view label = iri_or_blank.substr(2);
    if (is_blank_label(label)) {
      return std::string(iri_or_blank);
    }
    std::string hex = "_:x";
    for (const char c : label) {
      hex += fmt::format("{:02x}", static_cast<unsigned char>(c));
    }
    return hex;
  }
  return iri(iri_or_blank);
}

std::string TurtleWriter::iri(std::string_view iri) const {
  for (const auto& prefix : m_prefixes) {
    if (iri.starts_with(prefix.iri) && is_local_name(iri.substr(prefix.iri.size()))) {
      return fmt::format("{}:{}", prefix.name, iri.substr(prefix.iri.size()));
    }
  }
  return bracket_iri(iri);
}

}  // namespace custody::internal
