// SPDX-License-Identifier: Apache-2.0
// The file list of a logical acquisition (custody/files.json) and the path encoding it shares with
// member names and URNs.
#include "aff4/logical_json.hpp"
#include "core/untrusted_json.hpp"

#include <custody/logical.hpp>

#include <fmt/format.h>

#include <cstdio>
#include <ctime>
#include <stdexcept>

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

const json& member(const json& object, const char* name, const char* where) {
  if (!object.is_object() || !object.contains(name)) {
    throw std::runtime_error(fmt::format("missing member \"{}{}\"", where, name));
  }
  return object.at(name);
}

std::string string_of(const json& object, const char* name, const char* where) {
  const json& value = member(object, name, where);
  if (!value.is_string()) {
    throw std::runtime_error(fmt::format("member \"{}{}\" is not a string", where, name));
  }
  return value.get<std::string>();
}

std::uint64_t number_of(const json& object, const char* name, const char* where) {
  const json& value = member(object, name, where);
  if (!value.is_number_unsigned()) {
    throw std::runtime_error(
        fmt::format("member \"{}{}\" is not a non-negative integer", where, name));
  }
  return value.get<std::uint64_t>();
}

std::string optional_string(const json& object, const char* name) {
  if (object.is_object() && object.contains(name) && object.at(name).is_string()) {
    return object.at(name).get<std::string>();
  }
  return {};
}

template <typename T>
std::optional<T> optional_of(const json& object, const char* name) {
  if (!object.is_object() || !object.contains(name) || object.at(name).is_null()) {
    return std::nullopt;
  }
  return object.at(name).get<T>();
}

template <typename T>
json optional_json(const std::optional<T>& value) {
  return value ? json(*value) : json(nullptr);
}

std::string decoded(const std::string& encoded, const char* what) {
  auto raw = decode_logical_path(encoded);
  if (!raw) {
    throw std::runtime_error(fmt::format("{} \"{}\": {}", what, encoded, raw.error().message));
  }
  return *raw;
}

std::vector<std::string> strings_of(const json& value, const char* where) {
  if (!value.is_array()) {
    throw std::runtime_error(fmt::format("member \"{}\" is not an array", where));
  }
  std::vector<std::string> out;
  for (const json& item : value) {
    if (!item.is_string()) {
      throw std::runtime_error(fmt::format("member \"{}\" holds a non-string", where));
    }
    out.push_back(item.get<std::string>());
  }
  return out;
}

