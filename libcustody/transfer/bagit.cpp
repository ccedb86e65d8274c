// SPDX-License-Identifier: Apache-2.0
// The BagIt validator (see bagit.hpp). It first takes an inventory of the bag (lstat, never
// following a symlink), then reads the declaration, bag-info, manifests and fetch.txt, and
// finally reads every file once with all the algorithms that cover it.
#include "core/posix_file.hpp"
#include "transfer/bagit_text.hpp"

#include <custody/bagit.hpp>

#include <fmt/format.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <filesystem>
#include <map>
#include <optional>
#include <regex>
#include <set>

namespace custody {

bool BagReport::valid() const {
  return std::none_of(problems.begin(), problems.end(),
                      [](const BagProblem& problem) { return problem.verdict == Verdict::fail; });
}

std::vector<std::string> BagReport::lines(Verdict verdict) const {
  std::vector<std::string> out;
  for (const auto& problem : problems) {
    if (problem.verdict == verdict) {
      out.push_back(problem.file.empty() ? problem.message : problem.file + ": " + problem.message);
    }
  }
  return out;
}

namespace {

namespace fs = std::filesystem;
using internal::BagPath;
using internal::check_bag_path;
using internal::decode_tag_text;
using internal::split_lines;

// Tag files are read whole; a larger one is not a tag file anyone meant to write.
constexpr std::size_t k_tag_file_limit = 256ULL << 20U;
constexpr std::size_t k_read_block = 1U << 20U;
// A tag-file line longer than this is refused before any parsing (std::regex recurses per
// character and would overflow the stack on a line of a few hundred kilobytes).
constexpr std::size_t k_max_tag_line = 64U << 10U;
// Manifests with more lines are refused: every entry costs memory.
constexpr std::size_t k_max_manifest_lines = 1'000'000;
// Problems listed per file; the rest are summed up in one line.
constexpr std::size_t k_max_problems_per_file = 1000;

// One manifest's entries: canonical path -> expected digest (lower-case hex).
struct Manifest {
  std::string file;       // "manifest-sha256.txt"
  std::string algorithm;  // "sha256"
  std::map<std::string, std::string> entries;
};

// What differs between the versions of the specification.
struct Rules {
  bool version_1 = true;      // percent-encoded paths, no duplicate entries, strict labels
  bool package_info = false;  // 0.93-0.95 call bag-info.txt package-info.txt
};

std::optional<std::pair<int, int>> parse_version(std::string_view text) {
  if (text.size() > 16) {
    return std::nullopt;
  }
  static const std::regex pattern("([0-9]+)\\.([0-9]+)");
  std::cmatch match;
  if (!std::regex_match(text.begin(), text.end(), match, pattern)) {
    return std::nullopt;
  }
  return std::pair{std::stoi(match[1].str()), std::stoi(match[2].str())};
}

// "URL LENGTH PATH" as the regular expression (\S+)[ \t]+(\S+)[ \t]+(.+) matches it, without
// std::regex, whose recursion per character overflows the stack on a line of a few tens of
// kilobytes.
std::optional<std::array<std::string_view, 3>> split_fetch_line(std::string_view line) {
  const auto is_space = [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
  };
  const auto is_blank = [](char c) { return c == ' ' || c == '\t'; };
  std::array<std::string_view, 3> fields;
  std::size_t at = 0;
  for (std::size_t field = 0; field < 2; ++field) {
    const std::size_t start = at;
    while (at < line.size() && !is_space(line[at])) {
      ++at;
    }
    const std::size_t end = at;
    while (at < line.size() && is_blank(line[at])) {
      ++at;
    }
    if (end == start || at == end) {
      return std::nullopt;
    }
    fields[field] = line.substr(start, end - start);
    if (field == 1 && at == line.size() && at - end >= 2) {
      --at;  // (.+) takes the last blank when nothing else is left
    }
  }
  if (at >= line.size()) {
    return std::nullopt;
  }
  fields[2] = line.substr(at);
  return fields;
}

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos) {
    return {};
  }
  const auto last = text.find_last_not_of(" \t");
  return std::string(text.substr(first, last - first + 1));
}

