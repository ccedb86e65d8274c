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
#include <limits>
#include <map>
#include <optional>
#include <type_traits>
#include <utility>

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

// Typed access to a parsed record: a missing or mistyped member is an Errc::corrupt naming it by
// its path ("image.segments[].size"); parse_record says which record it is.
class Reader {
 public:
  static Result<const json*> member(const json& object,
                                    const char* name,
                                    const std::string& where) {
    if (!object.is_object() || !object.contains(name)) {
      return make_error(Errc::corrupt, fmt::format("missing member \"{}{}\"", where, name));
    }
    return &object.at(name);
  }
  static Result<std::string> string(const json& object,
                                    const char* name,
                                    const std::string& where = "") {
    auto value = member(object, name, where);
    CUSTODY_TRY(value);
    if (!(*value)->is_string()) {
      return make_error(Errc::corrupt, fmt::format("member \"{}{}\" is not a string", where, name));
    }
    return (*value)->get<std::string>();
  }
  static Result<std::uint64_t> number(const json& object,
                                      const char* name,
                                      const std::string& where = "") {
    auto value = member(object, name, where);
    CUSTODY_TRY(value);
    const json& number = **value;
    if (!number.is_number_unsigned() &&
        !(number.is_number_integer() && number.get<std::int64_t>() >= 0)) {
      return make_error(Errc::corrupt,
                        fmt::format("member \"{}{}\" is not a non-negative integer", where, name));
    }
    return number.get<std::uint64_t>();
  }
  static Result<bool> boolean(const json& object, const char* name, const std::string& where) {
    auto value = member(object, name, where);
    CUSTODY_TRY(value);
    if (!(*value)->is_boolean()) {
      return make_error(Errc::corrupt,
                        fmt::format("member \"{}{}\" is not a boolean", where, name));
    }
    return (*value)->get<bool>();
  }
  // The member's value as json::get<T> takes it (a number or boolean for a number), or nullopt
  // when absent or null.
  template <typename T>
  static Result<std::optional<T>> optional(const json& object,
                                           const char* name,
                                           const std::string& where) {
    if (!object.is_object() || !object.contains(name) || object.at(name).is_null()) {
      return std::optional<T>();
    }
    const json& value = object.at(name);
    if (!holds<T>(value)) {
      return make_error(Errc::corrupt,
                        fmt::format("member \"{}{}\" is not {}", where, name, kind_of<T>()));
    }
    return std::optional<T>(value.get<T>());
  }
  // The digests in member `name` of `object`; `label` names that member in an error.
  static Result<DigestSet> digests(const json& object,
                                   const char* name,
                                   const std::string& where,
                                   const std::string& label) {
    auto value = member(object, name, where);
    CUSTODY_TRY(value);
    if (!(*value)->is_object()) {
      return make_error(Errc::corrupt, fmt::format("member \"{}\" is not an object", label));
    }
    DigestSet out;
    for (const auto& [key, hex] : (*value)->items()) {
      auto algorithm = parse_hash_name(key);
      if (!algorithm || !hex.is_string()) {
        return make_error(Errc::corrupt,
                          fmt::format("unknown or invalid hash \"{}.{}\"", label, key));
      }
      out[*algorithm] = hex.get<std::string>();
    }
    return out;
  }

 private:
  template <typename T>
  static bool holds(const json& value) {
    if constexpr (std::is_same_v<T, std::string>) {
      return value.is_string();
    } else if constexpr (std::is_same_v<T, bool>) {
      return value.is_boolean();
    } else if constexpr (std::is_unsigned_v<T>) {
      // A size or count: a non-negative integer that T holds, never cut or wrapped.
      if (value.is_number_unsigned()) {
        return value.get<std::uint64_t>() <= std::numeric_limits<T>::max();
      }
      return value.is_number_integer() && value.get<std::int64_t>() >= 0 &&
             static_cast<std::uint64_t>(value.get<std::int64_t>()) <= std::numeric_limits<T>::max();
    } else {
      return value.is_number() || value.is_boolean();
    }
  }
  template <typename T>
  static const char* kind_of() {
    if constexpr (std::is_same_v<T, std::string>) {
      return "a string";
    } else if constexpr (std::is_same_v<T, bool>) {
      return "a boolean";
    } else if constexpr (std::is_unsigned_v<T>) {
      return "a non-negative integer in range";
    } else {
      return "a number";
    }
  }
};