LogicalEntryType parse_type(const std::string& name) {
  for (auto type : {LogicalEntryType::file, LogicalEntryType::directory, LogicalEntryType::symlink,
                    LogicalEntryType::hardlink, LogicalEntryType::fifo, LogicalEntryType::socket,
                    LogicalEntryType::char_device, LogicalEntryType::block_device}) {
    if (name == logical_entry_type_name(type)) {
      return type;
    }
  }
  throw std::runtime_error(fmt::format("unknown entry type \"{}\"", name));
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

LogicalEntry entry_from_json(const json& item) {
  const char* where = "entries[].";
  LogicalEntry entry;
  entry.path = decoded(string_of(item, "path", where), "path");
  entry.type = parse_type(string_of(item, "type", where));
  if (entry.type == LogicalEntryType::file) {
    entry.size = number_of(item, "size", where);
    entry.member = string_of(item, "member", where);
    entry.hashes =
        internal::digest_set_from_json(member(item, "hashes", where), "entries[].hashes");
  }
  entry.mode = optional_of<std::uint32_t>(item, "mode");
  entry.uid = optional_of<std::uint64_t>(item, "uid");
  entry.gid = optional_of<std::uint64_t>(item, "gid");
  entry.user = optional_of<std::string>(item, "user");
  entry.group = optional_of<std::string>(item, "group");
  entry.mtime = optional_string(item, "mtime");
  entry.atime = optional_string(item, "atime");
  entry.ctime = optional_string(item, "ctime");
  entry.btime = optional_string(item, "btime");
  if (item.contains("xattrs")) {
    for (const auto& [name, value] : item.at("xattrs").items()) {
      if (!value.is_string()) {
        throw std::runtime_error("an xattr value is not a string");
      }
      entry.xattrs[decoded(name, "xattr name")] = decoded(value.get<std::string>(), "xattr value");
    }
  }
  if (item.contains("link_target")) {
    entry.link_target = decoded(string_of(item, "link_target", where), "link target");
  }
  entry.inode = optional_of<std::uint64_t>(item, "inode");
  entry.nlink = optional_of<std::uint64_t>(item, "nlink");
  if (item.contains("data_ranges")) {
    for (const json& range : item.at("data_ranges")) {
      if (!range.is_array() || range.size() != 2 || !range[0].is_number_unsigned() ||
          !range[1].is_number_unsigned()) {
        throw std::runtime_error("a data range is not [offset, length]");
      }
      entry.data_ranges.emplace_back(range[0].get<std::uint64_t>(), range[1].get<std::uint64_t>());
    }
  }
  if (item.contains("archive_name")) {
    entry.archive_name = decoded(string_of(item, "archive_name", where), "archive name");
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

DigestSet digest_set_from_json(const json& value, const char* where) {
  if (!value.is_object()) {
    throw std::runtime_error(fmt::format("member \"{}\" is not an object", where));
  }
  DigestSet out;
  for (const auto& [name, hex] : value.items()) {
    auto algorithm = parse_hash_name(name);
    if (!algorithm || !hex.is_string()) {
      throw std::runtime_error(fmt::format("unknown or invalid hash \"{}.{}\"", where, name));
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

std::vector<LogicalSourceRecord> logical_sources_from_json(const json& value) {
  if (!value.is_array()) {
    throw std::runtime_error("member \"logical.sources\" is not an array");
  }
  std::vector<LogicalSourceRecord> out;
  for (const json& item : value) {
    LogicalSourceRecord source;
    source.path = string_of(item, "path", "sources[].");
    source.label = decoded(string_of(item, "label", "sources[]."), "label");
    source.kind = string_of(item, "kind", "sources[].");
    source.size = optional_of<std::uint64_t>(item, "size");
    source.hashes = digest_set_from_json(member(item, "hashes", "sources[]."), "sources[].hashes");
    source.archive_format = optional_string(item, "archive_format");
    out.push_back(std::move(source));
  }
  return out;
}

json logical_filters_to_json(const LogicalFilters& filters) {
  return json{{"include", filters.include},
              {"exclude", filters.exclude},
              {"newer_than", optional_json(filters.newer_than)}};
}

LogicalFilters logical_filters_from_json(const json& value) {
  LogicalFilters filters;
  filters.include = strings_of(member(value, "include", "filters."), "filters.include");
  filters.exclude = strings_of(member(value, "exclude", "filters."), "filters.exclude");
  filters.newer_than = optional_of<std::string>(value, "newer_than");
  return filters;
}

json logical_exclusions_to_json(const LogicalExclusions& excluded) {
  return json{{"not_included", excluded.not_included},
              {"excluded", excluded.excluded},
              {"excluded_directories", excluded.excluded_directories},
              {"older", excluded.older},
              {"bytes", excluded.bytes}};
}

LogicalExclusions logical_exclusions_from_json(const json& value) {
  const char* where = "excluded.";
  LogicalExclusions out;
  out.not_included = number_of(value, "not_included", where);
  out.excluded = number_of(value, "excluded", where);
  out.excluded_directories = number_of(value, "excluded_directories", where);
  out.older = number_of(value, "older", where);
  out.bytes = number_of(value, "bytes", where);
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

LogicalSummary logical_summary_from_json(const json& value) {
  const char* where = "logical.";
  LogicalSummary out;
  out.manifest_member = string_of(value, "manifest", where);
  out.manifest_sha256 = string_of(value, "manifest_sha256", where);
  out.files = number_of(value, "files", where);
  out.directories = number_of(value, "directories", where);
  out.links = number_of(value, "links", where);
  out.other = number_of(value, "other", where);
  out.bytes = number_of(value, "bytes", where);
  out.unreadable = number_of(value, "unreadable", where);
  out.sources = logical_sources_from_json(member(value, "sources", where));
  out.filters = logical_filters_from_json(member(value, "filters", where));
  out.excluded = logical_exclusions_from_json(member(value, "excluded", where));
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

Result<LogicalManifest> parse_logical_manifest(std::string_view text) {
  try {
    // Outside input: bounded nesting (a deep "[[[[" would overflow the stack when walked).
    const json body = internal::parse_untrusted_json(text);
    if (body.is_discarded()) {
      return make_error(Errc::corrupt,
                        "custody/files.json is not JSON (or nests deeper than 64 levels)");
    }
    if (string_of(body, "format", "") != k_logical_manifest_format) {
      return make_error(Errc::unsupported, "custody/files.json is not a custody file list");
    }
    if (number_of(body, "version", "") != 1) {
      return make_error(Errc::unsupported,
                        "custody/files.json has a version this custody does not know");
    }
    LogicalManifest manifest;
    for (const std::string& name : strings_of(member(body, "algorithms", ""), "algorithms")) {
      auto algorithm = parse_hash_name(name);
      CUSTODY_TRY(algorithm);
      manifest.algorithms.push_back(*algorithm);
    }
    manifest.sources = internal::logical_sources_from_json(member(body, "sources", ""));
    manifest.filters = internal::logical_filters_from_json(member(body, "filters", ""));
    manifest.excluded = internal::logical_exclusions_from_json(member(body, "excluded", ""));
    const json& entries = member(body, "entries", "");
    if (!entries.is_array()) {
      throw std::runtime_error("member \"entries\" is not an array");
    }
    for (const json& item : entries) {
      manifest.entries.push_back(entry_from_json(item));
    }
    for (const json& item : member(body, "defects", "")) {
      manifest.defects.push_back(LogicalDefect{
          decoded(string_of(item, "path", "defects[]."), "path"),
          string_of(item, "reason", "defects[]."), optional_of<int>(item, "errno").value_or(0)});
    }
    return manifest;
  } catch (const std::exception& error) {
    return make_error(Errc::corrupt, fmt::format("custody/files.json: {}", error.what()));
  }
}

}  // namespace custody
