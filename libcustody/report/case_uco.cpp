// SPDX-License-Identifier: Apache-2.0
// The custody chain as CASE/UCO JSON-LD (case_uco.hpp).
#include "core/input_guard.hpp"
#include "core/posix_file.hpp"
#include "zip/zip.hpp"

#include <custody/case_uco.hpp>
#include <custody/custody_log.hpp>
#include <custody/hash.hpp>
#include <custody/record.hpp>
#include <custody/version.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>

namespace custody {

namespace {

using nlohmann::json;

constexpr std::size_t k_record_limit = std::size_t{16} << 20U;

json context() {
  return json{
      {"case-investigation", "https://ontology.caseontology.org/case/investigation/"},
      {"uco-action", "https://ontology.unifiedcyberontology.org/uco/action/"},
      {"uco-core", "https://ontology.unifiedcyberontology.org/uco/core/"},
      {"uco-identity", "https://ontology.unifiedcyberontology.org/uco/identity/"},
      {"uco-location", "https://ontology.unifiedcyberontology.org/uco/location/"},
      {"uco-observable", "https://ontology.unifiedcyberontology.org/uco/observable/"},
      {"uco-tool", "https://ontology.unifiedcyberontology.org/uco/tool/"},
      {"uco-types", "https://ontology.unifiedcyberontology.org/uco/types/"},
      {"uco-vocabulary", "https://ontology.unifiedcyberontology.org/uco/vocabulary/"},
      {"xsd", "http://www.w3.org/2001/XMLSchema#"},
  };
}

json typed(const char* type, const std::string& value) {
  return json{{"@type", type}, {"@value", value}};
}

json node_ref(const std::string& id) {
  return json{{"@id", id}};
}

// A stable IRI for something named by text (an actor, a place): the same text, the same node.
std::string named_iri(const char* kind, const std::string& text) {
  auto digest = hash_bytes(std::as_bytes(std::span(text.data(), text.size())),
                           std::array{HashAlgorithm::sha256});
  return fmt::format("urn:custody:{}:{}", kind,
                     digest ? digest->at(HashAlgorithm::sha256).substr(0, 32) : text);
}

// UCO's HashNameVocab spells SHA-256 "SHA256", SHA-1 "SHA1".
std::string hash_method(const std::string& algorithm) {
  static const std::map<std::string, std::string> names{
      {"md5", "MD5"},       {"sha1", "SHA1"},         {"sha256", "SHA256"},
      {"sha512", "SHA512"}, {"sha3-256", "SHA3-256"}, {"blake2b-512", "BLAKE2B-512"}};
  auto found = names.find(algorithm);
  return found == names.end() ? algorithm : found->second;
}

json hashes(const std::map<std::string, std::string>& digests) {
  json list = json::array();
  for (const auto& [algorithm, hex] : digests) {
    list.push_back(json{
        {"@id", fmt::format("urn:custody:hash:{}:{}", algorithm, hex)},
        {"@type", "uco-types:Hash"},
        {"uco-types:hashMethod", typed("uco-vocabulary:HashNameVocab", hash_method(algorithm))},
        {"uco-types:hashValue", typed("xsd:hexBinary", hex)}});
  }
  return list;
}

json content_facet(const std::string& owner,
                   std::uint64_t size,
                   const std::map<std::string, std::string>& digests) {
  return json{{"@id", owner + ":content"},
              {"@type", "uco-observable:ContentDataFacet"},
              {"uco-observable:sizeInBytes", typed("xsd:integer", std::to_string(size))},
              {"uco-observable:hash", hashes(digests)}};
}

struct Graph {
  json nodes = json::array();
  std::map<std::string, bool> seen;  // IRIs already in the graph
  void add(json node) {
    const std::string id = node["@id"].get<std::string>();
    if (!seen[id]) {
      seen[id] = true;
      nodes.push_back(std::move(node));
    }
  }
};

std::string performer(Graph& graph, const LoggedEvent& event) {
  const std::string name = event.actor.name.empty() ? "unknown" : event.actor.name;
  const std::string id = event.actor.certificate_sha256.empty()
                             ? named_iri("identity", name)
                             : "urn:custody:identity:" + event.actor.certificate_sha256;
  json identity{{"@id", id}, {"@type", "uco-identity:Identity"}, {"uco-core:name", name}};
  if (!event.actor.role.empty()) {
    identity["uco-core:description"] = "role: " + event.actor.role;
  }
  if (!event.actor.organisation.empty()) {
    const std::string organisation = named_iri("organization", event.actor.organisation);
    graph.add(json{{"@id", organisation},
                   {"@type", "uco-identity:Organization"},
                   {"uco-core:name", event.actor.organisation}});
    identity["uco-core:tag"] = json::array({"member of " + event.actor.organisation});
  }
  graph.add(identity);
  return id;
}

std::optional<std::string> location(Graph& graph, const LoggedEvent& event) {
  if (event.location.empty() && event.jurisdiction.empty()) {
    return std::nullopt;
  }
  const std::string id = named_iri("location", event.location + "|" + event.jurisdiction);
  json facet{{"@id", id + ":address"}, {"@type", "uco-location:SimpleAddressFacet"}};
  if (!event.location.empty()) {
    facet["uco-location:locality"] = event.location;
  }
  if (!event.jurisdiction.empty()) {
    facet["uco-location:country"] = event.jurisdiction;
  }
  graph.add(json{{"@id", id},
                 {"@type", "uco-location:Location"},
                 {"uco-core:hasFacet", json::array({facet})}});
  return id;
}

std::string instrument(Graph& graph, const LoggedEvent& event) {
  const std::string name = event.tool_name.empty() ? "custody" : event.tool_name;
  const std::string id = fmt::format("urn:custody:tool:{}:{}", name, event.tool_version);
  graph.add(json{{"@id", id},
                 {"@type", "uco-tool:Tool"},
                 {"uco-core:name", name},
                 {"uco-tool:version", event.tool_version}});
  return id;
}

std::string describe(const LoggedEvent& event) {
  std::string text;
  for (const std::string* part : {&event.purpose, &event.notes}) {
    if (!part->empty()) {
      text += (text.empty() ? "" : "; ") + *part;
    }
  }
  if (!event.legal_basis.empty() || !event.legal_reference.empty()) {
    text += (text.empty() ? "" : "; ") +
            fmt::format("legal basis: {} {}", event.legal_basis, event.legal_reference);
  }
  for (const auto& [key, value] : event.details) {
    text += (text.empty() ? "" : "; ") + key + "=" + value;
  }
  return text;
}

}  // namespace

Result<std::string> case_uco_jsonld(const std::string& container) {
  auto zip = internal::ZipReader::open(container);
  CUSTODY_TRY(zip);
  const internal::ZipMember* member = zip->find("custody/acquisition.json");
  if (member == nullptr) {
    return make_error(Errc::unsupported,
                      fmt::format("{} has no custody record (custody/acquisition.json): it was "
                                  "not made by custody",
                                  container));
  }
  auto text = zip->read_member(*member, k_record_limit);
  CUSTODY_TRY(text);
  auto loaded = parse_record(*text);
  CUSTODY_TRY(loaded);
  auto log = read_custody_log(container);
  CUSTODY_TRY(log);
  const AcquisitionRecord& record = loaded->record;

  Graph graph;
  std::map<std::string, std::string> image_hashes;
  for (const auto& [algorithm, hex] : record.hashes) {
    image_hashes[std::string(hash_name(algorithm))] = hex;
  }
  const std::string image_id = record.container && !record.container->image_urn.empty()
                                   ? record.container->image_urn
                                   : "urn:custody:image:" + log->log_id;
  graph.add(json{{"@id", image_id},
                 {"@type", "uco-observable:ObservableObject"},
                 {"uco-core:name", "acquired image of " + record.source.path},
                 {"uco-core:hasFacet",
                  json::array({content_facet(image_id, record.image_size, image_hashes)})}});
  const std::string file_name = std::filesystem::path(container).filename().string();
  const std::string container_id = "urn:custody:container:" + log->log_id;
  graph.add(json{{"@id", container_id},
                 {"@type", "uco-observable:File"},
                 {"uco-core:hasFacet", json::array({json{{"@id", container_id + ":file"},
                                                         {"@type", "uco-observable:FileFacet"},
                                                         {"uco-observable:fileName", file_name},
                                                         {"uco-observable:extension", "aff4"}}})}});

  const std::string exhibit = record.case_info.evidence_number.value_or("");
  json actions = json::array();
  std::string previous_state;
  for (const LoggedEvent& event : log->events) {
    if (!event.parse_problem.empty()) {
      continue;
    }
    // The exhibit's state after this event: a provenance record of the image and its container.
    const std::string state =
        "urn:custody:provenance:" + event.event_id.substr(event.event_id.rfind(':') + 1);
    json record_node{
        {"@id", state},
        {"@type", "case-investigation:ProvenanceRecord"},
        {"uco-core:description",
         fmt::format("exhibit after custody event {} ({})", event.number, event.action)},
        {"uco-core:object", json::array({node_ref(image_id), node_ref(container_id)})}};
    if (!exhibit.empty()) {
      record_node["case-investigation:exhibitNumber"] = exhibit;
    }
    graph.add(record_node);
    json action{{"@id", event.event_id},
                {"@type", "case-investigation:InvestigativeAction"},
                {"uco-core:name", event.action},
                {"uco-action:startTime", typed("xsd:dateTime", event.time)},
                {"uco-action:endTime", typed("xsd:dateTime", event.time)},
                {"uco-action:performer", node_ref(performer(graph, event))},
                {"uco-action:instrument", node_ref(instrument(graph, event))},
                {"uco-action:object",
                 json::array({node_ref(previous_state.empty() ? image_id : previous_state)})},
                {"uco-action:result", json::array({node_ref(state)})}};
    if (auto where = location(graph, event)) {
      action["uco-action:location"] = node_ref(*where);
    }
    if (const std::string description = describe(event); !description.empty()) {
      action["uco-core:description"] = description;
    }
    graph.add(action);
    actions.push_back(node_ref(event.event_id));
    previous_state = state;
  }
  json investigation{
      {"@id", "urn:custody:investigation:" + log->log_id},
      {"@type", "case-investigation:Investigation"},
      {"uco-core:name", record.case_info.case_number.value_or("custody chain of " + file_name)},
      {"uco-core:object", actions}};
  graph.add(investigation);
  json document{{"@context", context()}, {"@graph", graph.nodes}};
  return document.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

Result<void> write_case_uco(const std::string& container, const std::string& path, bool overwrite) {
  internal::InputGuard guard;
  guard.add(container);
  CUSTODY_TRY(guard.check_output(path));
  auto document = case_uco_jsonld(container);
  CUSTODY_TRY(document);
  return internal::write_file_atomically(path, *document, overwrite);
}

}  // namespace custody