using internal::read_into;

Result<AcquisitionStatus> parse_status(const std::string& text) {
  for (AcquisitionStatus status :
       {AcquisitionStatus::complete, AcquisitionStatus::interrupted, AcquisitionStatus::failed}) {
    if (text == status_name(status)) {
      return status;
    }
  }
  return make_error(Errc::corrupt, fmt::format("unknown status \"{}\"", text));
}

Result<SourceKind> parse_kind(const std::string& text) {
  for (SourceKind kind : {SourceKind::file, SourceKind::block_device, SourceKind::stream}) {
    if (text == source_kind_name(kind)) {
      return kind;
    }
  }
  return make_error(Errc::corrupt, fmt::format("unknown source kind \"{}\"", text));
}

// A non-negative integer member kept in 32 bits (sector and chunk sizes); a larger value is
// corrupt, never cut to its low bits.
Result<std::uint32_t> number32(const json& object, const char* name, const std::string& where) {
  auto value = Reader::number(object, name, where);
  CUSTODY_TRY(value);
  if (*value > std::numeric_limits<std::uint32_t>::max()) {
    return make_error(Errc::corrupt, fmt::format("member \"{}{}\" is {}, more than 32 bits hold",
                                                 where, name, *value));
  }
  return static_cast<std::uint32_t>(*value);
}

Result<std::vector<ByteRange>> ranges_from_json(const json& object, const char* name) {
  auto items = Reader::member(object, name, "imported_from.");
  CUSTODY_TRY(items);
  if (!(*items)->is_array()) {
    return make_error(Errc::corrupt,
                      fmt::format("member \"imported_from.{}\" is not an array", name));
  }
  std::vector<ByteRange> out;
  for (const json& item : **items) {
    ByteRange range;
    CUSTODY_TRY(read_into(range.offset, Reader::number(item, "offset", "imported_from.ranges[].")));
    CUSTODY_TRY(read_into(range.length, Reader::number(item, "length", "imported_from.ranges[].")));
    out.push_back(range);
  }
  return out;
}

Result<std::vector<ImportedFile>> imported_files_from_json(const json& object) {
  auto files = Reader::member(object, "files", "imported_from.");
  CUSTODY_TRY(files);
  if (!(*files)->is_array()) {
    return make_error(Errc::corrupt, "member \"imported_from.files\" is not an array");
  }
  std::vector<ImportedFile> out;
  for (const json& file : **files) {
    ImportedFile imported;
    CUSTODY_TRY(read_into(imported.name, Reader::string(file, "name", "imported_from.files[].")));
    CUSTODY_TRY(read_into(imported.size, Reader::number(file, "size", "imported_from.files[].")));
    out.push_back(std::move(imported));
  }
  return out;
}

Result<std::map<std::string, std::string>> imported_headers_from_json(const json& object) {
  auto headers = Reader::member(object, "headers", "imported_from.");
  CUSTODY_TRY(headers);
  std::map<std::string, std::string> out;
  for (const auto& [name, value] : (*headers)->items()) {
    if (!value.is_string()) {
      return make_error(Errc::corrupt,
                        fmt::format("imported_from.headers.{} is not a string", name));
    }
    out[name] = value.get<std::string>();
  }
  return out;
}

Result<ImportRecord> import_from_json(const json& object) {
  const char* where = "imported_from.";
  ImportRecord imported;
  CUSTODY_TRY(read_into(imported.format, Reader::string(object, "format", where)));
  CUSTODY_TRY(read_into(imported.files, imported_files_from_json(object)));
  CUSTODY_TRY(read_into(imported.bytes_per_sector, number32(object, "bytes_per_sector", where)));
  if (imported.bytes_per_sector == 0) {
    return make_error(Errc::corrupt, "imported_from.bytes_per_sector is 0");
  }
  CUSTODY_TRY(read_into(imported.claimed_hashes, Reader::digests(object, "claimed_hashes", where,
                                                                 "imported_from.claimed_hashes")));
  CUSTODY_TRY(
      read_into(imported.hashes_match, Reader::optional<bool>(object, "hashes_match", where)));
  CUSTODY_TRY(read_into(imported.headers, imported_headers_from_json(object)));
  CUSTODY_TRY(read_into(imported.acquiry_errors, ranges_from_json(object, "acquiry_errors")));
  CUSTODY_TRY(read_into(imported.checksum_errors, ranges_from_json(object, "checksum_errors")));
  return imported;
}