class Validator {
 public:
  Validator(std::string directory, BagReport& report, const BagValidateOptions& options)
      : m_directory(std::move(directory)), m_report(report), m_options(options) {}

  Result<void> run() {
    CUSTODY_TRY(take_inventory());
    read_declaration();
    read_bag_info();
    CUSTODY_TRY(read_manifests());
    read_fetch();
    CUSTODY_TRY(check_payload());
    CUSTODY_TRY(check_tag_files());
    check_oxum();
    return {};
  }

 private:
  std::string m_directory;
  BagReport& m_report;
  const BagValidateOptions& m_options;
  Rules m_rules;
  std::map<std::string, std::uint64_t> m_payload;  // data/... -> size
  std::set<std::string> m_tag_files;               // everything else that is a regular file
  std::vector<Manifest> m_manifests;
  std::vector<Manifest> m_tag_manifests;
  std::map<std::string, std::string> m_fetch;  // path -> "fetch.txt line N"
  std::optional<internal::PayloadOxum> m_oxum;
  std::string m_bag_info_name = "bag-info.txt";
  struct Count {
    std::size_t listed = 0;
    bool noted = false;
    bool error_listed = false;
  };
  std::map<std::string, Count> m_problem_counts;

  void error(std::string file, std::string message) {
    problem(Verdict::fail, std::move(file), std::move(message));
  }
  void warning(std::string file, std::string message) {
    problem(Verdict::warn, std::move(file), std::move(message));
  }
  // At most k_max_problems_per_file per file, then one line saying more were left out (and, if
  // an error is among them, one error line, so that leaving problems out never makes a bag valid).
  void problem(Verdict verdict, std::string file, std::string message) {
    Count& count = m_problem_counts[file];
    if (count.listed < k_max_problems_per_file) {
      ++count.listed;
      count.error_listed = count.error_listed || verdict == Verdict::fail;
      m_report.problems.push_back({verdict, std::move(file), std::move(message)});
      return;
    }
    const bool note_error = verdict == Verdict::fail && !count.error_listed;
    if (!count.noted || note_error) {
      m_report.problems.push_back(
          {verdict, file,
           fmt::format("has more problems than the {} listed; fix these first",
                       k_max_problems_per_file)});
      count.noted = true;
      count.error_listed = count.error_listed || note_error;
    }
  }
  // Whether line `number` of `file` is short enough to parse; reports it if not.
  bool line_fits(const std::string& file, std::string_view line, std::size_t number) {
    if (line.size() <= k_max_tag_line) {
      return true;
    }
    error(file, fmt::format("line {} is longer than {} bytes", number, k_max_tag_line));
    return false;
  }
  std::string full(const std::string& relative) const { return m_directory + "/" + relative; }

  Result<void> take_inventory() {
    std::error_code failure;
    fs::recursive_directory_iterator walk(m_directory, failure);
    for (; !failure && walk != fs::recursive_directory_iterator(); walk.increment(failure)) {
      const auto status = walk->symlink_status(failure);
      if (failure) {
        break;
      }
      const std::string relative = walk->path().lexically_relative(m_directory).generic_string();
      if (fs::is_directory(status)) {
        continue;
      }
      if (fs::is_symlink(status)) {
        error(relative,
              "is a symbolic link; a bag holds regular files only (a link can point "
              "anywhere, so it is not followed)");
        continue;
      }
      if (!fs::is_regular_file(status)) {
        error(relative, "is not a regular file (device, FIFO or socket)");
        continue;
      }
      if (relative.starts_with("data/")) {
        m_payload[relative] = walk->file_size(failure);
        // A file that grew by appends since the bag was made counts, and is hashed, as its first
        // bytes only (BagValidateOptions).
        if (const auto prefix = m_options.payload_prefixes.find(relative);
            prefix != m_options.payload_prefixes.end()) {
          if (m_payload[relative] < prefix->second) {
            error(relative, fmt::format("is {} bytes long, shorter than the {} bytes it had when "
                                        "it arrived",
                                        m_payload[relative], prefix->second));
          }
          m_payload[relative] = std::min(m_payload[relative], prefix->second);
        }
        m_report.payload_bytes += m_payload[relative];
      } else {
        m_tag_files.insert(relative);
      }
    }
    if (failure) {
      return make_sys_error(Errc::io_error, "cannot list the bag", m_directory, failure.value());
    }
    m_report.payload_files = m_payload.size();
    const auto data_status = fs::symlink_status(full("data"), failure);
    if (!fs::is_directory(data_status)) {
      error("data", "the payload directory data/ is missing");
    }
    return {};
  }

