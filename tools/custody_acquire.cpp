// SPDX-License-Identifier: Apache-2.0
// custody-acquire: image a disk, a file or a pipe into a raw image with an acquisition record.
#include "common/case_options.hpp"
#include "common/identity_options.hpp"
#include "common/tool_main.hpp"

#include <custody/acquisition.hpp>
#include <custody/custody_log.hpp>
#include <custody/logical.hpp>
#include <custody/seal.hpp>
#include <custody/text.hpp>

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <cstring>

namespace custody::tools {
namespace {

constexpr const char* k_tool = "custody-acquire";

struct Options {
  std::string source;
  std::string from_image;
  std::string output;
  std::string segment_size;
  std::string hashes = "md5,sha1,sha256";
  std::string format = "aff4";
  std::string compression = "snappy";
  std::string chunk_size = "32K";
  unsigned retries = 2;
  std::uint64_t max_errors = 0;
  std::string fill;
  bool verify_image = false;
  bool verify_source = false;
  bool set_read_only = false;
  bool resume = false;
  IdentityArguments seal;
  EventDraft acquired_event;  // where, under which legal basis, why (the "acquired" event)
  CaseInfo case_info;
  bool force = false;
  std::vector<std::string> logical;  // --logical: files, folders, archives
  LogicalFilters filters;
  std::string newer_than;
};

void print_defects(const AcquisitionRecord& record) {
  print_warning(k_tool, describe_defects(record) + ":");
  for (const Defect& defect : record.defects) {
    fmt::print(stderr, "  {}\n", describe_defect(defect));
  }
}

// The library's verdict on the result, rendered; the exit code follows from it.
ExitCode render_assessment(const AcquisitionResult& result, const CommonOptions& common) {
  const AcquisitionRecord& record = result.record;
  const AcquisitionAssessment assessment = assess_acquisition(record);
  const bool talk = !common.quiet && !common.json;
  for (const std::string& warning : assessment.warnings) {
    print_warning(k_tool, warning);
  }
  for (const std::string& error : assessment.errors) {
    fmt::print(stderr, "{}: error: {}\n", k_tool, error);
  }
  for (const std::string& passed : assessment.passed) {
    if (talk) {
      fmt::print("{}\n", passed);
    }
  }
  switch (assessment.verdict) {
    case AcquisitionVerdict::failed_check:
      return ExitCode::verification_failed;
    case AcquisitionVerdict::interrupted:
      fmt::print(stderr,
                 "{}: error: interrupted after {} bytes; the partial image and a record marked "
                 "\"interrupted\" are in place: {}\n",
                 k_tool, record.image_size, result.record_path);
      return ExitCode::interrupted;
    case AcquisitionVerdict::completed_with_defects:
      return ExitCode::completed_with_defects;
    case AcquisitionVerdict::complete:
      break;
  }
  return ExitCode::ok;
}

// With --json, the record as stored is the result document (custody-acquisition(5)).
template <typename AnyResult>
void print_record_json(const AnyResult& result, const CommonOptions& common) {
  if (common.json) {
    fmt::print("{}", result.record_json);
  }
}

// What was acquired, when the user reads it (neither --quiet nor --json).
void print_lines(const std::vector<std::string>& lines, const CommonOptions& common) {
  if (!common.quiet && !common.json) {
    for (const std::string& line : lines) {
      fmt::print("{}\n", line);
    }
  }
}

// The subject of the sealer's certificate, or "" without one.
std::string signer_subject(const std::optional<Identity>& sealer) {
  return sealer ? sealer->certificate().subject : std::string();
}

// --- Logical acquisition (--logical) -------------------------------------------------------

ExitCode run_logical(Options& options, const CommonOptions& common) {
  if (!options.source.empty() || !options.from_image.empty() || options.format != "aff4" ||
      options.resume || !options.segment_size.empty() || options.verify_source ||
      options.verify_image || options.set_read_only) {
    return report_usage_error(k_tool,
                              "--logical takes its sources itself and writes an AFF4-L "
                              "container",
                              "give the files, folders and archives after --logical, "
                              "without SOURCE, --from-image, --format, --resume, "
                              "--segment-size, --verify-* or --set-readonly");
  }
  LogicalAcquireOptions acquire_options;
  acquire_options.sources = options.logical;
  acquire_options.output_base = options.output;
  acquire_options.case_info = options.case_info;
  acquire_options.overwrite = options.force;
  acquire_options.filters = options.filters;
  if (!options.newer_than.empty()) {
    acquire_options.filters.newer_than = options.newer_than;
  }
  auto algorithms = parse_hash_list(options.hashes);
  if (!algorithms) {
    return report_error(k_tool, algorithms.error());
  }
  acquire_options.algorithms = *algorithms;
  auto sealer = load_identity_if_given(options.seal);  // the library checks it can sign
  if (!sealer) {
    return report_error(k_tool, sealer.error());
  }
  acquire_options.custody = {options.acquired_event, sealer->has_value() ? &**sealer : nullptr};
  const CancelToken& cancel = install_interrupt_handler(k_tool);
  ConsoleProgress progress(!common.quiet);
  const auto start = std::chrono::steady_clock::now();
  auto result = acquire_logical(acquire_options, &progress, &cancel);
  progress.finish();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!result) {
    return report_error(k_tool, result.error());
  }
  print_lines(logical_summary_lines(*result, seconds, signer_subject(*sealer)), common);
  if (!result->manifest.defects.empty()) {
    const std::vector<std::string> lines = logical_defect_lines(result->manifest);
    print_warning(k_tool, lines.front());
    for (std::size_t i = 1; i < lines.size(); ++i) {
      fmt::print(stderr, "{}\n", lines[i]);
    }
  }
  if (result->record.status != AcquisitionStatus::complete) {
    fmt::print(stderr,
               "{}: error: interrupted; the files taken so far and a record marked "
               "\"interrupted\" are in {}\n",
               k_tool, result->container_path);
    print_record_json(*result, common);
    return ExitCode::interrupted;
  }
  print_record_json(*result, common);
  return result->manifest.defects.empty() ? ExitCode::ok : ExitCode::completed_with_defects;
}

ExitCode run(Options& options, const CommonOptions& common) {
  if (!options.logical.empty()) {
    return run_logical(options, common);
  }
  if (!options.filters.include.empty() || !options.filters.exclude.empty() ||
      !options.newer_than.empty()) {
    return report_usage_error(k_tool,
                              "--include, --exclude and --newer-than filter a logical "
                              "acquisition",
                              "use them with --logical");
  }
  AcquireOptions acquire_options;
  if (options.source.empty() == options.from_image.empty()) {
    return report_usage_error(k_tool, "give either SOURCE or --from-image FILE",
                              "SOURCE is a disk, a file or '-'; --from-image reads an E01 "
                              "set, a raw image or a split raw set NAME.001");
  }
  acquire_options.from_image = !options.from_image.empty();
  acquire_options.source_path = acquire_options.from_image ? options.from_image : options.source;
  acquire_options.output_base = options.output;
  acquire_options.case_info = options.case_info;
  acquire_options.overwrite = options.force;
  auto algorithms = parse_hash_list(options.hashes);
  if (!algorithms) {
    return report_error(k_tool, algorithms.error());
  }
  acquire_options.algorithms = *algorithms;
  if (options.format == "raw") {
    acquire_options.format = ImageFormat::raw;
  } else if (options.format != "aff4") {
    return report_usage_error(
        k_tool, fmt::format("unknown format '{}' (choose aff4 or raw)", options.format));
  }
  acquire_options.compression = options.compression;
  acquire_options.verify_image = options.verify_image;
  acquire_options.set_read_only = options.set_read_only;
  acquire_options.resume = options.resume;
  acquire_options.verify_source = options.verify_source;
  acquire_options.read_policy.retries = options.retries;
  acquire_options.read_policy.max_bad_sectors = options.max_errors;
  if (!options.fill.empty()) {
    auto policy = parse_fill(options.fill, acquire_options.format, acquire_options.read_policy);
    if (!policy) {
      return report_error(k_tool, policy.error());
    }
    acquire_options.read_policy = *policy;
  }
  auto chunk_size = parse_size(options.chunk_size);
  if (!chunk_size) {
    return report_error(k_tool, chunk_size.error());
  }
  acquire_options.chunk_size =
      static_cast<std::uint32_t>(std::min<std::uint64_t>(*chunk_size, UINT32_MAX));
  if (!options.segment_size.empty()) {
    auto size = parse_size(options.segment_size);
    if (!size) {
      return report_error(k_tool, size.error());
    }
    acquire_options.segment_size = *size;
  }

  if (options.seal.key.empty() && (!options.seal.cert.empty() || !options.seal.chain.empty())) {
    return report_usage_error(k_tool, "--seal-cert and --seal-chain need --seal-key",
                              "give the examiner's private key with --seal-key");
  }
  // Before imaging: a wrong passphrase should not cost an hour of acquisition.
  auto sealer = load_identity_if_given(options.seal);  // the library checks it can sign
  if (!sealer) {
    return report_error(k_tool, sealer.error());
  }
  acquire_options.custody = {options.acquired_event, sealer->has_value() ? &**sealer : nullptr};
  const CancelToken& cancel = install_interrupt_handler(k_tool);
  ConsoleProgress progress(!common.quiet);
  const auto start = std::chrono::steady_clock::now();
  auto result = acquire(acquire_options, &progress, &cancel);
  progress.finish();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!result) {
    return report_error(k_tool, result.error());
  }
  if (common.verbose > 0) {
    fmt::print(stderr, "{}: source {}: {}\n", k_tool, result->record.source.path,
               describe_source(result->record.source));
    fmt::print(stderr, "{}: started {}, finished {}, {} bytes read\n", k_tool,
               result->record.started, result->record.finished, result->record.bytes_read);
  }
  print_lines(acquisition_summary_lines(*result, seconds, signer_subject(*sealer)), common);
  if (!result->record.defects.empty()) {
    print_defects(result->record);
  }
  // With --json, the record is the one document of this run: printed when nothing can fail.
  print_record_json(*result, common);
  return render_assessment(*result, common);
}

}  // namespace
}  // namespace custody::tools

