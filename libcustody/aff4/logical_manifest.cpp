// SPDX-License-Identifier: Apache-2.0
// The file list of a logical acquisition (custody/files.json) and the path encoding it shares with
// member names and URNs.
#include "aff4/logical_json.hpp"
#include "core/untrusted_json.hpp"

#include <custody/logical.hpp>

#include <fmt/format.h>

#include <cstdio>
#include <ctime>
#include <type_traits>
#include <utility>

namespace custody {

using nlohmann::json;

namespace {

// Bytes kept as they are in ASCII: what an IRI path allows, less "%" (the escape itself).
bool keep_ascii(unsigned char c) {
  if (c <= 0x20 || c >= 0x7F) {
    return false;
  }
  switch (c) {
    case '%':
    case '<':
    case '>':
    case '"':
    case '{':
    case '}':
    case '|':
    case '^':
    case '`':
    case '\\':
    case '#':
    case '?':
      return false;
    default:
      return true;
  }
}

// Length of the valid UTF-8 sequence (beyond ASCII, and not a C1 control) starting at `at`, or 0.
std::size_t utf8_sequence(std::string_view text, std::size_t at) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(at);
  std::size_t length = 0;
  std::uint32_t code = 0;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
    code = lead & 0x1FU;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    code = lead & 0x0FU;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    code = lead & 0x07U;
  } else {
    return 0;
  }
  if (at + length > text.size()) {
    return 0;
  }
  for (std::size_t i = 1; i < length; ++i) {
    if ((byte(at + i) & 0xC0U) != 0x80U) {
      return 0;
    }
    code = (code << 6U) | (byte(at + i) & 0x3FU);
  }
  const bool overlong = (length == 3 && code < 0x800) || (length == 4 && code < 0x10000);
  const bool invalid = code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF) || code < 0xA0;
  return overlong || invalid ? 0 : length;
}

void encode_component(std::string_view component, std::string& out) {
  if (component == "..") {
    out += "%2E%2E";  // never a parent-directory step in any reader
    return;
  }
  for (std::size_t i = 0; i < component.size();) {
    const auto c = static_cast<unsigned char>(component[i]);
    if (keep_ascii(c)) {
      out += static_cast<char>(c);
      ++i;
    } else if (const std::size_t length = utf8_sequence(component, i); length > 0) {
      out.append(component.substr(i, length));
      i += length;
    } else {
      out += fmt::format("%{:02X}", c);
      ++i;
    }
  }
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  return -1;
}

// Typed access to outside JSON: a missing or mistyped member is an Errc::corrupt naming it, where
// `where` is the path of the object that holds it ("entries[].").
Result<const json*> member(const json& object, const char* name, const char* where) {
  if (!object.is_object() || !object.contains(name)) {
    return make_error(Errc::corrupt, fmt::format("missing member \"{}{}\"", where, name));
  }
  return &object.at(name);
}

Result<std::string> string_of(const json& object, const char* name, const char* where) {
  auto value = member(object, name, where);
  CUSTODY_TRY(value);
  if (!(*value)->is_string()) {
    return make_error(Errc::corrupt, fmt::format("member \"{}{}\" is not a string", where, name));
  }
  return (*value)->get<std::string>();
}

Result<std::uint64_t> number_of(const json& object, const char* name, const char* where) {
  auto value = member(object, name, where);
  CUSTODY_TRY(value);
  if (!(*value)->is_number_unsigned()) {
    return make_error(Errc::corrupt,
                      fmt::format("member \"{}{}\" is not a non-negative integer", where, name));
  }
  return (*value)->get<std::uint64_t>();
}

std::string optional_string(const json& object, const char* name) {
  if (object.is_object() && object.contains(name) && object.at(name).is_string()) {
    return object.at(name).get<std::string>();
  }
  return {};
}

