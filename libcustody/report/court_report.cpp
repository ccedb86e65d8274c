// SPDX-License-Identifier: Apache-2.0
// The court report: one self-contained, printable HTML page per verification (court_report.hpp).
#include "core/input_guard.hpp"
#include "core/posix_file.hpp"

#include <custody/court_report.hpp>
#include <custody/hash.hpp>
#include <custody/text.hpp>
#include <custody/version.hpp>

#include <fmt/format.h>

#include <filesystem>

namespace custody {

namespace {

std::string escape(std::string_view text) {
  return escape_markup(text);
}

// No external resources: the page must render the same offline, years later, in any browser.
constexpr const char* k_style = R"(
body { font-family: "DejaVu Sans", Arial, sans-serif; font-size: 10.5pt; margin: 2em; color: #111; }
h1 { font-size: 18pt; margin-bottom: 0.2em; }
h2 { font-size: 13pt; border-bottom: 1px solid #888; margin-top: 1.6em; }
.verdict { font-size: 13pt; font-weight: bold; padding: 0.6em; border: 2px solid; }
.intact { color: #0a5d00; border-color: #0a5d00; background: #eef8ec; }
.broken { color: #9b0000; border-color: #9b0000; background: #fbecec; }
table { border-collapse: collapse; width: 100%; margin: 0.5em 0; }
th, td { border: 1px solid #999; padding: 0.25em 0.4em; text-align: left; vertical-align: top; }
th { background: #eee; }
td.hash, code, pre { font-family: "DejaVu Sans Mono", monospace; font-size: 9pt; word-break: break-all; }
pre { background: #f4f4f4; padding: 0.5em; white-space: pre-wrap; }
.PASS { color: #0a5d00; font-weight: bold; }
.FAIL { color: #9b0000; font-weight: bold; }
.WARN { color: #8a5a00; font-weight: bold; }
.meta { color: #444; }
@media print {
  body { margin: 0; font-size: 9.5pt; }
  h2 { page-break-after: avoid; }
  tr, pre { page-break-inside: avoid; }
  .verdict { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
)";

struct Html {
  std::string out;
  void raw(std::string_view text) { out += text; }
  void heading(const char* title) { out += fmt::format("<h2>{}</h2>\n", title); }
  void row(std::initializer_list<std::string> cells, const char* tag = "td") {
    out += "<tr>";
    for (const std::string& cell : cells) {
      out += fmt::format("<{}>{}</{}>", tag, cell, tag);
    }
    out += "</tr>\n";
  }
  void pair(const std::string& label, const std::string& value) {
    if (value.find_first_not_of(' ') != std::string::npos) {
      row({escape(label), escape(value)});
    }
  }
};

std::string optional_text(const std::optional<std::string>& value) {
  return value ? *value : std::string();
}

void identity_section(Html& html, const VerificationReport& report, const std::string& evidence) {
  const AcquisitionRecord& record = report.record;
  html.heading("1. Evidence");
  html.raw("<table>\n");
  html.pair("File", evidence);
  html.pair("Kind", report.kind == "aff4" ? "AFF4 evidence container" : "raw image with record");
  if (record.container) {
    html.pair("Image (AFF4 URN)", record.container->image_urn);
  }
  html.pair("Case number", optional_text(record.case_info.case_number));
  html.pair("Evidence number", optional_text(record.case_info.evidence_number));
  html.pair("Examiner", optional_text(record.case_info.examiner));
  html.pair("Description", optional_text(record.case_info.description));
  html.pair("Notes", optional_text(record.case_info.notes));
  html.pair("Image size",
            fmt::format("{} bytes ({})", record.image_size, format_bytes(record.image_size)));
  html.raw("</table>\n<table>\n");
  html.row({"Algorithm", "Hash recorded at acquisition", "Recomputed now"}, "th");
  for (const auto& [algorithm, hex] : record.hashes) {
    std::string now = "not recomputed";
    for (const Check& check : report.checks) {
      if (check.kind == CheckKind::image && check.algorithm == hash_name(algorithm)) {
        now = check.verdict == Verdict::pass ? "identical" : "DIFFERENT: " + check.actual;
      }
    }
    html.row(
        {escape(hash_name(algorithm)), "<span class=hash>" + escape(hex) + "</span>", escape(now)});
  }
  html.raw("</table>\n");
}

void acquisition_section(Html& html, const VerificationReport& report) {
  const AcquisitionRecord& record = report.record;
  const SourceInfo& source = record.source;
  html.heading("2. Acquisition");
  html.raw("<table>\n");
  html.pair("Status", status_name(record.status));
  html.pair("Started (UTC)", record.started);
  html.pair("Finished (UTC)", record.finished);
  html.pair("Source", source.path);
  html.pair("Device", optional_text(source.vendor) + " " + optional_text(source.model));
  html.pair("Serial number", optional_text(source.serial));
  html.pair("Tool", record.tool_name + " " + record.tool_version);
  html.pair("Computer", record.hostname + " (" + record.system + ")");
  html.pair("Bytes read", std::to_string(record.bytes_read));
  html.pair("Hidden areas (HPA/DCO)", source.hidden_areas);
  html.raw("</table>\n");
  if (record.defects.empty()) {
    html.raw("<p>No unreadable sectors were recorded.</p>\n");
    return;
  }
  html.raw(
      fmt::format("<p>{} range(s) could not be read; their bytes in the image are {}.</p>\n"
                  "<table>\n",
                  record.defects.size(), escape(describe_fill(record.defect_fill))));
  html.row({"First byte", "Bytes", "Sectors", "Reason"}, "th");
  for (const Defect& defect : record.defects) {
    const std::uint64_t first = defect.offset / defect.sector_size;
    const std::uint64_t count = (defect.length + defect.sector_size - 1) / defect.sector_size;
    html.row({std::to_string(defect.offset), std::to_string(defect.length),
              fmt::format("{}-{}", first, first + count - 1),
              escape(defect.reason.empty() ? fmt::format("read error (errno {})", defect.sys_errno)
                                           : defect.reason)});
  }
  html.raw("</table>\n");
}

void seals_section(Html& html, const VerificationReport& report) {
  html.heading("3. Seals and trusted time");
  if (report.seals.empty()) {
    html.raw("<p>The evidence carries no seal: nobody has signed for it.</p>\n");
    return;
  }
  html.raw("<table>\n");
  html.row({"Seal", "Signed by", "Issued by", "Certificate valid", "Signed at (signer's clock)",
            "Signature", "Trusted time (RFC 3161)"},
           "th");
  for (const SealReport& seal : report.seals) {
    const CertificateFacts& signer = seal.signature.signer;
    std::string verdict = !seal.signature.signature_valid ? "INVALID"
                          : seal.signature.chain_trusted  ? "valid, signer trusted"
                                                         : "valid, signer not checked against a CA";
    std::string time = "none";
    if (seal.has_timestamp) {
      time = fmt::format("{} by {}{}", seal.timestamp.time, seal.timestamp.tsa_subject,
                         seal.timestamp.signature_valid ? " (TSA trusted)" : " (TSA not checked)");
    }
    html.row({std::to_string(seal.number), escape(signer.subject), escape(signer.issuer),
              escape(signer.not_before + " to " + signer.not_after), escape(seal.sealed_at),
              escape(verdict), escape(time)});
  }
  html.raw("</table>\n");
}

void timeline_section(Html& html, const VerificationReport& report) {
  html.heading("4. Chain of custody");
  if (!report.custody_log || report.custody_log->log.events.empty()) {
    html.raw("<p>No custody events are recorded.</p>\n");
    return;
  }
  html.raw("<table>\n");
  html.row({"#", "Time (UTC)", "Action", "By", "Where", "Legal basis", "Purpose / notes", "Signed"},
           "th");
  for (const LoggedEvent& event : report.custody_log->log.events) {
    std::string who = event.actor.name;
    for (const std::string* part : {&event.actor.role, &event.actor.organisation}) {
      if (!part->empty()) {
        who += (who.empty() ? "" : ", ") + *part;
      }
    }
    std::string where = event.location;
    if (!event.jurisdiction.empty()) {
      where += (where.empty() ? "" : ", ") + event.jurisdiction;
    }
    std::string purpose = event.purpose;
    if (!event.notes.empty()) {
      purpose += (purpose.empty() ? "" : "; ") + event.notes;
    }
    html.row({std::to_string(event.number), escape(event.time), escape(event.action), escape(who),
              escape(where),
              escape(event.legal_basis +
                     (event.legal_reference.empty() ? "" : " " + event.legal_reference)),
              escape(purpose), event.signature ? "yes" : "no"});
  }
  html.raw("</table>\n");
}

void results_section(Html& html, const VerificationReport& report) {
  html.heading("5. Verification results");
  html.raw("<table>\n");
  html.row({"Result", "Check", "Subject", "Explanation"}, "th");
  for (const Check& check : report.checks) {
    std::string detail = check.detail;
    if (!check.algorithm.empty()) {
      detail = fmt::format("{} {}{}", check.algorithm, check.actual,
                           detail.empty() ? "" : "; " + detail);
    }
    detail += etsi_words(check);
    // What was not checked, and why: the same checks the text and JSON reports give.
    const char* word = verdict_label(check.verdict);
    html.row({check.verdict != Verdict::not_checked
                  ? fmt::format("<span class={}>{}</span>", word, word)
                  : std::string(word),
              escape(check_kind_name(check.kind)), escape(check.subject), escape(detail)});
  }
  html.raw("</table>\n");
}

void appendix(Html& html, const VerificationReport& report, const std::string& evidence) {
  const std::string file = escape(std::filesystem::path(evidence).filename().string());
  html.heading("Appendix: reproducing the checks with standard tools");
  html.raw(
      "<p>Each check above can be repeated without custody, with standard tools "
      "(unzip, jq, sha256sum, openssl). CA.pem is the certificate of the authority that "
      "issued the signers' certificates; TSA-CA.pem that of the time-stamping authority.</p>\n");
  if (report.kind != "aff4") {
    html.raw(
        fmt::format("<pre>sha256sum {}   # compare with the record's sha256\n"
                    "jq -r .hashes.sha256 {}</pre>\n",
                    "IMAGE-FILES", escape(report.record_path)));
    return;
  }
  html.raw(
      fmt::format("<p>The container is a ZIP file; its checksums and the acquisition record:</p>\n"
                  "<pre>unzip -tq {0}\nunzip -p {0} custody/acquisition.json | jq .hashes</pre>\n",
                  file));
  for (const SealReport& seal : report.seals) {
    html.raw(fmt::format(
        "<p>Seal {1}: the signature over its manifest, the signer's certificate, and the bytes it "
        "covers:</p>\n<pre>mkdir stock && (cd stock && unzip -q ../{0} 'custody/seal-*')\n"
        "openssl cms -verify -binary -inform DER -in stock/custody/seal-{1}.p7s \\\n"
        "    -content stock/custody/seal-{1}.json -CAfile CA.pem -out /dev/null\n"
        "head -c $(jq -r .sealed_length stock/custody/seal-{1}.json) {0} | sha256sum\n"
        "jq -r .sealed_sha256 stock/custody/seal-{1}.json   # the same value</pre>\n",
        file, seal.number));
    if (seal.has_timestamp) {
      html.raw(
          fmt::format("<pre>openssl ts -verify -data stock/custody/seal-{0}.p7s \\\n"
                      "    -in stock/custody/seal-{0}.tsr -token_in -CAfile TSA-CA.pem</pre>\n",
                      seal.number));
    }
  }
  if (report.custody_log && !report.custody_log->log.events.empty()) {
    html.raw(fmt::format(
        "<p>A custody event N (its signature over its exact bytes; custody-log(1) shows how to "
        "recompute the Merkle tree):</p>\n<pre>unzip -p {0} custody/log/event-N.json &gt; "
        "event.json\nunzip -p {0} custody/log/event-N.p7s &gt; event.p7s\n"
        "openssl cms -verify -binary -inform DER -in event.p7s -content event.json \\\n"
        "    -CAfile CA.pem -out /dev/null</pre>\n",
        file));
  }
  html.raw("<p>The image itself: <code>custody-export " + file +
           " -o - | sha256sum</code> (or export as E01 and check it with ewfverify).</p>\n");
}

}  // namespace

std::string court_report_html(const VerificationReport& report, const std::string& evidence) {
  Html html;
  html.raw("<!DOCTYPE html>\n<html lang=en>\n<head>\n<meta charset=utf-8>\n");
  html.raw("<title>Evidence verification report: " + escape(evidence) + "</title>\n");
  html.raw(std::string("<style>") + k_style + "</style>\n</head>\n<body>\n");
  html.raw("<h1>Evidence verification report</h1>\n");
  html.raw(fmt::format("<p class=meta>{} &mdash; checked {} UTC by custody {} </p>\n",
                       escape(evidence), escape(utc_now()), k_version));
  html.raw(fmt::format("<p class=\"verdict {}\">{}</p>\n", report.verified ? "intact" : "broken",
                       escape(verification_summary(report))));
  identity_section(html, report, evidence);
  acquisition_section(html, report);
  if (report.kind == "aff4") {
    seals_section(html, report);
    timeline_section(html, report);
  }
  results_section(html, report);
  appendix(html, report, evidence);
  html.raw("</body>\n</html>\n");
  return html.out;
}

Result<void> write_court_report(const VerificationReport& report,
                                const std::string& evidence,
                                const std::string& path,
                                bool overwrite) {
  // Never over the evidence the report is about (by device and inode), --force or not.
  internal::InputGuard guard;
  guard.add(evidence);
  guard.add(report.record_path);
  const std::filesystem::path directory = std::filesystem::path(report.record_path).parent_path();
  for (const SegmentRecord& segment : report.record.segments) {
    guard.add((directory / segment.file).string());
  }
  CUSTODY_TRY(guard.check_output(path));
  return internal::write_file_atomically(path, court_report_html(report, evidence), overwrite);
}

Result<void> check_court_report_output(const std::vector<std::string>& evidence_paths,
                                       const std::string& path,
                                       bool overwrite) {
  internal::InputGuard guard;
  guard.add_all(evidence_paths);
  CUSTODY_TRY(guard.check_output(path));
  CUSTODY_TRY(internal::check_output_directory(path));
  if (!overwrite && internal::path_exists(path)) {
    return tl::unexpected(Error{Errc::already_exists,
                                "refusing to overwrite",
                                path,
                                {},
                                0,
                                "give --force to replace the old report, or another name"});
  }
  return {};
}

}  // namespace custody