// Status (and the error of a failed acquisition), tool and host.
Result<void> read_origin(const json& body, AcquisitionRecord& record) {
  auto status = Reader::string(body, "status");
  CUSTODY_TRY(status);
  CUSTODY_TRY(read_into(record.status, parse_status(*status)));
  if (record.status == AcquisitionStatus::failed) {
    auto error = Reader::optional<std::string>(body, "error", "");
    CUSTODY_TRY(error);
    record.error = error->value_or("");
  }
  auto tool = Reader::member(body, "tool", "");
  CUSTODY_TRY(tool);
  CUSTODY_TRY(read_into(record.tool_name, Reader::string(**tool, "name", "tool.")));
  CUSTODY_TRY(read_into(record.tool_version, Reader::string(**tool, "version", "tool.")));
  auto host = Reader::member(body, "host", "");
  CUSTODY_TRY(host);
  CUSTODY_TRY(read_into(record.hostname, Reader::string(**host, "hostname", "host.")));
  return read_into(record.system, Reader::string(**host, "system", "host."));
}

Result<CaseInfo> case_from_json(const json& body) {
  auto fields = Reader::member(body, "case", "");
  CUSTODY_TRY(fields);
  CaseInfo info;
  for (const auto& [name, value] : {std::pair{"case_number", &info.case_number},
                                    {"evidence_number", &info.evidence_number},
                                    {"examiner", &info.examiner},
                                    {"description", &info.description},
                                    {"notes", &info.notes}}) {
    CUSTODY_TRY(read_into(*value, Reader::optional<std::string>(**fields, name, "case.")));
  }
  return info;
}

// The source's optional description: sizes, read-only flags and what the drive says of itself.
Result<void> read_source_details(const json& source, SourceInfo& out) {
  const std::string where = "source.";
  CUSTODY_TRY(read_into(out.size, Reader::optional<std::uint64_t>(source, "size", where)));
  for (const auto& [name, value] : {std::pair{"logical_sector_size", &out.logical_sector_size},
                                    {"physical_sector_size", &out.physical_sector_size}}) {
    CUSTODY_TRY(read_into(*value, Reader::optional<std::uint32_t>(source, name, where)));
  }
  CUSTODY_TRY(
      read_into(out.kernel_read_only, Reader::optional<bool>(source, "kernel_read_only", where)));
  for (const auto& [name, value] : {std::pair{"vendor", &out.vendor},
                                    {"model", &out.model},
                                    {"serial", &out.serial},
                                    {"firmware", &out.firmware},
                                    {"transport", &out.transport}}) {
    CUSTODY_TRY(read_into(*value, Reader::optional<std::string>(source, name, where)));
  }
  for (const auto& [name, value] :
       {std::pair{"removable", &out.removable}, {"rotational", &out.rotational}}) {
    CUSTODY_TRY(read_into(*value, Reader::optional<bool>(source, name, where)));
  }
  auto set_read_only = Reader::optional<bool>(source, "set_read_only", where);
  CUSTODY_TRY(set_read_only);
  out.set_read_only = set_read_only->value_or(false);
  auto hidden_areas = Reader::optional<std::string>(source, "hidden_areas", where);
  CUSTODY_TRY(hidden_areas);
  out.hidden_areas = hidden_areas->value_or("not checked");
  return {};
}

Result<SourceInfo> source_from_json(const json& body) {
  auto source = Reader::member(body, "source", "");
  CUSTODY_TRY(source);
  SourceInfo out;
  CUSTODY_TRY(read_into(out.path, Reader::string(**source, "path", "source.")));
  auto kind = Reader::string(**source, "kind", "source.");
  CUSTODY_TRY(kind);
  CUSTODY_TRY(read_into(out.kind, parse_kind(*kind)));
  CUSTODY_TRY(read_source_details(**source, out));
  return out;
}