// The member's value as json::get<T> takes it (a number or boolean for a number), or nullopt
// when absent or null.
template <typename T>
Result<std::optional<T>> optional_of(const json& object, const char* name, const char* where) {
  if (!object.is_object() || !object.contains(name) || object.at(name).is_null()) {
    return std::optional<T>();
  }
  const json& value = object.at(name);
  if constexpr (std::is_same_v<T, std::string>) {
    if (!value.is_string()) {
      return make_error(Errc::corrupt, fmt::format("member \"{}{}\" is not a string", where, name));
    }
  } else {
    static_assert(std::is_arithmetic_v<T> && !std::is_same_v<T, bool>);
    if (!value.is_number() && !value.is_boolean()) {
      return make_error(Errc::corrupt, fmt::format("member \"{}{}\" is not a number", where, name));
    }
  }
  return std::optional<T>(value.get<T>());
}

using internal::read_into;

// A member read by `reader` (one of the internal::..._from_json below).
template <typename T>
Result<void> read_part(T& out,
                       const json& object,
                       const char* name,
                       const char* where,
                       Result<T> (*reader)(const json&)) {
  auto part = member(object, name, where);
  CUSTODY_TRY(part);
  return read_into(out, reader(**part));
}

template <typename T>
json optional_json(const std::optional<T>& value) {
  return value ? json(*value) : json(nullptr);
}

Result<std::string> decoded(const std::string& encoded, const char* what) {
  auto raw = decode_logical_path(encoded);
  if (!raw) {
    return make_error(Errc::corrupt,
                      fmt::format("{} \"{}\": {}", what, encoded, raw.error().message));
  }
  return raw;
}

// A string member holding an encoded path, decoded; `what` names it in an error.
Result<std::string> decoded_member(const json& object,
                                   const char* name,
                                   const char* where,
                                   const char* what) {
  auto encoded = string_of(object, name, where);
  CUSTODY_TRY(encoded);
  return decoded(*encoded, what);
}

Result<std::vector<std::string>> strings_of(const json& value, const char* where) {
  if (!value.is_array()) {
    return make_error(Errc::corrupt, fmt::format("member \"{}\" is not an array", where));
  }
  std::vector<std::string> out;
  for (const json& item : value) {
    if (!item.is_string()) {
      return make_error(Errc::corrupt, fmt::format("member \"{}\" holds a non-string", where));
    }
    out.push_back(item.get<std::string>());
  }
  return out;
}

Result<LogicalEntryType> parse_type(const std::string& name) {
  for (auto type : {LogicalEntryType::file, LogicalEntryType::directory, LogicalEntryType::symlink,
                    LogicalEntryType::hardlink, LogicalEntryType::fifo, LogicalEntryType::socket,
                    LogicalEntryType::char_device, LogicalEntryType::block_device}) {
    if (name == logical_entry_type_name(type)) {
      return type;
    }
  }
  return make_error(Errc::corrupt, fmt::format("unknown entry type \"{}\"", name));
}

json entry_to_json(const LogicalEntry& entry) {
  json out{{"path", encode_logical_path(entry.path)},
           {"type", logical_entry_type_name(entry.type)}};
  if (entry.type == LogicalEntryType::file) {
    out["size"] = entry.size;
    out["member"] = entry.member;
    out["hashes"] = internal::digest_set_to_json(entry.hashes);
  }
  out["mode"] = optional_json(entry.mode);
  out["uid"] = optional_json(entry.uid);
  out["gid"] = optional_json(entry.gid);
  out["user"] = optional_json(entry.user);
  out["group"] = optional_json(entry.group);
  for (const auto& [name, value] : {std::pair{"mtime", &entry.mtime},
                                    {"atime", &entry.atime},
                                    {"ctime", &entry.ctime},
                                    {"btime", &entry.btime}}) {
    out[name] = value->empty() ? json(nullptr) : json(*value);
  }
  if (!entry.xattrs.empty()) {
    json xattrs = json::object();
    for (const auto& [name, value] : entry.xattrs) {
      xattrs[encode_logical_path(name)] = encode_logical_path(value);
    }
    out["xattrs"] = xattrs;
  }
  if (!entry.link_target.empty()) {
    out["link_target"] = encode_logical_path(entry.link_target);
  }
  out["inode"] = optional_json(entry.inode);
  out["nlink"] = optional_json(entry.nlink);
  if (!entry.data_ranges.empty()) {
    json ranges = json::array();
    for (const auto& [offset, length] : entry.data_ranges) {
      ranges.push_back(json::array({offset, length}));
    }
    out["data_ranges"] = ranges;
  }
  if (!entry.archive_name.empty()) {
    out["archive_name"] = encode_logical_path(entry.archive_name);
  }
  if (!entry.error.empty()) {
    out["error"] = entry.error;
  }
  return out;
}