  // Reads a tag file whole; problems (not there, too big, unreadable) are reported, not returned.
  std::optional<std::string> read_tag_file(const std::string& relative) {
    auto content = internal::read_small_file(full(relative), k_tag_file_limit);
    if (!content) {
      error(relative, content.error().code == Errc::not_found
                          ? "is missing"
                          : "cannot be read: " + content.error().to_string());
      return std::nullopt;
    }
    return std::move(*content);
  }

  // Tag-file text in UTF-8, decoded from the bag's declared encoding.
  std::string decode(const std::string& relative, std::string_view bytes) {
    auto decoded =
        decode_tag_text(bytes, m_report.tag_file_encoding.empty() ? std::string_view("UTF-8")
                                                                  : m_report.tag_file_encoding);
    if (!decoded.error.empty()) {
      error(relative, decoded.error);
    }
    if (decoded.had_bom && lower(m_report.tag_file_encoding).starts_with("utf-8")) {
      warning(relative, "starts with a UTF-8 byte-order mark (ignored)");
    }
    return std::move(decoded.text);
  }

  void read_declaration() {
    const std::string name = "bagit.txt";
    if (!m_tag_files.contains(name)) {
      error(name, "is missing: this is not a bag, or not its top directory");
      return;
    }
    auto content = read_tag_file(name);
    if (!content) {
      return;
    }
    std::string_view text = *content;
    if (text.starts_with("\xEF\xBB\xBF")) {
      error(name, "starts with a byte-order mark, which the bag declaration must not have");
      text.remove_prefix(3);
    }
    const auto lines = split_lines(text);
    const std::string_view version_label = "BagIt-Version: ";
    const std::string_view encoding_label = "Tag-File-Character-Encoding: ";
    if (lines.empty() || !lines[0].starts_with(version_label)) {
      error(name, "the first line must be \"BagIt-Version: M.N\" (exactly that spelling)");
    } else {
      m_report.version = std::string(lines[0].substr(version_label.size()));
    }
    if (lines.size() < 2 || !lines[1].starts_with(encoding_label)) {
      error(name, "the second line must be \"Tag-File-Character-Encoding: ENCODING\"");
    } else {
      m_report.tag_file_encoding = std::string(lines[1].substr(encoding_label.size()));
    }
    const auto version = parse_version(m_report.version);
    if (!m_report.version.empty() && !version) {
      error(name, "BagIt-Version \"" + m_report.version + "\" is not of the form M.N");
    }
    if (version) {
      m_rules.version_1 = *version >= std::pair{1, 0};
      m_rules.package_info = *version < std::pair{0, 96};
      if (*version < std::pair{0, 93} || *version > std::pair{1, 0}) {
        error(name, "BagIt-Version " + m_report.version +
                        " is not one this validator knows (0.93 to 1.0)");
      }
    }
    if (lines.size() > 2 && m_rules.version_1) {
      error(name, "has more than the two lines BagIt 1.0 allows");
    }
    if (m_rules.package_info) {
      m_bag_info_name = "package-info.txt";
    }
  }

  void read_bag_info() {
    if (!m_tag_files.contains(m_bag_info_name)) {
      return;  // optional
    }
    auto content = read_tag_file(m_bag_info_name);
    if (!content) {
      return;
    }
    const std::string text = decode(m_bag_info_name, *content);
    const auto lines = split_lines(text);
    for (std::size_t index = 0; index < lines.size(); ++index) {
      if (line_fits(m_bag_info_name, lines[index], index + 1)) {
        parse_bag_info_line(lines[index], index + 1);
      }
    }
    for (const auto& field : m_report.info) {
      if (lower(field.label) != "payload-oxum") {
        continue;
      }
      auto oxum = internal::parse_payload_oxum(field.value);
      if (!oxum) {
        error(m_bag_info_name,
              "Payload-Oxum \"" + field.value + "\" is not of the form OCTETS.COUNT");
      } else if (m_oxum && (m_oxum->octets != oxum->octets || m_oxum->files != oxum->files)) {
        error(m_bag_info_name, "has two different Payload-Oxum values");
      } else {
        m_oxum = oxum;
      }
    }
  }