Result<Defect> defect_from_json(const json& item) {
  const char* where = "defects[].";
  Defect defect;
  CUSTODY_TRY(read_into(defect.offset, Reader::number(item, "offset", where)));
  CUSTODY_TRY(read_into(defect.length, Reader::number(item, "length", where)));
  CUSTODY_TRY(read_into(defect.sector_size, number32(item, "sector_size", where)));
  auto sys_errno = Reader::number(item, "errno", where);
  CUSTODY_TRY(sys_errno);
  defect.sys_errno = static_cast<int>(*sys_errno);
  auto reason = Reader::optional<std::string>(item, "reason", where);
  CUSTODY_TRY(reason);
  defect.reason = reason->value_or("");
  if (defect.sector_size == 0) {
    return make_error(Errc::corrupt, "a defect has sector_size 0");
  }
  return defect;
}

Result<std::vector<Defect>> defects_from_json(const json& body) {
  std::vector<Defect> out;
  if (!body.contains("defects")) {
    return out;
  }
  const json& defects = body.at("defects");
  if (!defects.is_array()) {
    return make_error(Errc::corrupt, "member \"defects\" is not an array");
  }
  for (const json& item : defects) {
    auto defect = defect_from_json(item);
    CUSTODY_TRY(defect);
    out.push_back(std::move(*defect));
  }
  return out;
}

Result<PostVerification> post_verification_from_json(const json& item) {
  const char* where = "verification.";
  PostVerification check;
  CUSTODY_TRY(read_into(check.matches, Reader::boolean(item, "matches", where)));
  CUSTODY_TRY(read_into(check.hashes, Reader::digests(item, "hashes", where, "hashes")));
  CUSTODY_TRY(read_into(check.time, Reader::string(item, "time", where)));
  return check;
}

Result<void> read_verification(const json& body, AcquisitionRecord& record) {
  if (!body.contains("verification") || !body.at("verification").is_object()) {
    return {};
  }
  const json& verification = body.at("verification");
  for (const auto& [name, check] :
       {std::pair{"image", &record.image_verification}, {"source", &record.source_verification}}) {
    if (verification.contains(name)) {
      auto read = post_verification_from_json(verification.at(name));
      CUSTODY_TRY(read);
      *check = std::move(*read);
    }
  }
  return {};
}

// What the acquisition did besides reading: defect fill, resumptions, post-verification,
// import and logical acquisition.
Result<void> read_history(const json& body, AcquisitionRecord& record) {
  CUSTODY_TRY(read_into(record.defects, defects_from_json(body)));
  auto defect_fill = Reader::optional<std::string>(body, "defect_fill", "");
  CUSTODY_TRY(defect_fill);
  record.defect_fill = defect_fill->value_or("zero");
  if (body.contains("resumed") && body.at("resumed").is_array()) {
    for (const json& item : body.at("resumed")) {
      auto offset = Reader::number(item, "offset", "resumed[].");
      CUSTODY_TRY(offset);
      auto time = Reader::string(item, "time", "resumed[].");
      CUSTODY_TRY(time);
      record.resumed.emplace_back(*offset, std::move(*time));
    }
  }
  CUSTODY_TRY(read_verification(body, record));
  if (body.contains("imported_from")) {
    auto imported = import_from_json(body.at("imported_from"));
    CUSTODY_TRY(imported);
    record.imported_from = std::move(*imported);
  }
  if (body.contains("logical")) {
    auto logical = internal::logical_summary_from_json(body.at("logical"));
    CUSTODY_TRY(logical);
    record.logical = std::move(*logical);
  }
  return {};
}

Result<ContainerRecord> container_from_json(const json& image) {
  auto container = Reader::member(image, "container", "image.");
  CUSTODY_TRY(container);
  const json& item = **container;
  const char* where = "image.container.";
  ContainerRecord out;
  CUSTODY_TRY(read_into(out.file, Reader::string(item, "file", where)));
  CUSTODY_TRY(read_into(out.volume_urn, Reader::string(item, "volume", where)));
  CUSTODY_TRY(read_into(out.image_urn, Reader::string(item, "image", where)));
  CUSTODY_TRY(read_into(out.compression, Reader::string(item, "compression", where)));
  CUSTODY_TRY(read_into(out.chunk_size, number32(item, "chunk_size", where)));
  CUSTODY_TRY(read_into(out.stored_chunks, Reader::number(item, "stored_chunks", where)));
  CUSTODY_TRY(read_into(out.zero_chunks, Reader::number(item, "zero_chunks", where)));
  return out;
}