// The members every entry has: path and type, and for a file its size, member and hashes.
Result<void> read_entry_kind(const json& item, const char* where, LogicalEntry& entry) {
  CUSTODY_TRY(read_into(entry.path, decoded_member(item, "path", where, "path")));
  auto type = string_of(item, "type", where);
  CUSTODY_TRY(type);
  CUSTODY_TRY(read_into(entry.type, parse_type(*type)));
  if (entry.type != LogicalEntryType::file) {
    return {};
  }
  CUSTODY_TRY(read_into(entry.size, number_of(item, "size", where)));
  CUSTODY_TRY(read_into(entry.member, string_of(item, "member", where)));
  auto hashes = member(item, "hashes", where);
  CUSTODY_TRY(hashes);
  return read_into(entry.hashes, internal::digest_set_from_json(**hashes, "entries[].hashes"));
}

Result<void> read_entry_owner(const json& item, const char* where, LogicalEntry& entry) {
  CUSTODY_TRY(read_into(entry.mode, optional_of<std::uint32_t>(item, "mode", where)));
  CUSTODY_TRY(read_into(entry.uid, optional_of<std::uint64_t>(item, "uid", where)));
  CUSTODY_TRY(read_into(entry.gid, optional_of<std::uint64_t>(item, "gid", where)));
  CUSTODY_TRY(read_into(entry.user, optional_of<std::string>(item, "user", where)));
  return read_into(entry.group, optional_of<std::string>(item, "group", where));
}

Result<void> read_entry_xattrs(const json& item, LogicalEntry& entry) {
  if (!item.contains("xattrs")) {
    return {};
  }
  for (const auto& [name, value] : item.at("xattrs").items()) {
    if (!value.is_string()) {
      return make_error(Errc::corrupt, "an xattr value is not a string");
    }
    auto raw_name = decoded(name, "xattr name");
    CUSTODY_TRY(raw_name);
    auto raw_value = decoded(value.get<std::string>(), "xattr value");
    CUSTODY_TRY(raw_value);
    entry.xattrs[*raw_name] = std::move(*raw_value);
  }
  return {};
}

Result<void> read_entry_data_ranges(const json& item, LogicalEntry& entry) {
  if (!item.contains("data_ranges")) {
    return {};
  }
  for (const json& range : item.at("data_ranges")) {
    if (!range.is_array() || range.size() != 2 || !range[0].is_number_unsigned() ||
        !range[1].is_number_unsigned()) {
      return make_error(Errc::corrupt, "a data range is not [offset, length]");
    }
    entry.data_ranges.emplace_back(range[0].get<std::uint64_t>(), range[1].get<std::uint64_t>());
  }
  return {};
}

