// SPDX-License-Identifier: Apache-2.0
// custody-export: write the image in an AFF4 container back out as raw bytes or as an E01 set.
#include "common/case_options.hpp"
#include "common/identity_options.hpp"
#include "common/revocation_options.hpp"
#include "common/tool_main.hpp"

#include <custody/asic.hpp>
#include <custody/case_uco.hpp>
#include <custody/custody_log.hpp>
#include <custody/export.hpp>
#include <custody/logical.hpp>
#include <custody/text.hpp>

#include <fmt/format.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

namespace custody::tools {
namespace {

constexpr const char* k_tool = "custody-export";

struct Options {
  std::vector<std::string> containers;
  std::string output;
  std::string format = "raw";
  std::string segment_size;
  std::string compression = "fast";
  CaseInfo case_info;
  std::string split;
  std::string offset;
  std::string length;
  std::string hashes;
  bool force = false;
  IdentityArguments identity;  // signs the "exported" custody event
  std::string purpose;
  bool no_record = false;
  std::string case_uco;  // --case-uco FILE: the custody chain as CASE/UCO JSON-LD instead
  bool files = false;    // --files: the files of a logical (AFF4-L) container
  // --format asic-e: a signed ASiC-E container for exchange (e-CODEX)
  std::string tsa;
  unsigned tsa_timeout = 30;
  bool without_images = false;
  std::vector<std::string> report_trust;      // --trust: for the court reports inside
  std::vector<std::string> report_tsa_trust;  // --tsa-trust
  std::vector<std::string> revocation_data;
  bool no_revocation_fetch = false;
};

// --format asic-e: the containers (or their custody chains) in a signed ASiC-E.
ExitCode export_asic(const Options& options, const CommonOptions& common) {
  if (options.output.empty() || options.output == "-") {
    return report_usage_error(k_tool, "--format asic-e writes a file: give -o NAME.asice");
  }
  if (options.identity.key.empty()) {
    return report_usage_error(k_tool, "--format asic-e is signed: give --by-key and --by-cert");
  }
  auto identity = Identity::load(to_identity_options(options.identity));
  if (!identity) {
    return report_error(k_tool, identity.error());
  }
  AsicOptions asic;
  asic.containers = options.containers;
  asic.output = options.output;
  asic.overwrite = options.force;
  asic.without_images = options.without_images;
  asic.report_trust = options.report_trust;
  asic.report_tsa_trust = options.report_tsa_trust;
  if (!options.without_images &&
      !(options.report_trust.empty() && options.report_tsa_trust.empty())) {
    return report_usage_error(k_tool,
                              "--trust and --tsa-trust are for the court reports of "
                              "--without-images; the containers themselves carry their seals",
                              "add --without-images, or leave them out");
  }
  asic.cades.tsa_url = options.tsa;
  asic.cades.tsa_timeout = options.tsa_timeout;
  asic.cades.revocation_files = options.revocation_data;
  asic.cades.fetch_revocation = !options.no_revocation_fetch;
  asic.record_events = !options.no_record;
  const CancelToken& cancel = install_interrupt_handler(k_tool);
  ConsoleProgress progress(!common.quiet && !common.json);
  auto result = export_asic_e(asic, *identity, &progress, &cancel);
  progress.finish();
  if (!result) {
    return report_error(k_tool, result.error());
  }
  if (common.json) {
    fmt::print("{}", asic_result_to_json(*result));
  } else if (!common.quiet) {
    fmt::print("wrote ASiC-E {} ({} bytes, {} data object{}), signed by {}\n", result->output,
               result->bytes, result->data_objects.size(),
               result->data_objects.size() == 1 ? "" : "s", identity->certificate().subject);
    for (const auto& [name, sha256] : result->data_objects) {
      fmt::print("  {}  sha256 {}\n", name, sha256);
    }
    fmt::print("  level    CAdES {}, time-stamped {}\n", result->cades_level,
               result->timestamp_time);
  }
  for (const std::string& shortfall : result->shortfalls) {
    print_warning(k_tool, shortfall);
  }
  if (options.without_images && options.report_trust.empty()) {
    print_warning(k_tool,
                  "the court reports inside were made without --trust: they say that the "
                  "signers were NOT CHECKED against a CA; give --trust (and --tsa-trust) for "
                  "reports that check them");
  }
  return ExitCode::ok;
}

Result<std::uint64_t> parse_offset(const std::string& text) {
  if (text == "0") {
    return 0;
  }
  return parse_size(text);
}

// --segment-size, --compression and the case fields shape an E01 set; for raw they would be
// silently ignored, so they are refused.
Result<void> to_ewf_options(const Options& options, ExportOptions& out) {
  const bool has_case = options.case_info.case_number || options.case_info.evidence_number ||
                        options.case_info.examiner || options.case_info.description ||
                        options.case_info.notes;
  if (options.format == "raw") {
    if (!options.segment_size.empty() || options.compression != "fast" || has_case) {
      return make_error(Errc::invalid_argument,
                        "--segment-size, --compression and the case options apply to --format "
                        "e01 (raw output is split with --split)");
    }
    return {};
  }
  if (options.format != "e01") {
    return make_error(
        Errc::invalid_argument,
        fmt::format("unknown format '{}' (choose raw, e01 or asic-e)", options.format));
  }
  out.format = ExportFormat::e01;
  auto compression = parse_ewf_compression(options.compression);
  CUSTODY_TRY(compression);
  out.ewf.compression = *compression;
  if (!options.segment_size.empty()) {
    auto size = parse_size(options.segment_size);
    CUSTODY_TRY(size);
    out.ewf.segment_size = *size;
  }
  out.ewf.case_info = options.case_info;
  return {};
}

Result<ExportOptions> to_export_options(const Options& options) {
  ExportOptions out;
  CUSTODY_TRY(to_ewf_options(options, out));
  out.container_paths = options.containers;
  out.output = options.output;
  out.overwrite = options.force;
  if (!options.split.empty()) {
    auto split = parse_size(options.split);
    CUSTODY_TRY(split);
    out.split_size = *split;
  }
  if (!options.offset.empty()) {
    auto offset = parse_offset(options.offset);
    CUSTODY_TRY(offset);
    out.offset = *offset;
  }
  if (!options.length.empty()) {
    auto length = parse_size(options.length);
    CUSTODY_TRY(length);
    out.length = *length;
  }
  if (!options.hashes.empty()) {
    auto algorithms = parse_hash_list(options.hashes);
    CUSTODY_TRY(algorithms);
    out.algorithms = *algorithms;
  }
  return out;
}

// Results go to stdout, unless the image itself does: then to stderr, so stdout stays pure.
void print_result(const ExportResult& result, bool to_stderr) {
  std::FILE* out = to_stderr ? stderr : stdout;
  fmt::print(out, "exported {} bytes ({})\n", result.bytes, format_bytes(result.bytes));
  const std::pair<const char*, const std::optional<std::string>*> fields[] = {
      {"case", &result.case_info.case_number},
      {"evidence", &result.case_info.evidence_number},
      {"examiner", &result.case_info.examiner},
      {"description", &result.case_info.description},
      {"notes", &result.case_info.notes}};
  for (const auto& [name, value] : fields) {
    if (*value) {
      fmt::print(out, "{:<11} {}\n", name, **value);
    }
  }
  if (result.files.size() == 1) {
    fmt::print(out, "file    {}\n", result.files.front());
  } else if (!result.files.empty()) {
    fmt::print(out, "files   {} ... {} ({} files)\n", result.files.front(), result.files.back(),
               result.files.size());
  }
  for (const auto& [first, count] : result.acquiry_errors) {
    fmt::print(out, "acquiry error  sectors {}-{} ({} sectors, unreadable at acquisition)\n", first,
               first + count - 1, count);
  }
  for (const auto& [algorithm, hex] : result.hashes) {
    const auto recorded = result.recorded.find(algorithm);
    const char* verdict = recorded == result.recorded.end() ? ""
                          : recorded->second == hex         ? "  matches the recorded hash"
                                                            : "  DIFFERS from the recorded hash";
    fmt::print(out, "{:<7} {}{}\n", hash_name(algorithm), hex, verdict);
  }
}

// The "exported" event's context: who exports and why; nullopt with --no-record.
std::optional<EventContext> custody_context(const Options& options, const Identity* identity) {
  if (options.no_record) {
    return std::nullopt;
  }
  EventContext context{{}, identity};
  context.draft.purpose = options.purpose;
  return context;
}

// The library leaves read-only evidence untouched; the user must know the export is unrecorded.
void report_recording(std::uint64_t event,
                      const std::string& not_recorded,
                      const CommonOptions& common) {
  if (!not_recorded.empty()) {
    print_warning(k_tool, fmt::format("{}: this export is NOT recorded in its custody log "
                                      "(record it with custody-log add --action exported)",
                                      not_recorded));
  } else if (event != 0 && common.verbose > 0) {
    fmt::print(stderr, "{}: recorded as custody event {}\n", k_tool, event);
  }
}

// --case-uco: no image bytes leave the container, only its custody chain as CASE/UCO JSON-LD.
ExitCode export_case_uco(const Options& options, const CommonOptions& common) {
  if (auto written = write_case_uco(options.containers.front(), options.case_uco, options.force);
      !written) {
    return report_error(k_tool, written.error());
  }
  if (common.json) {
    print_json({{"format", "custody-export-result"},
                {"version", 1},
                {"containers", options.containers},
                {"output_format", "case-uco"},
                {"output", options.case_uco},
                {"files", {options.case_uco}}});
  } else if (!common.quiet) {
    fmt::print("custody chain of {} written as CASE/UCO JSON-LD to {}\n",
               options.containers.front(), options.case_uco);
  }
  return ExitCode::ok;
}

// --files: extract the files of a logical container into a directory, checking every hash.
ExitCode run_files(const Options& options, const CommonOptions& common) {
  if (options.containers.size() != 1 || options.output.empty() || options.output == "-") {
    return report_usage_error(k_tool, "--files extracts one logical container into a directory",
                              "give one CONTAINER and -o DIRECTORY");
  }
  auto identity = load_identity_if_given(options.identity);  // the library checks it can sign
  if (!identity) {
    return report_error(k_tool, identity.error());
  }
  const CancelToken& cancel = install_interrupt_handler(k_tool);
  ConsoleProgress progress(!common.quiet);
  auto result = extract_logical(
      LogicalExtractOptions{
          options.containers.front(), options.output, options.force,
          custody_context(options, identity->has_value() ? &**identity : nullptr)},
      &progress, &cancel);
  progress.finish();
  if (!result) {
    return report_error(k_tool, result.error());
  }
  for (const std::string& warning : result->warnings) {
    print_warning(k_tool, warning);
  }
  if (!common.quiet && !common.json) {
    fmt::print("exported {} files ({} bytes) to {}\n", result->files, result->bytes,
               options.output);
  }
  report_recording(result->custody_event, result->not_recorded, common);
  const std::uint64_t event = result->custody_event;
  if (common.json) {
    nlohmann::ordered_json mismatches = nlohmann::ordered_json::array();
    for (const std::string& path : result->mismatches) {
      mismatches.push_back(encode_logical_path(path));
    }
    print_json({{"format", "custody-export-result"},
                {"version", 1},
                {"containers", options.containers},
                {"output_format", "files"},
                {"output", options.output},
                {"files", result->files},
                {"bytes", result->bytes},
                {"matches_record", result->mismatches.empty()},
                {"mismatches", mismatches},
                {"warnings", result->warnings},
                {"custody_event",
                 event == 0 ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(event)}});
  }
  for (const std::string& path : result->mismatches) {
    fmt::print(stderr, "{}: error: {} does not match the hash recorded at acquisition\n", k_tool,
               encode_logical_path(path));
  }
  if (!result->mismatches.empty()) {
    fmt::print(stderr, "{}: error: run custody-verify on the container to see every check\n",
               k_tool);
    return ExitCode::verification_failed;
  }
  return ExitCode::ok;
}

ExitCode run(const Options& options, const CommonOptions& common) {
  if (options.format == "asic-e") {
    return export_asic(options, common);
  }
  if (options.files) {
    return run_files(options, common);
  }
  if (!options.case_uco.empty()) {
    return export_case_uco(options, common);
  }
  if (options.output.empty()) {
    return report_usage_error(k_tool, "-o is required (or --case-uco FILE)");
  }
  if (common.json && options.output == "-") {
    return report_usage_error(k_tool,
                              "--json cannot be used with -o -: the image goes to standard "
                              "output",
                              "export to a file to get the result as JSON");
  }
  auto export_options = to_export_options(options);
  if (!export_options) {
    return report_error(k_tool, export_options.error());
  }
  auto identity = load_identity_if_given(options.identity);  // the library checks it can sign
  if (!identity) {
    return report_error(k_tool, identity.error());
  }
  export_options->custody = custody_context(options, identity->has_value() ? &**identity : nullptr);
  const CancelToken& cancel = install_interrupt_handler(k_tool);
  ConsoleProgress progress(!common.quiet);
  auto result = export_image(*export_options, &progress, &cancel);
  progress.finish();
  if (!result) {
    return report_error(k_tool, result.error());
  }
  const bool to_stdout = options.output == "-";
  if (!common.quiet && !common.json) {
    print_result(*result, to_stdout);
  }
  report_recording(result->custody_event, result->not_recorded, common);
  if (common.json) {
    fmt::print("{}", export_result_to_json(*result, *export_options));
  }
  if (!result->matches_record) {
    fmt::print(stderr,
               "{}: error: the exported image does not match the hash recorded at acquisition; "
               "run custody-verify on the container to locate the damage\n",
               k_tool);
    return ExitCode::verification_failed;
  }
  return ExitCode::ok;
}

}  // namespace
}  // namespace custody::tools

