// SPDX-License-Identifier: Apache-2.0
// custody-info: show what an acquisition record says was acquired.
#include "common/tool_main.hpp"

#include <custody/record.hpp>
#include <custody/text.hpp>

#include <fmt/format.h>

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
  fmt::print("acquired\n");
  fmt::print("  {:<12} {}\n", "started", record.started);
  fmt::print("  {:<12} {}\n", "finished", record.finished);
  fmt::print("  {:<12} {} {} on {} ({})\n", "tool", record.tool_name, record.tool_version,
             record.hostname, record.system);
  fmt::print("  {:<12} {} bytes\n", "bytes read", record.bytes_read);
  fmt::print("image\n");
  fmt::print("  {:<12} {} bytes ({}) in {} segment{}\n", "size", record.image_size,
             format_bytes(record.image_size), record.segments.size(),
             record.segments.size() == 1 ? "" : "s");
  for (const auto& [algorithm, hex] : record.hashes) {
    fmt::print("  {:<12} {}\n", hash_name(algorithm), hex);
  }
  fmt::print("segments\n");
  for (const SegmentRecord& segment : record.segments) {
    fmt::print("  {}  offset {}  size {}\n", segment.file, segment.offset, segment.size);
  }
  if (!digest_matches) {
    fmt::print("warning: this record was edited after acquisition (record_sha256 mismatch)\n");
  }
}

ExitCode run(const std::string& path, const CommonOptions& common) {
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
  std::string record;
  CommonOptions common;
  CLI::App app{"Show what an acquisition record says: case, source, times, image files, hashes."};
  add_common_options(app, common, k_tool,
                     "  custody-info /cases/17/disk1.acquisition.json\n"
                     "  custody-info --json disk1.acquisition.json | jq .hashes");
  app.add_option("RECORD", record, "Acquisition record (NAME.acquisition.json)")->required();
  return run_tool(app, argc, argv, [&] { return run(record, common); });
}