Result<LogicalEntry> entry_from_json(const json& item) {
  const char* where = "entries[].";
  LogicalEntry entry;
  CUSTODY_TRY(read_entry_kind(item, where, entry));
  CUSTODY_TRY(read_entry_owner(item, where, entry));
  entry.mtime = optional_string(item, "mtime");
  entry.atime = optional_string(item, "atime");
  entry.ctime = optional_string(item, "ctime");
  entry.btime = optional_string(item, "btime");
  CUSTODY_TRY(read_entry_xattrs(item, entry));
  if (item.contains("link_target")) {
    CUSTODY_TRY(
        read_into(entry.link_target, decoded_member(item, "link_target", where, "link target")));
  }
  CUSTODY_TRY(read_into(entry.inode, optional_of<std::uint64_t>(item, "inode", where)));
  CUSTODY_TRY(read_into(entry.nlink, optional_of<std::uint64_t>(item, "nlink", where)));
  CUSTODY_TRY(read_entry_data_ranges(item, entry));
  if (item.contains("archive_name")) {
    CUSTODY_TRY(
        read_into(entry.archive_name, decoded_member(item, "archive_name", where, "archive name")));
  }
  entry.error = optional_string(item, "error");
  return entry;
}

}  // namespace

std::string encode_logical_path(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  std::size_t start = 0;
  while (true) {
    const std::size_t slash = raw.find('/', start);
    encode_component(raw.substr(start, slash == std::string_view::npos ? raw.npos : slash - start),
                     out);
    if (slash == std::string_view::npos) {
      return out;
    }
    out += '/';
    start = slash + 1;
  }
}

Result<std::string> decode_logical_path(std::string_view encoded) {
  std::string out;
  out.reserve(encoded.size());
  for (std::size_t i = 0; i < encoded.size(); ++i) {
    if (encoded[i] != '%') {
      out += encoded[i];
      continue;
    }
    const int high = i + 2 < encoded.size() ? hex_value(encoded[i + 1]) : -1;
    const int low = high >= 0 ? hex_value(encoded[i + 2]) : -1;
    if (low < 0) {
      return make_error(Errc::corrupt, "a \"%\" not followed by two hex digits in a path");
    }
    out += static_cast<char>((high << 4) | low);
    i += 2;
  }
  return out;
}

const char* logical_entry_type_name(LogicalEntryType type) {
  switch (type) {
    case LogicalEntryType::file:
      return "file";
    case LogicalEntryType::directory:
      return "directory";
    case LogicalEntryType::symlink:
      return "symlink";
    case LogicalEntryType::hardlink:
      return "hardlink";
    case LogicalEntryType::fifo:
      return "fifo";
    case LogicalEntryType::socket:
      return "socket";
    case LogicalEntryType::char_device:
      return "char-device";
    case LogicalEntryType::block_device:
      return "block-device";
  }
  return "unknown";
}

namespace internal {

std::string format_ns_time(std::int64_t seconds, std::uint32_t nanoseconds) {
  const auto time = static_cast<std::time_t>(seconds);
  std::tm parts{};
  if (::gmtime_r(&time, &parts) == nullptr) {
    return {};
  }
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z", parts.tm_year + 1900,
                     parts.tm_mon + 1, parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec,
                     nanoseconds);
}

std::optional<timespec> parse_ns_time(std::string_view text) {
  const std::string copy(text);
  std::tm parts{};
  int consumed = 0;
  if (std::sscanf(copy.c_str(), "%4d-%2d-%2d%n", &parts.tm_year, &parts.tm_mon, &parts.tm_mday,
                  &consumed) != 3 ||
      consumed != 10) {
    return std::nullopt;
  }
  std::string_view rest = text.substr(10);
  long nanoseconds = 0;
  long offset_seconds = 0;
  if (!rest.empty()) {
    int more = 0;
    const std::string tail(rest);
    if (std::sscanf(tail.c_str(), "T%2d:%2d:%2d%n", &parts.tm_hour, &parts.tm_min, &parts.tm_sec,
                    &more) != 3 ||
        more != 9) {
      return std::nullopt;
    }
    rest = rest.substr(9);
    if (rest.starts_with(".")) {
      rest = rest.substr(1);
      long scale = 100000000;
      while (!rest.empty() && rest.front() >= '0' && rest.front() <= '9') {
        nanoseconds += (rest.front() - '0') * scale;
        scale /= 10;
        rest = rest.substr(1);
      }
    }
    int hours = 0;
    int minutes = 0;
    if (rest == "Z") {
      offset_seconds = 0;
    } else if (rest.size() == 6 && (rest[0] == '+' || rest[0] == '-') &&
               std::sscanf(std::string(rest.substr(1)).c_str(), "%2d:%2d", &hours, &minutes) == 2) {
      offset_seconds = (rest[0] == '-' ? -1 : 1) * (hours * 3600L + minutes * 60L);
    } else {
      return std::nullopt;
    }
  }
  parts.tm_year -= 1900;
  parts.tm_mon -= 1;
  const std::time_t seconds = ::timegm(&parts);
  return timespec{seconds - offset_seconds, nanoseconds};
}