int main(int argc, char** argv) {
  using namespace custody::tools;
  Options options;
  CommonOptions common;
  CLI::App app{
      "Write the image held in an AFF4 container back out as raw bytes (one file, "
      "numbered\nsegments, or standard output) or as an E01 set for EnCase, FTK, X-Ways and "
      "Sleuth Kit.\nA whole-image export is hashed and compared with the recorded hashes."};
  add_common_options(app, common, k_tool,
                     "  custody-export disk1.aff4 -o disk1.raw\n"
                     "  custody-export disk1.aff4 -o disk1 --split 2G        # disk1.001, ...\n"
                     "  custody-export disk1.aff4 -o - | sha256sum\n"
                     "  custody-export disk1.aff4 -o mbr.bin --offset 0 --length 512\n"
                     "  custody-export disk1.aff4 --format e01 -o disk1 --compression best  "
                     "# disk1.E01, ...");
  app.add_option("CONTAINER", options.containers,
                 "AFF4 container (every volume of a striped image)")
      ->required();
  app.add_option("-o,--output", options.output,
                 "Output file, or '-' for standard output; for e01 the set's name (PATH.E01, ...)")
      ->type_name("PATH");
  app.add_option("--split", options.split,
                 "Write PATH.001, PATH.002, ... of SIZE each (at least 1M, multiple of 512)")
      ->type_name("SIZE");
  app.add_option("--offset", options.offset, "First image byte to export (default 0)")
      ->type_name("BYTES");
  app.add_option("--length", options.length, "Number of bytes to export (default: to the end)")
      ->type_name("BYTES");
  app.add_option("--hash", options.hashes,
                 "Hash the exported bytes with these algorithms (default: those recorded)")
      ->type_name("LIST");
  app.add_option("--format", options.format,
                 "raw (default): the image's bytes; e01: an EWF set (EnCase 6 format) with MD5, "
                 "SHA-1, case metadata and the unreadable ranges; asic-e: the containers in a "
                 "signed ASiC-E (EN 319 162-1) for exchange (--by-key, --by-cert, --tsa)")
      ->type_name("FORMAT")
      ->capture_default_str();
  app.add_option("--segment-size", options.segment_size,
                 "E01: largest segment file (at least 1M; default 1.4G as ewfacquire)")
      ->type_name("SIZE");
  app.add_option("--compression", options.compression, "E01 chunk compression: none, fast, best")
      ->type_name("METHOD")
      ->capture_default_str();
  add_case_option(app, "--case", options.case_info.case_number,
                  "E01 case number (default: the container's)");
  add_case_option(app, "--evidence", options.case_info.evidence_number,
                  "E01 evidence number (default: the container's)");
  add_case_option(app, "--examiner", options.case_info.examiner,
                  "E01 examiner name (default: the container's)");
  add_case_option(app, "--description", options.case_info.description,
                  "E01 description (default: the container's)");
  add_case_option(app, "--notes", options.case_info.notes, "E01 notes (default: the container's)");
  app.add_flag("--force", options.force, "Overwrite an existing output file (or E01 set)");
  add_identity_options(app, options.identity, "by-");
  app.add_option("--purpose", options.purpose, "Custody log: why the image is exported")
      ->type_name("TEXT");
  app.add_option("--case-uco", options.case_uco,
                 "Write the custody chain as CASE/UCO JSON-LD to FILE (no image is exported)")
      ->type_name("FILE");
  app.add_flag("--files", options.files,
               "Logical container: extract its files with their metadata into the directory "
               "given with -o (checking every file's hashes)");
  app.add_option("--tsa", options.tsa,
                 "asic-e: the TSA for the signature time-stamp (CAdES B-T, required)")
      ->type_name("URL");
  app.add_option("--tsa-timeout", options.tsa_timeout, "asic-e: seconds to wait for the TSA")
      ->capture_default_str();
  app.add_flag("--without-images", options.without_images,
               "asic-e: the custody chains only (record, log, seals, CASE/UCO, court report), "
               "each image bound by its digest in images.json");
  app.add_option("--trust", options.report_trust,
                 "asic-e --without-images: CA certificates (PEM) the court reports check the "
                 "signers against")
      ->type_name("FILE")
      ->allow_extra_args(false);
  app.add_option("--tsa-trust", options.report_tsa_trust,
                 "asic-e --without-images: CA certificates (PEM) of trusted TSAs, for the court "
                 "reports")
      ->type_name("FILE")
      ->allow_extra_args(false);
  add_revocation_data_options(app, options.revocation_data, options.no_revocation_fetch,
                              "signer's");
  app.add_flag("--no-record", options.no_record,
               "Do not record an \"exported\" event in the container's custody log");
  return run_tool(app, argc, argv, [&] { return run(options, common); });
}