  void parse_bag_info_line(std::string_view line, std::size_t number) {
    if (line.empty()) {
      return;
    }
    if (line.front() == ' ' || line.front() == '\t') {
      if (m_report.info.empty()) {
        error(m_bag_info_name,
              fmt::format("line {} continues a field, but none came before it", number));
      } else {
        m_report.info.back().value += " " + trim(line);
      }
      return;
    }
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) {
      error(m_bag_info_name, fmt::format("line {} is not \"Label: value\"", number));
      return;
    }
    const std::string_view label = line.substr(0, colon);
    if (m_rules.version_1 && trim(label) != label) {
      error(m_bag_info_name,
            fmt::format("line {}: the label \"{}\" has whitespace before the colon, which "
                        "BagIt 1.0 does not allow",
                        number, label));
    }
    m_report.info.push_back({trim(label), trim(line.substr(colon + 1))});
  }

  Result<void> read_manifests() {
    static const std::regex pattern("(tag)?manifest-([^/]+)\\.txt");
    for (const auto& name : m_tag_files) {
      std::smatch match;
      if (!std::regex_match(name, match, pattern)) {
        continue;
      }
      const bool tag = match[1].matched;
      const std::string algorithm = match[2].str();
      if (!internal::is_bag_algorithm(algorithm)) {
        error(name, "uses algorithm \"" + algorithm +
                        "\", which this validator cannot check (md5, sha1, sha224, sha256, "
                        "sha384, sha512)");
        continue;
      }
      auto content = read_tag_file(name);
      if (!content) {
        continue;
      }
      Manifest manifest{name, algorithm, {}};
      parse_manifest(manifest, decode(name, *content), tag);
      (tag ? m_tag_manifests : m_manifests).push_back(std::move(manifest));
      (tag ? m_report.tag_algorithms : m_report.payload_algorithms).push_back(algorithm);
    }
    if (m_manifests.empty()) {
      error("", "has no payload manifest (manifest-<algorithm>.txt)");
    }
    return {};
  }

  // The path of a manifest or fetch.txt line, checked; nullopt after reporting a refusal.
  std::optional<std::string> checked_path(const std::string& file,
                                          std::size_t number,
                                          std::string_view raw,
                                          bool payload) {
    BagPath path = check_bag_path(raw, m_rules.version_1);
    for (const auto& text : path.warnings) {
      warning(file, fmt::format("line {}: {}", number, text));
    }
    if (!path.error.empty()) {
      error(file, fmt::format("line {}: {}", number, path.error));
      return std::nullopt;
    }
    if (payload && !path.path.starts_with("data/")) {
      error(file, fmt::format("line {}: \"{}\" is outside the payload directory data/", number,
                              path.path));
      return std::nullopt;
    }
    return std::move(path.path);
  }

  void parse_manifest(Manifest& manifest, const std::string& text, bool tag) {
    const std::size_t digest_length = internal::bag_digest_hex_length(manifest.algorithm);
    const auto lines = split_lines(text);
    if (lines.size() > k_max_manifest_lines) {
      error(manifest.file, fmt::format("has {} lines, more than the {} this validator reads",
                                       lines.size(), k_max_manifest_lines));
      return;
    }
    for (std::size_t index = 0; index < lines.size(); ++index) {
      const std::string_view line = lines[index];
      const std::size_t number = index + 1;
      if (!line_fits(manifest.file, line, number) || trim(line).empty()) {
        continue;
      }
      const auto gap = line.find_first_of(" \t");
      const auto start = gap == std::string_view::npos ? gap : line.find_first_not_of(" \t", gap);
      if (start == std::string_view::npos) {
        error(manifest.file, fmt::format("line {} is not \"DIGEST PATH\"", number));
        continue;
      }
      const std::string digest = lower(line.substr(0, gap));
      if (digest.size() != digest_length ||
          digest.find_first_not_of("0123456789abcdef") != std::string::npos) {
        error(manifest.file, fmt::format("line {}: \"{}\" is not a {} digest", number, digest,
                                         manifest.algorithm));
        continue;
      }
      std::string_view raw = line.substr(start);
      // md5sum and sha256sum write "DIGEST *NAME" in binary mode; some bags were made with them.
      if (start == gap + 1 && line[gap] == ' ' && raw.starts_with("*")) {
        raw.remove_prefix(1);
        warning(manifest.file,
                fmt::format("line {}: md5sum's binary-mode '*' before the name (ignored)", number));
      }
      auto path = checked_path(manifest.file, number, raw, !tag);
      if (!path) {
        continue;
      }
      if (tag && path->starts_with("data/")) {
        warning(manifest.file, fmt::format("line {}: lists the payload file {}", number, *path));
      }
      add_entry(manifest, number, std::move(*path), digest);
    }
  }

  void add_entry(Manifest& manifest,
                 std::size_t number,
                 std::string path,
                 const std::string& digest) {
    const auto [existing, inserted] = manifest.entries.emplace(path, digest);
    if (inserted) {
      return;
    }
    if (m_rules.version_1) {
      error(manifest.file, fmt::format("line {}: {} is listed more than once", number, path));
    } else if (existing->second != digest) {
      error(manifest.file,
            fmt::format("line {}: {} is listed twice with different digests", number, path));
    } else {
      warning(manifest.file, fmt::format("line {}: {} is listed twice", number, path));
    }
  }

  void read_fetch() {
    const std::string name = "fetch.txt";
    if (!m_tag_files.contains(name)) {
      return;
    }
    auto content = read_tag_file(name);
    if (!content) {
      return;
    }
    const std::string text = decode(name, *content);
    const auto lines = split_lines(text);
    for (std::size_t index = 0; index < lines.size(); ++index) {
      if (!line_fits(name, lines[index], index + 1)) {
        continue;
      }
      const std::string line(lines[index]);
      if (trim(line).empty()) {
        continue;
      }
      const auto fields = split_fetch_line(line);
      if (!fields || ((*fields)[1] != "-" &&
                      (*fields)[1].find_first_not_of("0123456789") != std::string_view::npos)) {
        error(name, fmt::format("line {} is not \"URL LENGTH PATH\"", index + 1));
        continue;
      }
      auto path = checked_path(name, index + 1, (*fields)[2], true);
      if (path) {
        m_fetch.emplace(*path, fmt::format("line {}", index + 1));
      }
    }
  }

  // Reads `relative` once and returns every algorithm's digest; nullopt after reporting that it
  // could not be read as a file of the bag.
  Result<std::map<std::string, std::string>> hash_file(const std::string& relative,
                                                       const std::vector<std::string>& algorithms) {
    auto digest = internal::MultiDigest::create(algorithms);
    if (!digest) {
      return tl::unexpected(digest.error());
    }
    const std::string path = full(relative);
    internal::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) {
      return make_sys_error(Errc::io_error, "cannot open a file of the bag", path, errno);
    }
    std::vector<std::byte> buffer(k_read_block);
    std::uint64_t offset = 0;
    const auto prefix = m_options.payload_prefixes.find(relative);
    const std::uint64_t limit = prefix == m_options.payload_prefixes.end()
                                    ? std::numeric_limits<std::uint64_t>::max()
                                    : prefix->second;
    while (offset < limit) {
      std::span<std::byte> piece(buffer);
      piece = piece.first(
          static_cast<std::size_t>(std::min<std::uint64_t>(piece.size(), limit - offset)));
      auto got = internal::read_full(fd.get(), piece, path, offset);
      if (!got) {
        return tl::unexpected(got.error());
      }
      if (*got == 0) {
        break;
      }
      digest->update(piece.first(*got));
      offset += *got;
    }
    return digest->finish();
  }

  // Checks `relative` against every manifest in `manifests` that lists it, in one read.
  Result<void> verify_file(const std::string& relative,
                           const std::vector<const Manifest*>& manifests) {
    std::vector<std::string> algorithms;
    for (const auto* manifest : manifests) {
      if (std::find(algorithms.begin(), algorithms.end(), manifest->algorithm) ==
          algorithms.end()) {
        algorithms.push_back(manifest->algorithm);
      }
    }
    auto digests = hash_file(relative, algorithms);
    if (!digests) {
      return tl::unexpected(digests.error());
    }
    for (const auto* manifest : manifests) {
      const std::string& expected = manifest->entries.at(relative);
      const std::string& actual = digests->at(manifest->algorithm);
      if (expected != actual) {
        error(relative, fmt::format("{} mismatch: {} says {}, the file has {}", manifest->algorithm,
                                    manifest->file, expected, actual));
      }
    }
    return {};
  }

  Result<void> check_payload() {
    std::set<std::string> listed;
    for (const auto& manifest : m_manifests) {
      for (const auto& [path, digest] : manifest.entries) {
        listed.insert(path);
      }
    }
    for (const auto& [path, where] : m_fetch) {
      for (const auto& manifest : m_manifests) {
        if (!manifest.entries.contains(path)) {
          error("fetch.txt", fmt::format("{}: {} is not listed in {}", where, path, manifest.file));
        }
      }
    }
    for (const auto& path : listed) {
      if (!m_payload.contains(path)) {
        error(path, m_fetch.contains(path)
                        ? "incomplete bag: listed in fetch.txt but not fetched yet"
                        : "is listed in a manifest but missing from the bag");
      }
    }
    for (const auto& [path, size] : m_payload) {
      std::vector<const Manifest*> covering;
      for (const auto& manifest : m_manifests) {
        if (manifest.entries.contains(path)) {
          covering.push_back(&manifest);
        } else {
          error(path, "is in data/ but not listed in " + manifest.file);
        }
      }
      if (!covering.empty()) {
        CUSTODY_TRY(verify_file(path, covering));
      }
    }
    return {};
  }

  Result<void> check_tag_files() {
    std::set<std::string> listed;
    for (const auto& manifest : m_tag_manifests) {
      for (const auto& [path, digest] : manifest.entries) {
        listed.insert(path);
      }
    }
    for (const auto& path : listed) {
      if (!m_tag_files.contains(path) && !m_payload.contains(path)) {
        error(path, "is listed in a tag manifest but missing from the bag");
        continue;
      }
      std::vector<const Manifest*> covering;
      for (const auto& manifest : m_tag_manifests) {
        if (manifest.entries.contains(path)) {
          covering.push_back(&manifest);
        }
      }
      CUSTODY_TRY(verify_file(path, covering));
    }
    return {};
  }

  void check_oxum() {
    if (!m_oxum) {
      return;
    }
    if (m_oxum->octets != m_report.payload_bytes || m_oxum->files != m_report.payload_files) {
      error(m_bag_info_name,
            fmt::format("Payload-Oxum says {} bytes in {} files, but data/ holds {} bytes in {} "
                        "files",
                        m_oxum->octets, m_oxum->files, m_report.payload_bytes,
                        m_report.payload_files));
    }
  }
};

}  // namespace

Result<BagReport> validate_bag(const std::string& directory) {
  return validate_bag(directory, BagValidateOptions{});
}

Result<BagReport> validate_bag(const std::string& directory, const BagValidateOptions& options) {
  struct stat status {};
  if (::stat(directory.c_str(), &status) != 0) {
    const int error = errno;
    auto failure = make_sys_error(error == ENOENT ? Errc::not_found : Errc::io_error,
                                  "cannot open the bag", directory, error);
    failure.value().hint = "give the top directory of the bag (the one holding bagit.txt)";
    return failure;
  }
  if (!S_ISDIR(status.st_mode)) {
    Error failure{Errc::invalid_argument,
                  "a bag is a directory; this is not one",
                  directory,
                  {},
                  0,
                  "extract an archived bag first (extract_bag_archive)"};
    return tl::unexpected(std::move(failure));
  }
  BagReport report;
  report.directory = directory;
  Validator validator(directory, report, options);
  CUSTODY_TRY(validator.run());
  return report;
}

}  // namespace custody