json digest_set_to_json(const DigestSet& digests) {
  json out = json::object();
  for (const auto& [algorithm, hex] : digests) {
    out[std::string(hash_name(algorithm))] = hex;
  }
  return out;
}

Result<DigestSet> digest_set_from_json(const json& value, const char* where) {
  if (!value.is_object()) {
    return make_error(Errc::corrupt, fmt::format("member \"{}\" is not an object", where));
  }
  DigestSet out;
  for (const auto& [name, hex] : value.items()) {
    auto algorithm = parse_hash_name(name);
    if (!algorithm || !hex.is_string()) {
      return make_error(Errc::corrupt,
                        fmt::format("unknown or invalid hash \"{}.{}\"", where, name));
    }
    out[*algorithm] = hex.get<std::string>();
  }
  return out;
}

json logical_sources_to_json(const std::vector<LogicalSourceRecord>& sources) {
  json out = json::array();
  for (const LogicalSourceRecord& source : sources) {
    json item{{"path", source.path},
              {"label", encode_logical_path(source.label)},
              {"kind", source.kind},
              {"size", optional_json(source.size)},
              {"hashes", digest_set_to_json(source.hashes)}};
    if (!source.archive_format.empty()) {
      item["archive_format"] = source.archive_format;
    }
    out.push_back(std::move(item));
  }
  return out;
}

namespace {

Result<LogicalSourceRecord> source_from_json(const json& item) {
  const char* where = "sources[].";
  LogicalSourceRecord source;
  CUSTODY_TRY(read_into(source.path, string_of(item, "path", where)));
  CUSTODY_TRY(read_into(source.label, decoded_member(item, "label", where, "label")));
  CUSTODY_TRY(read_into(source.kind, string_of(item, "kind", where)));
  CUSTODY_TRY(read_into(source.size, optional_of<std::uint64_t>(item, "size", where)));
  auto hashes = member(item, "hashes", where);
  CUSTODY_TRY(hashes);
  CUSTODY_TRY(read_into(source.hashes, digest_set_from_json(**hashes, "sources[].hashes")));
  source.archive_format = optional_string(item, "archive_format");
  return source;
}

}  // namespace

Result<std::vector<LogicalSourceRecord>> logical_sources_from_json(const json& value) {
  if (!value.is_array()) {
    return make_error(Errc::corrupt, "member \"logical.sources\" is not an array");
  }
  std::vector<LogicalSourceRecord> out;
  for (const json& item : value) {
    auto source = source_from_json(item);
    CUSTODY_TRY(source);
    out.push_back(std::move(*source));
  }
  return out;
}

json logical_filters_to_json(const LogicalFilters& filters) {
  return json{{"include", filters.include},
              {"exclude", filters.exclude},
              {"newer_than", optional_json(filters.newer_than)}};
}

