// SPDX-License-Identifier: Apache-2.0
// The acquisition record (custody-acquisition(5)): written as canonical JSON with its
// record_sha256, and parsed back from outside input.
#include "aff4/logical_json.hpp"
#include "core/canonical_json.hpp"
#include "core/posix_file.hpp"
#include "core/untrusted_json.hpp"

#include <custody/record.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstring>

namespace custody {

using nlohmann::json;

const char* status_name(AcquisitionStatus status) {
  switch (status) {
    case AcquisitionStatus::complete:
      return "complete";
    case AcquisitionStatus::interrupted:
      return "interrupted";
    case AcquisitionStatus::failed:
      return "failed";
  }
  return "unknown";
}

namespace {

constexpr std::size_t k_record_size_limit = std::size_t{16} << 20U;

// The canonical form the record digest covers (core/canonical_json.hpp).
std::string canonical(const json& value) {
  return internal::canonical_json(value);
}

std::string sha256_hex(std::string_view text) {
  auto digests = hash_bytes(std::as_bytes(std::span(text.data(), text.size())),
                            std::array{HashAlgorithm::sha256});
  return digests ? digests->at(HashAlgorithm::sha256) : std::string();
}

template <typename T>
json optional_value(const std::optional<T>& value) {
  return value ? json(*value) : json(nullptr);
}

json digests_to_json(const DigestSet& digests) {
  json out = json::object();
  for (const auto& [algorithm, hex] : digests) {
    out[std::string(hash_name(algorithm))] = hex;
  }
  return out;
}

json case_to_json(const CaseInfo& info) {
  json out = json::object();
  const std::pair<const char*, const std::optional<std::string>*> fields[] = {
      {"case_number", &info.case_number},
      {"evidence_number", &info.evidence_number},
      {"examiner", &info.examiner},
      {"description", &info.description},
      {"notes", &info.notes},
  };
  for (const auto& [name, value] : fields) {
    if (*value) {
      out[name] = **value;
    }
  }
  return out;
}

json source_to_json(const SourceInfo& source) {
  return json{
      {"path", source.path},
      {"kind", source_kind_name(source.kind)},
      {"size", optional_value(source.size)},
      {"logical_sector_size", optional_value(source.logical_sector_size)},
      {"physical_sector_size", optional_value(source.physical_sector_size)},
      {"kernel_read_only", optional_value(source.kernel_read_only)},
      {"vendor", optional_value(source.vendor)},
      {"model", optional_value(source.model)},
      {"serial", optional_value(source.serial)},
      {"firmware", optional_value(source.firmware)},
      {"transport", optional_value(source.transport)},
      {"removable", optional_value(source.removable)},
      {"rotational", optional_value(source.rotational)},
      {"set_read_only", source.set_read_only},
      {"hidden_areas", source.hidden_areas},
  };
}

json defects_to_json(const std::vector<Defect>& defects) {
  json out = json::array();
  for (const Defect& defect : defects) {
    json item{{"offset", defect.offset},
              {"length", defect.length},
              {"sector_size", defect.sector_size},
              {"first_sector", defect.offset / defect.sector_size},
              {"sectors", (defect.length + defect.sector_size - 1) / defect.sector_size},
              {"errno", defect.sys_errno},
              {"error", defect_cause(defect)}};
    if (!defect.reason.empty()) {
      item["reason"] = defect.reason;
    }
    out.push_back(std::move(item));
  }
  return out;
}

json ranges_to_json(const std::vector<ByteRange>& ranges, std::uint32_t sector_size) {
  json out = json::array();
  for (const ByteRange& range : ranges) {
    out.push_back(json{{"offset", range.offset},
                       {"length", range.length},
                       {"first_sector", range.offset / sector_size},
                       {"sectors", (range.length + sector_size - 1) / sector_size}});
  }
  return out;
}

json import_to_json(const ImportRecord& imported) {
  json files = json::array();
  for (const ImportedFile& file : imported.files) {
    files.push_back(json{{"name", file.name}, {"size", file.size}});
  }
  json headers = json::object();
  for (const auto& [name, value] : imported.headers) {
    headers[name] = value;
  }
  return json{
      {"format", imported.format},
      {"files", files},
      {"bytes_per_sector", imported.bytes_per_sector},
      {"claimed_hashes", digests_to_json(imported.claimed_hashes)},
      {"hashes_match", optional_value(imported.hashes_match)},
      {"headers", headers},
      {"acquiry_errors", ranges_to_json(imported.acquiry_errors, imported.bytes_per_sector)},
      {"checksum_errors", ranges_to_json(imported.checksum_errors, imported.bytes_per_sector)}};
}

json image_to_json(const AcquisitionRecord& record, const json& segments) {
  json image{{"format", record.image_format},
             {"size", record.image_size},
             {"segment_size", optional_value(record.segment_size)},
             {"segments", segments}};
  if (record.container) {
    const ContainerRecord& container = *record.container;
    image["container"] = json{{"file", container.file},
                              {"volume", container.volume_urn},
                              {"image", container.image_urn},
                              {"compression", container.compression},
                              {"chunk_size", container.chunk_size},
                              {"stored_chunks", container.stored_chunks},
                              {"zero_chunks", container.zero_chunks}};
  }
  return image;
}

json post_verification_to_json(const AcquisitionRecord& record) {
  json out = json::object();
  const std::pair<const char*, const std::optional<PostVerification>*> parts[] = {
      {"image", &record.image_verification}, {"source", &record.source_verification}};
  for (const auto& [name, check] : parts) {
    if (*check) {
      out[name] = json{{"matches", (*check)->matches},
                       {"hashes", digests_to_json((*check)->hashes)},
                       {"time", (*check)->time}};
    }
  }
  return out;
}

json record_body(const AcquisitionRecord& record) {
  json segments = json::array();
  for (const SegmentRecord& segment : record.segments) {
    segments.push_back(json{{"file", segment.file},
                            {"offset", segment.offset},
                            {"size", segment.size},
                            {"hashes", digests_to_json(segment.hashes)}});
  }
  json body{
      {"format", k_record_format},
      {"version", k_record_version},
      {"status", status_name(record.status)},
      {"tool", json{{"name", record.tool_name}, {"version", record.tool_version}}},
      {"host", json{{"hostname", record.hostname}, {"system", record.system}}},
      {"case", case_to_json(record.case_info)},
      {"source", source_to_json(record.source)},
      {"started", record.started},
      {"finished", record.finished},
      {"bytes_read", record.bytes_read},
      {"hashes", digests_to_json(record.hashes)},
      {"image", image_to_json(record, segments)},
      {"defects", defects_to_json(record.defects)},
      {"defect_fill", record.defect_fill},
  };
  if (record.status == AcquisitionStatus::failed) {
    body["error"] = record.error;
  }
  if (record.image_verification || record.source_verification) {
    body["verification"] = post_verification_to_json(record);
  }
  if (!record.resumed.empty()) {
    json resumed = json::array();
    for (const auto& [offset, time] : record.resumed) {
      resumed.push_back(json{{"offset", offset}, {"time", time}});
    }
    body["resumed"] = resumed;
  }
  if (record.imported_from) {
    body["imported_from"] = import_to_json(*record.imported_from);
  }
  if (record.logical) {
    body["logical"] = internal::logical_summary_to_json(*record.logical);
  }
  return body;
}

// Typed access to a parsed record, throwing std::runtime_error with the member's path; the
// caller turns that into Errc::corrupt.
class Reader {
 public:
  static const json& member(const json& object, const char* name, const std::string& where) {
    if (!object.is_object() || !object.contains(name)) {
      throw std::runtime_error(fmt::format("missing member \"{}{}\"", where, name));
    }
    return object.at(name);
  }
  static std::string string(const json& object, const char* name, const std::string& where = "") {
    const json& value = member(object, name, where);
    if (!value.is_string()) {
      throw std::runtime_error(fmt::format("member \"{}{}\" is not a string", where, name));
    }
    return value.get<std::string>();
  }
  static std::uint64_t number(const json& object, const char* name, const std::string& where = "") {
    const json& value = member(object, name, where);
    if (!value.is_number_unsigned() &&
        !(value.is_number_integer() && value.get<std::int64_t>() >= 0)) {
      throw std::runtime_error(
          fmt::format("member \"{}{}\" is not a non-negative integer", where, name));
    }
    return value.get<std::uint64_t>();
  }
  template <typename T>
  static std::optional<T> optional(const json& object, const char* name) {
    if (!object.is_object() || !object.contains(name) || object.at(name).is_null()) {
      return std::nullopt;
    }
    return object.at(name).get<T>();
  }
  static DigestSet digests(const json& object, const std::string& where) {
    if (!object.is_object()) {
      throw std::runtime_error(fmt::format("member \"{}\" is not an object", where));
    }
    DigestSet out;
    for (const auto& [name, value] : object.items()) {
      auto algorithm = parse_hash_name(name);
      if (!algorithm || !value.is_string()) {
        throw std::runtime_error(fmt::format("unknown or invalid hash \"{}.{}\"", where, name));
      }
      out[*algorithm] = value.get<std::string>();
    }
    return out;
  }
};

AcquisitionStatus parse_status(const std::string& text) {
  for (AcquisitionStatus status :
       {AcquisitionStatus::complete, AcquisitionStatus::interrupted, AcquisitionStatus::failed}) {
    if (text == status_name(status)) {
      return status;
    }
  }
  throw std::runtime_error(fmt::format("unknown status \"{}\"", text));
}

SourceKind parse_kind(const std::string& text) {
  for (SourceKind kind : {SourceKind::file, SourceKind::block_device, SourceKind::stream}) {
    if (text == source_kind_name(kind)) {
      return kind;
    }
  }
  throw std::runtime_error(fmt::format("unknown source kind \"{}\"", text));
}

std::vector<ByteRange> ranges_from_json(const json& object, const char* name) {
  std::vector<ByteRange> out;
  const json& items = Reader::member(object, name, "imported_from.");
  if (!items.is_array()) {
    throw std::runtime_error(fmt::format("member \"imported_from.{}\" is not an array", name));
  }
  for (const json& item : items) {
    out.push_back(ByteRange{Reader::number(item, "offset", "imported_from.ranges[]."),
                            Reader::number(item, "length", "imported_from.ranges[].")});
  }
  return out;
}

ImportRecord import_from_json(const json& object) {
  ImportRecord imported;
  imported.format = Reader::string(object, "format", "imported_from.");
  const json& files = Reader::member(object, "files", "imported_from.");
  if (!files.is_array()) {
    throw std::runtime_error("member \"imported_from.files\" is not an array");
  }
  for (const json& file : files) {
    imported.files.push_back(ImportedFile{Reader::string(file, "name", "imported_from.files[]."),
                                          Reader::number(file, "size", "imported_from.files[].")});
  }
  imported.bytes_per_sector =
      static_cast<std::uint32_t>(Reader::number(object, "bytes_per_sector", "imported_from."));
  if (imported.bytes_per_sector == 0) {
    throw std::runtime_error("imported_from.bytes_per_sector is 0");
  }
  imported.claimed_hashes = Reader::digests(
      Reader::member(object, "claimed_hashes", "imported_from."), "imported_from.claimed_hashes");
  imported.hashes_match = Reader::optional<bool>(object, "hashes_match");
  const json& headers = Reader::member(object, "headers", "imported_from.");
  for (const auto& [name, value] : headers.items()) {
    if (!value.is_string()) {
      throw std::runtime_error(fmt::format("imported_from.headers.{} is not a string", name));
    }
    imported.headers[name] = value.get<std::string>();
  }
  imported.acquiry_errors = ranges_from_json(object, "acquiry_errors");
  imported.checksum_errors = ranges_from_json(object, "checksum_errors");
  return imported;
}

AcquisitionRecord record_from_json(const json& body) {
  AcquisitionRecord record;
  record.status = parse_status(Reader::string(body, "status"));
  if (record.status == AcquisitionStatus::failed) {
    record.error = Reader::optional<std::string>(body, "error").value_or("");
  }
  const json& tool = Reader::member(body, "tool", "");
  record.tool_name = Reader::string(tool, "name", "tool.");
  record.tool_version = Reader::string(tool, "version", "tool.");
  const json& host = Reader::member(body, "host", "");
  record.hostname = Reader::string(host, "hostname", "host.");
  record.system = Reader::string(host, "system", "host.");
  const json& case_fields = Reader::member(body, "case", "");
  record.case_info.case_number = Reader::optional<std::string>(case_fields, "case_number");
  record.case_info.evidence_number = Reader::optional<std::string>(case_fields, "evidence_number");
  record.case_info.examiner = Reader::optional<std::string>(case_fields, "examiner");
  record.case_info.description = Reader::optional<std::string>(case_fields, "description");
  record.case_info.notes = Reader::optional<std::string>(case_fields, "notes");
  const json& source = Reader::member(body, "source", "");
  record.source.path = Reader::string(source, "path", "source.");
  record.source.kind = parse_kind(Reader::string(source, "kind", "source."));
  record.source.size = Reader::optional<std::uint64_t>(source, "size");
  record.source.logical_sector_size =
      Reader::optional<std::uint32_t>(source, "logical_sector_size");
  record.source.physical_sector_size =
      Reader::optional<std::uint32_t>(source, "physical_sector_size");
  record.source.kernel_read_only = Reader::optional<bool>(source, "kernel_read_only");
  record.source.vendor = Reader::optional<std::string>(source, "vendor");
  record.source.model = Reader::optional<std::string>(source, "model");
  record.source.serial = Reader::optional<std::string>(source, "serial");
  record.source.firmware = Reader::optional<std::string>(source, "firmware");
  record.source.transport = Reader::optional<std::string>(source, "transport");
  record.source.removable = Reader::optional<bool>(source, "removable");
  record.source.rotational = Reader::optional<bool>(source, "rotational");
  record.source.set_read_only = Reader::optional<bool>(source, "set_read_only").value_or(false);
  record.source.hidden_areas =
      Reader::optional<std::string>(source, "hidden_areas").value_or("not checked");
  if (body.contains("defects")) {
    const json& defects = body.at("defects");
    if (!defects.is_array()) {
      throw std::runtime_error("member \"defects\" is not an array");
    }
    for (const json& item : defects) {
      Defect defect;
      defect.offset = Reader::number(item, "offset", "defects[].");
      defect.length = Reader::number(item, "length", "defects[].");
      defect.sector_size =
          static_cast<std::uint32_t>(Reader::number(item, "sector_size", "defects[]."));
      defect.sys_errno = static_cast<int>(Reader::number(item, "errno", "defects[]."));
      defect.reason = Reader::optional<std::string>(item, "reason").value_or("");
      if (defect.sector_size == 0) {
        throw std::runtime_error("a defect has sector_size 0");
      }
      record.defects.push_back(defect);
    }
  }
  record.defect_fill = Reader::optional<std::string>(body, "defect_fill").value_or("zero");
  if (body.contains("resumed") && body.at("resumed").is_array()) {
    for (const json& item : body.at("resumed")) {
      record.resumed.emplace_back(Reader::number(item, "offset", "resumed[]."),
                                  Reader::string(item, "time", "resumed[]."));
    }
  }
  if (body.contains("verification")) {
    const json& verification = body.at("verification");
    for (const char* name : {"image", "source"}) {
      if (verification.is_object() && verification.contains(name)) {
        const json& item = verification.at(name);
        PostVerification check;
        check.matches = item.at("matches").get<bool>();
        check.hashes = Reader::digests(Reader::member(item, "hashes", "verification."), "hashes");
        check.time = Reader::string(item, "time", "verification.");
        (std::string(name) == "image" ? record.image_verification : record.source_verification) =
            check;
      }
    }
  }
  if (body.contains("imported_from")) {
    record.imported_from = import_from_json(body.at("imported_from"));
  }
  if (body.contains("logical")) {
    record.logical = internal::logical_summary_from_json(body.at("logical"));
  }
  record.started = Reader::string(body, "started");
  record.finished = Reader::string(body, "finished");
  record.bytes_read = Reader::number(body, "bytes_read");
  record.hashes = Reader::digests(Reader::member(body, "hashes", ""), "hashes");
  const json& image = Reader::member(body, "image", "");
  record.image_format = Reader::string(image, "format", "image.");
  if (record.image_format != "raw" && record.image_format != "aff4") {
    throw std::runtime_error(fmt::format("unknown image format \"{}\"", record.image_format));
  }
  record.image_size = Reader::number(image, "size", "image.");
  record.segment_size = Reader::optional<std::uint64_t>(image, "segment_size");
  const json& segments = Reader::member(image, "segments", "image.");
  const bool is_raw = record.image_format == "raw";
  if (!segments.is_array() || (is_raw && segments.empty())) {
    throw std::runtime_error("member \"image.segments\" is not a non-empty array");
  }
  if (!is_raw) {
    const json& container = Reader::member(image, "container", "image.");
    ContainerRecord out;
    out.file = Reader::string(container, "file", "image.container.");
    out.volume_urn = Reader::string(container, "volume", "image.container.");
    out.image_urn = Reader::string(container, "image", "image.container.");
    out.compression = Reader::string(container, "compression", "image.container.");
    out.chunk_size =
        static_cast<std::uint32_t>(Reader::number(container, "chunk_size", "image.container."));
    out.stored_chunks = Reader::number(container, "stored_chunks", "image.container.");
    out.zero_chunks = Reader::number(container, "zero_chunks", "image.container.");
    record.container = std::move(out);
  }
  for (const json& item : segments) {
    SegmentRecord segment;
    segment.file = Reader::string(item, "file", "image.segments[].");
    segment.offset = Reader::number(item, "offset", "image.segments[].");
    segment.size = Reader::number(item, "size", "image.segments[].");
    segment.hashes =
        Reader::digests(Reader::member(item, "hashes", "image.segments[]."), "segments[].hashes");
    record.segments.push_back(std::move(segment));
  }
  return record;
}

}  // namespace

std::string defect_cause(const Defect& defect) {
  if (!defect.reason.empty()) {
    return defect.reason;
  }
  return std::strerror(defect.sys_errno);
}

std::string describe_fill(const std::string& defect_fill) {
  if (defect_fill == "zero") {
    return "zeros";
  }
  if (defect_fill == "unreadable-pattern") {
    return "the UNREADABLEDATA pattern";
  }
  if (defect_fill == "source-image") {
    return "what the source image holds";
  }
  return "the byte " + defect_fill;
}

std::string post_verification_json(const AcquisitionRecord& record) {
  json out{{"format", "custody-post-verification"},
           {"version", 1},
           {"verification", post_verification_to_json(record)}};
  return out.dump(2) + "\n";
}

std::string record_to_json(const AcquisitionRecord& record, bool pretty) {
  json body = record_body(record);
  body["record_sha256"] = sha256_hex(canonical(body));
  return pretty ? body.dump(2, ' ', false, json::error_handler_t::replace) + "\n" : canonical(body);
}

Result<LoadedRecord> parse_record(std::string_view text) {
  json body = internal::parse_untrusted_json(text);
  if (body.is_discarded() || !body.is_object()) {
    return make_error(Errc::corrupt,
                      "not a custody acquisition record: the file is not valid JSON");
  }
  try {
    const std::string format = Reader::string(body, "format");
    if (format != k_record_format) {
      return make_error(Errc::unsupported,
                        fmt::format("not an acquisition record: format is \"{}\", expected \"{}\"",
                                    format, k_record_format));
    }
    const std::uint64_t version = Reader::number(body, "version");
    if (version != static_cast<std::uint64_t>(k_record_version)) {
      return make_error(Errc::unsupported,
                        fmt::format("acquisition record version {} is not supported (this is "
                                    "custody for version {}); use a newer custody",
                                    version, k_record_version));
    }
    LoadedRecord loaded;
    loaded.recorded_digest = Reader::string(body, "record_sha256");
    body.erase("record_sha256");
    loaded.computed_digest = sha256_hex(canonical(body));
    loaded.digest_matches = loaded.computed_digest == loaded.recorded_digest;
    loaded.record = record_from_json(body);
    return loaded;
  } catch (const std::exception& problem) {
    return make_error(Errc::corrupt, fmt::format("damaged acquisition record: {}", problem.what()));
  }
}

Result<LoadedRecord> load_record(const std::string& path) {
  auto text = internal::read_small_file(path, k_record_size_limit);
  CUSTODY_TRY(text);
  auto loaded = parse_record(*text);
  if (!loaded) {
    loaded.error().path = path;
  }
  return loaded;
}

}  // namespace custody