int main(int argc, char** argv) {
  using namespace custody::tools;
  Options options;
  CommonOptions common;
  CLI::App app{
      "Image a disk, a file or a pipe into an AFF4 container (or a raw image), hashing "
      "it in one pass,\nand record what was acquired. The source is opened read-only and "
      "never written."};
  add_common_options(app, common, k_tool,
                     "  custody-acquire /dev/sdb -o /cases/17/disk1 --case 17 --evidence E1 "
                     "--examiner 'J. Doe'\n"
                     "  custody-acquire phone.bin -o out/phone --hash sha256,sha512 "
                     "--compression lz4\n"
                     "  custody-acquire /dev/sdc -o out/disk --format raw --segment-size 2G\n"
                     "  ssh lab2 'cat /dev/sdc' | custody-acquire - -o out/remote\n"
                     "  custody-acquire --from-image suspect.E01 -o out/suspect\n"
                     "  custody-acquire --logical /mnt/share/Finance disclosure.zip -o out/files "
                     "--exclude '*.tmp'");
  app.add_option("SOURCE", options.source, "File, block device, or '-' for standard input");
  app.add_option("--from-image", options.from_image,
                 "Import an image made elsewhere instead of SOURCE: an E01 set (all segments are "
                 "found), a raw file, or a split raw set NAME.001; its stored hashes are checked")
      ->type_name("FILE");
  app.add_option("-o,--output", options.output,
                 "Output name: writes PATH.aff4 (or, with --format raw, PATH.raw or PATH.001, ... "
                 "and PATH.acquisition.json)")
      ->required()
      ->type_name("PATH");
  app.add_option("--format", options.format,
                 "aff4 (default): one AFF4 container PATH.aff4 holding image, metadata and "
                 "record; raw: PATH.raw (or segments) plus PATH.acquisition.json")
      ->type_name("FORMAT")
      ->capture_default_str();
  app.add_option("--compression", options.compression,
                 "AFF4 chunk compression: snappy, lz4, deflate, zlib or none")
      ->type_name("METHOD")
      ->capture_default_str();
  app.add_option("--chunk-size", options.chunk_size,
                 "AFF4 chunk size: a power of two from 4K to 1M")
      ->type_name("SIZE")
      ->capture_default_str();
  app.add_option("--segment-size", options.segment_size,
                 "Raw format: split the image into files of SIZE (e.g. 2G; at least 1M, multiple "
                 "of 512)")
      ->type_name("SIZE");
  app.add_option("--hash", options.hashes,
                 "Hash algorithms, comma-separated: md5, sha1, sha256, sha512, sha3-256, "
                 "blake2b-512")
      ->type_name("LIST")
      ->capture_default_str();
  add_case_option(app, "--case", options.case_info.case_number, "Case number");
  add_case_option(app, "--evidence", options.case_info.evidence_number, "Evidence number");
  add_case_option(app, "--examiner", options.case_info.examiner, "Examiner's name");
  add_case_option(app, "--description", options.case_info.description, "What the evidence is");
  add_case_option(app, "--notes", options.case_info.notes, "Free notes");
  app.add_option("--retries", options.retries,
                 "Extra attempts of a failed read, of the block and then of each sector")
      ->capture_default_str();
  app.add_option("--max-errors", options.max_errors,
                 "Stop when more sectors than this are unreadable (0: no limit)")
      ->capture_default_str();
  app.add_option("--fill", options.fill,
                 "Raw format: fill unreadable sectors with zero (default) or a byte such as 0xff")
      ->type_name("zero|0xNN");
  add_identity_options(app, options.seal, "seal-");
  add_signer_trust_option(app, options.seal);
  add_event_context_options(app, options.acquired_event);
  app.add_option("--logical", options.logical,
                 "Logical acquisition: take these files, folders and archives (zip, tar, 7z, ...) "
                 "file by file, with per-file hashes and metadata, into an AFF4-L container")
      ->type_name("PATH")
      ->expected(1, -1);
  app.add_option("--include", options.filters.include,
                 "--logical: take only files matching this glob (a pattern without '/' matches "
                 "the name; repeatable)")
      ->type_name("GLOB");
  app.add_option("--exclude", options.filters.exclude,
                 "--logical: leave out files and folders matching this glob (repeatable)")
      ->type_name("GLOB");
  app.add_option("--newer-than", options.newer_than,
                 "--logical: take only files modified after DATE (2024-05-01 or "
                 "2024-05-01T12:00:00Z, UTC)")
      ->type_name("DATE");
  app.add_flag("--resume", options.resume,
               "Continue the interrupted acquisition in PATH.aff4 from where it stopped");
  app.add_flag("--set-readonly", options.set_read_only,
               "Mark a block device read-only in the kernel (BLKROSET) before reading");
  app.add_flag("--verify-image", options.verify_image,
               "After writing, read the image back and compare its hashes");
  app.add_flag("--verify-source", options.verify_source,
               "After writing, read the source again and compare its hashes");
  app.add_flag("--force", options.force, "Overwrite existing output files");
  return run_tool(app, argc, argv, [&] { return run(options, common); });
}