Result<LogicalFilters> logical_filters_from_json(const json& value) {
  const char* where = "filters.";
  LogicalFilters filters;
  for (const auto& [name, list] :
       {std::pair{"include", &filters.include}, {"exclude", &filters.exclude}}) {
    auto strings = member(value, name, where);
    CUSTODY_TRY(strings);
    CUSTODY_TRY(read_into(*list, strings_of(**strings, fmt::format("{}{}", where, name).c_str())));
  }
  CUSTODY_TRY(read_into(filters.newer_than, optional_of<std::string>(value, "newer_than", where)));
  return filters;
}

json logical_exclusions_to_json(const LogicalExclusions& excluded) {
  return json{{"not_included", excluded.not_included},
              {"excluded", excluded.excluded},
              {"excluded_directories", excluded.excluded_directories},
              {"older", excluded.older},
              {"bytes", excluded.bytes}};
}

Result<LogicalExclusions> logical_exclusions_from_json(const json& value) {
  const char* where = "excluded.";
  LogicalExclusions out;
  for (const auto& [name, count] : {std::pair{"not_included", &out.not_included},
                                    {"excluded", &out.excluded},
                                    {"excluded_directories", &out.excluded_directories},
                                    {"older", &out.older},
                                    {"bytes", &out.bytes}}) {
    CUSTODY_TRY(read_into(*count, number_of(value, name, where)));
  }
  return out;
}

json logical_summary_to_json(const LogicalSummary& summary) {
  return json{{"manifest", summary.manifest_member},
              {"manifest_sha256", summary.manifest_sha256},
              {"files", summary.files},
              {"directories", summary.directories},
              {"links", summary.links},
              {"other", summary.other},
              {"bytes", summary.bytes},
              {"unreadable", summary.unreadable},
              {"sources", logical_sources_to_json(summary.sources)},
              {"filters", logical_filters_to_json(summary.filters)},
              {"excluded", logical_exclusions_to_json(summary.excluded)}};
}

Result<LogicalSummary> logical_summary_from_json(const json& value) {
  const char* where = "logical.";
  LogicalSummary out;
  CUSTODY_TRY(read_into(out.manifest_member, string_of(value, "manifest", where)));
  CUSTODY_TRY(read_into(out.manifest_sha256, string_of(value, "manifest_sha256", where)));
  for (const auto& [name, count] : {std::pair{"files", &out.files},
                                    {"directories", &out.directories},
                                    {"links", &out.links},
                                    {"other", &out.other},
                                    {"bytes", &out.bytes},
                                    {"unreadable", &out.unreadable}}) {
    CUSTODY_TRY(read_into(*count, number_of(value, name, where)));
  }
  CUSTODY_TRY(read_part(out.sources, value, "sources", where, &logical_sources_from_json));
  CUSTODY_TRY(read_part(out.filters, value, "filters", where, &logical_filters_from_json));
  CUSTODY_TRY(read_part(out.excluded, value, "excluded", where, &logical_exclusions_from_json));
  return out;
}

}  // namespace internal

std::string logical_manifest_to_json(const LogicalManifest& manifest) {
  json algorithms = json::array();
  for (HashAlgorithm algorithm : manifest.algorithms) {
    algorithms.push_back(std::string(hash_name(algorithm)));
  }
  json entries = json::array();
  for (const LogicalEntry& entry : manifest.entries) {
    entries.push_back(entry_to_json(entry));
  }
  json defects = json::array();
  for (const LogicalDefect& defect : manifest.defects) {
    defects.push_back(json{{"path", encode_logical_path(defect.path)},
                           {"reason", defect.reason},
                           {"errno", defect.sys_errno}});
  }
  json out{{"format", k_logical_manifest_format},
           {"version", 1},
           {"path_encoding", "percent-encoded bytes (custody-container(5))"},
           {"algorithms", algorithms},
           {"sources", internal::logical_sources_to_json(manifest.sources)},
           {"filters", internal::logical_filters_to_json(manifest.filters)},
           {"excluded", internal::logical_exclusions_to_json(manifest.excluded)},
           {"entries", entries},
           {"defects", defects}};
  return out.dump(1, ' ', false, json::error_handler_t::replace) + "\n";
}

