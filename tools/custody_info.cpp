// SPDX-License-Identifier: Apache-2.0
// custody-info: show what an acquisition record says was acquired.
#include "common/tool_main.hpp"

#include <custody/acquisition.hpp>
#include <custody/container.hpp>
#include <custody/evidence.hpp>
#include <custody/logical.hpp>
#include <custody/record.hpp>
#include <custody/text.hpp>

#include <fmt/format.h>

#include <cstring>

namespace custody::tools {
namespace {

constexpr const char* k_tool = "custody-info";

template <typename T>
std::string or_unknown(const std::optional<T>& value) {
  return value ? fmt::format("{}", *value) : std::string("unknown");
}

void print_field(const char* label, const std::optional<std::string>& value) {
  if (value) {
    fmt::print("  {:<12} {}\n", label, *value);
  }
}

void print_record(const AcquisitionRecord& record, bool digest_matches) {
  fmt::print("acquisition  {}{}\n", status_name(record.status),
             record.status == AcquisitionStatus::failed ? ": " + record.error : "");
  fmt::print("case\n");
  print_field("case", record.case_info.case_number);
  print_field("evidence", record.case_info.evidence_number);
  print_field("examiner", record.case_info.examiner);
  print_field("description", record.case_info.description);
  print_field("notes", record.case_info.notes);
  const SourceInfo& source = record.source;
  fmt::print("source\n");
  fmt::print("  {:<12} {}\n", "path", source.path);
  fmt::print("  {:<12} {}\n", "kind", source_kind_name(source.kind));
  fmt::print(
      "  {:<12} {}\n", "size",
      source.size ? std::to_string(*source.size) + " bytes" : std::string("unknown (stream)"));
  fmt::print("  {:<12} {} logical, {} physical\n", "sectors",
             or_unknown(source.logical_sector_size), or_unknown(source.physical_sector_size));
  fmt::print("  {:<12} {}\n", "read-only",
             source.kernel_read_only ? (*source.kernel_read_only ? "yes (kernel)" : "no (kernel)")
                                     : "not applicable");
  fmt::print("  {:<12} {}\n", "vendor", source.vendor.value_or("unknown"));
  fmt::print("  {:<12} {}\n", "model", source.model.value_or("unknown"));
  fmt::print("  {:<12} {}\n", "serial", source.serial.value_or("unknown"));
  fmt::print("  {:<12} {}\n", "firmware", source.firmware.value_or("unknown"));
  fmt::print("  {:<12} {}\n", "bus", source.transport.value_or("unknown"));
  const auto yes_no = [](const std::optional<bool>& value) {
    return value ? (*value ? "yes" : "no") : "unknown";
  };
  fmt::print("  {:<12} {}\n", "removable", yes_no(source.removable));
  fmt::print("  {:<12} {}\n", "rotational", yes_no(source.rotational));
  if (source.set_read_only) {
    fmt::print("  {:<12} {}\n", "protection", "set read-only in the kernel by custody-acquire");
  }
  fmt::print("  {:<12} {}\n", "hidden areas", source.hidden_areas);
  fmt::print("acquired\n");
  fmt::print("  {:<12} {}\n", "started", record.started);
  fmt::print("  {:<12} {}\n", "finished", record.finished);
  fmt::print("  {:<12} {} {} on {} ({})\n", "tool", record.tool_name, record.tool_version,
             record.hostname, record.system);
  fmt::print("  {:<12} {} bytes\n", "bytes read", record.bytes_read);
  fmt::print("image\n");
  if (record.container) {
    fmt::print("  {:<12} {} bytes ({})\n", "size", record.image_size,
               format_bytes(record.image_size));
  } else {
    fmt::print("  {:<12} {} bytes ({}) in {} segment{}\n", "size", record.image_size,
               format_bytes(record.image_size), record.segments.size(),
               record.segments.size() == 1 ? "" : "s");
  }
  for (const auto& [algorithm, hex] : record.hashes) {
    fmt::print("  {:<12} {}\n", hash_name(algorithm), hex);
  }
  if (record.container) {
    fmt::print("  {:<12} {} ({}, {}-byte chunks: {} stored, {} all-zero not stored)\n", "container",
               record.container->file, record.container->compression, record.container->chunk_size,
               record.container->stored_chunks, record.container->zero_chunks);
  } else {
    fmt::print("segments\n");
  }
  for (const SegmentRecord& segment : record.segments) {
    fmt::print("  {}  offset {}  size {}\n", segment.file, segment.offset, segment.size);
  }
  if (!record.defects.empty()) {
    fmt::print("defects      unreadable at acquisition, filled with {}\n", record.defect_fill);
    for (const Defect& defect : record.defects) {
      fmt::print("  {}\n", describe_defect(defect));
    }
  }
  if (!digest_matches) {
    fmt::print("warning: this record was edited after acquisition (record_sha256 mismatch)\n");
  }
}

ExitCode run_record(const std::string& path, const CommonOptions& common);

void print_container(const ContainerInfo& info) {
  fmt::print("container    {}{}\n", info.paths.front(),
             info.paths.size() > 1 ? fmt::format(" (+{} more volumes)", info.paths.size() - 1)
                                   : std::string());
  fmt::print("  {:<12} AFF4 1.0, written by {}\n", "format",
             info.tool.empty() ? "unknown" : info.tool);
  fmt::print("  {:<12} {}\n", "volume", info.volume_urn);
  fmt::print("image        {}\n", info.image_urn);
  fmt::print("  {:<12} {} bytes ({})\n", "size", info.size, format_bytes(info.size));
  for (const auto& [algorithm, hex] : info.linear_hashes) {
    fmt::print("  {:<12} {}\n", hash_name(algorithm), hex);
  }
  if (info.block_map_hash) {
    fmt::print("  {:<12} {}\n", "blockMapHash", *info.block_map_hash);
  }
  for (const auto& [name, value] : info.image_properties) {
    fmt::print("  {:<12} {}\n", name, value);
  }
  const ContainerMapSummary& map = info.map;
  fmt::print("map          {} entries\n", map.entries);
  fmt::print("  {:<12} {} bytes stored, {} zero, {} filled, {} not acquired, {} unreadable\n",
             "content", map.stream_bytes, map.zero_bytes, map.fill_bytes, map.unknown_bytes,
             map.unreadable_bytes);
  for (const auto& [offset, length] : map.unreadable_ranges) {
    fmt::print("  {:<12} bytes {}..{} ({} bytes) could not be read\n", "unreadable", offset,
               offset + length, length);
  }
  for (const ContainerStream& stream : info.streams) {
    fmt::print("stream       {}\n", stream.urn);
    fmt::print("  {:<12} {} bytes, {} compression, {}-byte chunks, {} per bevy\n", "layout",
               stream.size, stream.compression, stream.chunk_size, stream.chunks_per_bevy);
  }
  for (const auto& [type, fields] : info.case_metadata) {
    fmt::print("{}\n", type);
    for (const auto& [name, value] : fields) {
      fmt::print("  {:<12} {}\n", name, value);
    }
  }
  fmt::print("members      {}\n", info.members.size());
  for (const ContainerMember& member : info.members) {
    fmt::print("  {:>12}  {}\n", member.size, member.name);
  }
}

ExitCode run_container(const std::vector<std::string>& paths, const CommonOptions& common) {
  auto container = Container::open(paths);
  if (!container) {
    return report_error(k_tool, container.error());
  }
  const ContainerInfo& info = (*container)->info();
  if (common.json) {
    fmt::print("{}", container_info_to_json(info));
    return ExitCode::ok;
  }
  if (common.quiet) {
    return ExitCode::ok;
  }
  print_container(info);
  if (info.custody_record) {
    auto loaded = parse_record(*info.custody_record);
    if (!loaded) {
      print_warning(k_tool, "custody/acquisition.json is damaged: " + loaded.error().message);
    } else {
      fmt::print("custody record (custody/acquisition.json)\n");
      print_record(loaded->record, loaded->digest_matches);
    }
  }
  return ExitCode::ok;
}

// "rw-r--r--"-style permissions for a listing.
std::string mode_text(const std::optional<std::uint32_t>& mode) {
  if (!mode) {
    return "?????????";
  }
  std::string text;
  for (int shift = 6; shift >= 0; shift -= 3) {
    text += (*mode >> (shift + 2)) & 1U ? 'r' : '-';
    text += (*mode >> (shift + 1)) & 1U ? 'w' : '-';
    text += (*mode >> shift) & 1U ? 'x' : '-';
  }
  return text;
}

void print_logical(const LogicalContainer& container) {
  const LogicalManifest& manifest = container.manifest();
  fmt::print("container    {}\n", container.path());
  fmt::print("  {:<12} AFF4-L (logical), written by {}\n", "format",
             container.tool().empty() ? "unknown" : container.tool());
  fmt::print("  {:<12} {}\n", "volume", container.volume_urn());
  for (const LogicalSourceRecord& source : manifest.sources) {
    fmt::print("source       {} ({}{})\n", source.path, source.kind,
               source.archive_format.empty() ? "" : ", " + source.archive_format);
    for (const auto& [algorithm, hex] : source.hashes) {
      fmt::print("  {:<12} {}\n", hash_name(algorithm), hex);
    }
  }
  const LogicalFilters& filters = manifest.filters;
  for (const std::string& glob : filters.include) {
    fmt::print("filter       include {}\n", glob);
  }
  for (const std::string& glob : filters.exclude) {
    fmt::print("filter       exclude {}\n", glob);
  }
  if (filters.newer_than) {
    fmt::print("filter       newer than {}\n", *filters.newer_than);
  }
  const LogicalExclusions& excluded = manifest.excluded;
  if (!filters.include.empty() || !filters.exclude.empty() || filters.newer_than) {
    fmt::print(
        "left out     {} not included, {} excluded, {} not newer, {} excluded directories "
        "({} bytes)\n",
        excluded.not_included, excluded.excluded, excluded.older, excluded.excluded_directories,
        excluded.bytes);
  }
  fmt::print("entries      {}\n", manifest.entries.size());
  for (const LogicalEntry& entry : manifest.entries) {
    std::string extra;
    if (entry.type == LogicalEntryType::symlink || entry.type == LogicalEntryType::hardlink) {
      extra = " -> " + encode_logical_path(entry.link_target);
    }
    if (!entry.data_ranges.empty()) {
      extra += " (sparse)";
    }
    if (!entry.error.empty()) {
      extra += " [" + entry.error + "]";
    }
    fmt::print("  {:<9} {} {:>12}  {:<30}  {}{}\n", logical_entry_type_name(entry.type),
               mode_text(entry.mode), entry.size, entry.mtime.empty() ? "-" : entry.mtime,
               encode_logical_path(entry.path), extra);
    if (entry.type == LogicalEntryType::file) {
      for (const auto& [algorithm, hex] : entry.hashes) {
        fmt::print("  {:>22} {}\n", hash_name(algorithm), hex);
      }
    }
  }
  for (const LogicalDefect& defect : manifest.defects) {
    fmt::print("defect       {}: {}\n", encode_logical_path(defect.path), defect.reason);
  }
}

ExitCode run_logical(const std::string& path, const CommonOptions& common) {
  auto container = LogicalContainer::open(path);
  if (!container) {
    return report_error(k_tool, container.error());
  }
  const LogicalContainer& logical = **container;
  if (common.json) {
    // The file list as stored (or as read from information.turtle), with the container's facts.
    print_json(
        {{"format", "custody-logical-info"},
         {"version", 1},
         {"container", encode_logical_path(path)},
         {"volume", logical.volume_urn()},
         {"files", nlohmann::ordered_json::parse(logical_manifest_to_json(logical.manifest()))}});
    return ExitCode::ok;
  }
  if (common.quiet) {
    return ExitCode::ok;
  }
  print_logical(logical);
  if (logical.custody_record()) {
    auto loaded = parse_record(*logical.custody_record());
    if (!loaded) {
      print_warning(k_tool, "custody/acquisition.json is damaged: " + loaded.error().message);
    } else {
      fmt::print("custody record (custody/acquisition.json)\n");
      print_record(loaded->record, loaded->digest_matches);
    }
  }
  return ExitCode::ok;
}

// What the paths are is the library's call (identify_evidence, by content); this tool shows
// containers and records, and names the tool for the other kinds.
ExitCode run(const std::vector<std::string>& paths, const CommonOptions& common) {
  auto items = identify_evidence(paths);
  if (!items) {
    return report_error(k_tool, items.error());
  }
  if (items->size() > 1) {
    return report_usage_error(k_tool,
                              "several files are accepted only for the volumes of one "
                              "AFF4 container",
                              "run custody-info once per evidence item");
  }
  const EvidenceItem& item = items->front();
  switch (item.kind) {
    case EvidenceKind::aff4_logical:
      return run_logical(item.paths.front(), common);
    case EvidenceKind::aff4_container:
    case EvidenceKind::aff4_striped:
      return run_container(item.paths, common);
    case EvidenceKind::raw_record:
    case EvidenceKind::raw_image:
      return run_record(item.record, common);
    case EvidenceKind::e01_set:
    case EvidenceKind::transfer_package:
    case EvidenceKind::bag_directory:
    case EvidenceKind::asic_e:
      break;
  }
  return report_error(
      k_tool, Error{Errc::unsupported,
                    fmt::format("{} is a kind of evidence custody-info does not describe: {}",
                                item.paths.front(), evidence_kind_name(item.kind)),
                    item.paths.front(),
                    {},
                    0,
                    item.kind == EvidenceKind::e01_set
                        ? "check it with custody-verify; ewfinfo shows its metadata"
                        : "check it with custody-verify, or receive it with custody-receive"});
}

ExitCode run_record(const std::string& path, const CommonOptions& common) {
  auto loaded = load_record(path);
  if (!loaded) {
    return report_error(k_tool, loaded.error());
  }
  if (!loaded->digest_matches) {
    print_warning(k_tool, fmt::format("{} was edited after acquisition (record_sha256 does not "
                                      "match); run custody-verify for details",
                                      path));
  }
  if (common.json) {
    fmt::print("{}", record_to_json(loaded->record));
  } else if (!common.quiet) {
    print_record(loaded->record, loaded->digest_matches);
  }
  return ExitCode::ok;
}

}  // namespace
}  // namespace custody::tools

int main(int argc, char** argv) {
  using namespace custody::tools;
  std::vector<std::string> paths;
  CommonOptions common;
  CLI::App app{
      "Show what an AFF4 container or an acquisition record holds: image, hashes, case "
      "and device\nmetadata, map, members, and the custody record."};
  add_common_options(app, common, k_tool,
                     "  custody-info /cases/17/disk1.aff4\n"
                     "  custody-info /cases/17/disk2.acquisition.json\n"
                     "  custody-info --json disk1.acquisition.json | jq .hashes");
  app.add_option("EVIDENCE", paths,
                 "An AFF4 container (every volume of a striped image), or the acquisition record "
                 "of a raw image (NAME.acquisition.json)")
      ->required();
  return run_tool(app, argc, argv, [&] { return run(paths, common); });
}