Result<SegmentRecord> segment_from_json(const json& item) {
  const char* where = "image.segments[].";
  SegmentRecord segment;
  CUSTODY_TRY(read_into(segment.file, Reader::string(item, "file", where)));
  CUSTODY_TRY(read_into(segment.offset, Reader::number(item, "offset", where)));
  CUSTODY_TRY(read_into(segment.size, Reader::number(item, "size", where)));
  CUSTODY_TRY(
      read_into(segment.hashes, Reader::digests(item, "hashes", where, "segments[].hashes")));
  return segment;
}

// The image: its format and size, the AFF4 container and the segments with their digests.
Result<void> read_image(const json& body, AcquisitionRecord& record) {
  auto image = Reader::member(body, "image", "");
  CUSTODY_TRY(image);
  CUSTODY_TRY(read_into(record.image_format, Reader::string(**image, "format", "image.")));
  if (record.image_format != "raw" && record.image_format != "aff4") {
    return make_error(Errc::corrupt,
                      fmt::format("unknown image format \"{}\"", record.image_format));
  }
  CUSTODY_TRY(read_into(record.image_size, Reader::number(**image, "size", "image.")));
  CUSTODY_TRY(read_into(record.segment_size,
                        Reader::optional<std::uint64_t>(**image, "segment_size", "image.")));
  auto segments = Reader::member(**image, "segments", "image.");
  CUSTODY_TRY(segments);
  const bool is_raw = record.image_format == "raw";
  if (!(*segments)->is_array() || (is_raw && (*segments)->empty())) {
    return make_error(Errc::corrupt, "member \"image.segments\" is not a non-empty array");
  }
  if (!is_raw) {
    auto container = container_from_json(**image);
    CUSTODY_TRY(container);
    record.container = std::move(*container);
  }
  for (const json& item : **segments) {
    auto segment = segment_from_json(item);
    CUSTODY_TRY(segment);
    record.segments.push_back(std::move(*segment));
  }
  return {};
}

Result<AcquisitionRecord> record_from_json(const json& body) {
  AcquisitionRecord record;
  CUSTODY_TRY(read_origin(body, record));
  CUSTODY_TRY(read_into(record.case_info, case_from_json(body)));
  CUSTODY_TRY(read_into(record.source, source_from_json(body)));
  CUSTODY_TRY(read_history(body, record));
  CUSTODY_TRY(read_into(record.started, Reader::string(body, "started")));
  CUSTODY_TRY(read_into(record.finished, Reader::string(body, "finished")));
  CUSTODY_TRY(read_into(record.bytes_read, Reader::number(body, "bytes_read")));
  CUSTODY_TRY(read_into(record.hashes, Reader::digests(body, "hashes", "", "hashes")));
  CUSTODY_TRY(read_image(body, record));
  return record;
}

// Prefixes an error of reading a record with what the record is.
template <typename T>
Result<T> in_record(Result<T> result) {
  if (!result) {
    result.error().message = "damaged acquisition record: " + result.error().message;
  }
  return result;
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
  auto format = in_record(Reader::string(body, "format"));
  CUSTODY_TRY(format);
  if (*format != k_record_format) {
    return make_error(Errc::unsupported,
                      fmt::format("not an acquisition record: format is \"{}\", expected \"{}\"",
                                  *format, k_record_format));
  }
  auto version = in_record(Reader::number(body, "version"));
  CUSTODY_TRY(version);
  if (*version != static_cast<std::uint64_t>(k_record_version)) {
    return make_error(Errc::unsupported,
                      fmt::format("acquisition record version {} is not supported (this is "
                                  "custody for version {}); use a newer custody",
                                  *version, k_record_version));
  }
  LoadedRecord loaded;
  CUSTODY_TRY(read_into(loaded.recorded_digest, in_record(Reader::string(body, "record_sha256"))));
  body.erase("record_sha256");
  loaded.computed_digest = sha256_hex(canonical(body));
  loaded.digest_matches = loaded.computed_digest == loaded.recorded_digest;
  CUSTODY_TRY(read_into(loaded.record, in_record(record_from_json(body))));
  return loaded;
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