namespace {

// Prefixes an error of reading custody/files.json with the file's name.
template <typename T>
Result<T> in_file_list(Result<T> result) {
  if (!result) {
    result.error().message = "custody/files.json: " + result.error().message;
  }
  return result;
}

// The hash algorithms the list names; an unknown one is parse_hash_name's error, as it is.
Result<void> read_algorithms(const json& body, std::vector<HashAlgorithm>& out) {
  auto names = in_file_list(member(body, "algorithms", "").and_then([](const json* value) {
    return strings_of(*value, "algorithms");
  }));
  CUSTODY_TRY(names);
  for (const std::string& name : *names) {
    auto algorithm = parse_hash_name(name);
    CUSTODY_TRY(algorithm);
    out.push_back(*algorithm);
  }
  return {};
}

Result<LogicalDefect> logical_defect_from_json(const json& item) {
  const char* where = "defects[].";
  LogicalDefect defect;
  CUSTODY_TRY(read_into(defect.path, decoded_member(item, "path", where, "path")));
  CUSTODY_TRY(read_into(defect.reason, string_of(item, "reason", where)));
  auto sys_errno = optional_of<int>(item, "errno", where);
  CUSTODY_TRY(sys_errno);
  defect.sys_errno = sys_errno->value_or(0);
  return defect;
}

// Everything after the algorithms: sources, filters, exclusions, entries and defects.
Result<void> read_manifest_body(const json& body, LogicalManifest& manifest) {
  CUSTODY_TRY(
      read_part(manifest.sources, body, "sources", "", &internal::logical_sources_from_json));
  CUSTODY_TRY(
      read_part(manifest.filters, body, "filters", "", &internal::logical_filters_from_json));
  CUSTODY_TRY(
      read_part(manifest.excluded, body, "excluded", "", &internal::logical_exclusions_from_json));
  auto entries = member(body, "entries", "");
  CUSTODY_TRY(entries);
  if (!(*entries)->is_array()) {
    return make_error(Errc::corrupt, "member \"entries\" is not an array");
  }
  for (const json& item : **entries) {
    auto entry = entry_from_json(item);
    CUSTODY_TRY(entry);
    manifest.entries.push_back(std::move(*entry));
  }
  auto defects = member(body, "defects", "");
  CUSTODY_TRY(defects);
  for (const json& item : **defects) {
    auto defect = logical_defect_from_json(item);
    CUSTODY_TRY(defect);
    manifest.defects.push_back(std::move(*defect));
  }
  return {};
}

}  // namespace

Result<LogicalManifest> parse_logical_manifest(std::string_view text) {
  // Outside input: bounded nesting (a deep "[[[[" would overflow the stack when walked).
  const json body = internal::parse_untrusted_json(text);
  if (body.is_discarded()) {
    return make_error(Errc::corrupt,
                      "custody/files.json is not JSON (or nests deeper than 64 levels)");
  }
  auto format = in_file_list(string_of(body, "format", ""));
  CUSTODY_TRY(format);
  if (*format != k_logical_manifest_format) {
    return make_error(Errc::unsupported, "custody/files.json is not a custody file list");
  }
  auto version = in_file_list(number_of(body, "version", ""));
  CUSTODY_TRY(version);
  if (*version != 1) {
    return make_error(Errc::unsupported,
                      "custody/files.json has a version this custody does not know");
  }
  LogicalManifest manifest;
  CUSTODY_TRY(read_algorithms(body, manifest.algorithms));
  CUSTODY_TRY(in_file_list(read_manifest_body(body, manifest)));
  return manifest;
}

std::optional<timespec> logical_entry_time(std::string_view text) {
  return internal::parse_ns_time(text);
}

}  // namespace custody
