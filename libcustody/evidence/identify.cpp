// SPDX-License-Identifier: Apache-2.0
// identify_evidence: what each path on a command line is, by its content (magic bytes, ZIP
// members, bagit.txt, JSON format names), and which paths form one evidence item.
#include "aff4/aff4_format.hpp"
#include "aff4/logical_detect.hpp"
#include "aff4/turtle.hpp"
#include "zip/zip.hpp"

#include <custody/asic.hpp>
#include <custody/evidence.hpp>
#include <custody/logical.hpp>
#include <custody/record.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <optional>
#include <set>

namespace custody {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t k_json_limit = std::size_t{16} << 20U;  // records and envelope indexes
constexpr std::size_t k_record_candidates = 4096;             // files looked at beside an image

const char* const k_accepted =
    "evidence is an AFF4 container (every volume of a striped image), an AFF4-L "
    "logical container, the acquisition record of a raw image (or the raw image beside it), an "
    "E01 set, a transfer package (tar, ZIP or encrypted, NAME.enc.json) and a bag directory";

std::string head_of(const std::string& path, std::size_t size) {
  std::ifstream in(path, std::ios::binary);
  std::string bytes(size, '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(size));
  bytes.resize(static_cast<std::size_t>(std::max<std::streamsize>(in.gcount(), 0)));
  return bytes;
}

bool starts_with_json_object(const std::string& head) {
  for (const char c : head) {
    if (std::isspace(static_cast<unsigned char>(c)) == 0) {
      return c == '{';
    }
  }
  return false;
}

std::optional<std::string> read_small(const std::string& path) {
  std::error_code ignored;
  const auto size = fs::file_size(path, ignored);
  if (ignored || size > k_json_limit) {
    return std::nullopt;
  }
  return head_of(path, static_cast<std::size_t>(size));
}

// The "format" of a JSON object, or "" when the file is not one.
std::string json_format(const std::string& path) {
  auto text = read_small(path);
  if (!text) {
    return {};
  }
  const auto document = nlohmann::json::parse(*text, nullptr, false);
  if (document.is_discarded() || !document.is_object() || !document.contains("format") ||
      !document["format"].is_string()) {
    return {};
  }
  return document["format"].get<std::string>();
}

bool is_envelope_index(const std::string& path) {
  std::error_code ignored;
  return fs::is_regular_file(path, ignored) && starts_with_json_object(head_of(path, 64)) &&
         json_format(path) == "custody-envelope";
}

bool is_e01(const std::string& head) {
  constexpr std::array<unsigned char, 8> k_evf{'E', 'V', 'F', 0x09, 0x0d, 0x0a, 0xff, 0x00};
  return head.size() >= k_evf.size() &&
         std::equal(k_evf.begin(), k_evf.end(), head.begin(),
                    [](unsigned char a, char b) { return a == static_cast<unsigned char>(b); });
}

bool is_tar(const std::string& head) {
  return head.size() >= 262 && head.compare(257, 5, "ustar") == 0;
}

bool is_zip_start(const std::string& head) {
  return head.size() >= 4 && head.compare(0, 4, "PK\x03\x04") == 0;
}

// A bag's bagit.txt at the top of an archive or in its one top-level directory.
bool holds_bag(const internal::ZipReader& zip) {
  return std::any_of(zip.members().begin(), zip.members().end(), [](const auto& member) {
    const std::string& name = member.name;
    if (name == "bagit.txt") {
      return true;
    }
    const auto slash = name.find('/');
    return slash != std::string::npos && slash > 0 && name.substr(slash + 1) == "bagit.txt";
  });
}

bool holds_aff4(const internal::ZipReader& zip) {
  return zip.find("version.txt") != nullptr || zip.find("information.turtle") != nullptr ||
         zip.find("container.description") != nullptr;
}

// What one volume of a physical AFF4 image says about itself and the others.
struct VolumeFacts {
  std::string urn;                    // the volume's own URN
  std::set<std::string> images;       // the aff4:Image objects it describes
  std::set<std::string> stored_urns;  // the volumes its objects are stored in (aff4:stored)
};

VolumeFacts volume_facts(const internal::ZipReader& zip) {
  VolumeFacts facts;
  if (const auto* description = zip.find("container.description")) {
    if (auto text = zip.read_member(*description, 4096)) {
      facts.urn = *text;
    }
  } else {
    facts.urn = zip.comment();
  }
  while (!facts.urn.empty() &&
         (facts.urn.back() == '\0' || facts.urn.back() == '\n' || facts.urn.back() == '\r')) {
    facts.urn.pop_back();
  }
  const auto* turtle = zip.find("information.turtle");
  if (turtle == nullptr) {
    return facts;
  }
  auto text = zip.read_member(*turtle, k_json_limit);
  if (!text) {
    return facts;
  }
  auto graph = internal::RdfGraph::parse_turtle(*text);
  if (!graph) {
    return facts;
  }
  for (const std::string& image : graph->subjects_of_type(internal::aff4::term("Image"))) {
    facts.images.insert(image);
  }
  const std::string stored = internal::aff4::term("stored");
  for (const internal::Triple& triple : graph->triples()) {
    if (triple.predicate == stored && triple.object.kind == internal::RdfTerm::Kind::iri &&
        triple.object.value.starts_with("aff4://")) {
      facts.stored_urns.insert(triple.object.value);
    }
  }
  return facts;
}

// Two different volumes of one image: one names the other as where objects are stored, or both
// describe the same image. Copies of one volume (the same URN) are separate items.
bool same_image(const VolumeFacts& a, const VolumeFacts& b) {
  if (a.urn.empty() || b.urn.empty() || a.urn == b.urn) {
    return false;
  }
  if (a.stored_urns.count(b.urn) != 0 || b.stored_urns.count(a.urn) != 0) {
    return true;
  }
  return std::any_of(a.images.begin(), a.images.end(),
                     [&](const std::string& image) { return b.images.count(image) != 0; });
}

// One path, classified.
struct Identified {
  EvidenceKind kind = EvidenceKind::raw_record;
  std::string record;  // raw: the record
  std::string group;   // paths with the same group form one item (E01 set, raw image)
  std::optional<VolumeFacts> volume;  // physical AFF4
};

// The record in `path`'s directory that names `path` as one of its segments.
std::optional<std::string> record_beside(const std::string& path) {
  std::error_code error;
  const fs::path file(path);
  const fs::path directory = file.has_parent_path() ? file.parent_path() : fs::path(".");
  const std::string name = file.filename().string();
  std::size_t looked = 0;
  for (fs::directory_iterator it(directory, error), end; !error && it != end; it.increment(error)) {
    if (++looked > k_record_candidates) {
      break;
    }
    std::error_code ignored;
    if (!it->is_regular_file(ignored) || it->path() == file ||
        !starts_with_json_object(head_of(it->path().string(), 64))) {
      continue;
    }
    auto text = read_small(it->path().string());
    if (!text) {
      continue;
    }
    auto loaded = parse_record(*text);
    if (!loaded || loaded->record.image_format != "raw") {
      continue;
    }
    const auto& segments = loaded->record.segments;
    if (std::any_of(segments.begin(), segments.end(),
                    [&](const SegmentRecord& segment) { return segment.file == name; })) {
      return (file.has_parent_path() ? directory / it->path().filename() : it->path().filename())
          .string();
    }
  }
  return std::nullopt;
}

std::string canonical_or_given(const std::string& path) {
  std::error_code ignored;
  const fs::path canonical = fs::weakly_canonical(path, ignored);
  return ignored ? path : canonical.string();
}

Result<Identified> identify_path(const std::string& path) {
  std::error_code ignored;
  const auto status = fs::status(path, ignored);
  if (!fs::exists(status)) {
    // An encrypted package may be named without its index's suffix.
    if (is_envelope_index(path + ".enc.json")) {
      return Identified{EvidenceKind::transfer_package, {}, {}, {}};
    }
    return tl::unexpected(Error{Errc::not_found, "no such file or directory", path, {}, 0, {}});
  }
  if (fs::is_directory(status)) {
    if (fs::exists(fs::path(path) / "bagit.txt", ignored)) {
      return Identified{EvidenceKind::bag_directory, {}, {}, {}};
    }
    return tl::unexpected(Error{
        Errc::invalid_argument,
        fmt::format("{} is a directory, not a file (and not a bag: it holds no bagit.txt)", path),
        path,
        {},
        0,
        k_accepted});
  }
  const std::string head = head_of(path, 512);
  if (is_e01(head)) {
    fs::path stem(path);
    stem.replace_extension();
    return Identified{EvidenceKind::e01_set, {}, "e01:" + canonical_or_given(stem.string()), {}};
  }
  if (is_tar(head)) {
    return Identified{EvidenceKind::transfer_package, {}, {}, {}};
  }
  if (starts_with_json_object(head)) {
    if (json_format(path) == "custody-envelope") {
      return Identified{EvidenceKind::transfer_package, {}, {}, {}};
    }
    // Any other JSON is read as a record: the record reader says what is wrong with it.
    return Identified{EvidenceKind::raw_record, path, "raw:" + canonical_or_given(path), {}};
  }
  if (fs::exists(path + ".enc.json", ignored) && is_envelope_index(path + ".enc.json")) {
    return Identified{EvidenceKind::transfer_package, {}, {}, {}};
  }
  // A ZIP, possibly with data in front of it (the AFF4 reader handles that).
  auto zip = internal::ZipReader::open(path);
  if (zip && zip->find("mimetype") != nullptr && is_asic_e(path)) {
    return Identified{EvidenceKind::asic_e, {}, {}, {}};
  }
  if (zip && holds_aff4(*zip)) {
    if (internal::holds_logical_container(*zip)) {
      return Identified{EvidenceKind::aff4_logical, {}, {}, {}};
    }
    return Identified{EvidenceKind::aff4_container, {}, {}, volume_facts(*zip)};
  }
  if (zip && holds_bag(*zip)) {
    return Identified{EvidenceKind::transfer_package, {}, {}, {}};
  }
  // A raw image may hold anything, a ZIP too: a record beside it that names it says what it is.
  if (auto record = record_beside(path)) {
    return Identified{EvidenceKind::raw_image, *record, "raw:" + canonical_or_given(*record), {}};
  }
  if (zip) {
    return tl::unexpected(Error{
        Errc::unsupported,
        fmt::format("{} is a ZIP archive, but neither an AFF4 container (it holds no version.txt, "
                    "information.turtle or container.description) nor a transfer package (no "
                    "bagit.txt)",
                    path),
        path,
        {},
        0,
        k_accepted});
  }
  if (is_zip_start(head)) {
    // A damaged ZIP: the container checks say what is wrong with it.
    return Identified{EvidenceKind::aff4_container, {}, {}, std::nullopt};
  }
  return tl::unexpected(Error{
      Errc::unsupported,
      fmt::format("{} is not evidence the custody tools read: not an AFF4 container, an E01 "
                  "set, a transfer package or an acquisition record, and no acquisition record in "
                  "its directory names it as a raw image",
                  path),
      path,
      {},
      0,
      k_accepted});
}

}  // namespace

const char* evidence_kind_name(EvidenceKind kind) {
  switch (kind) {
    case EvidenceKind::raw_record:
      return "raw record";
    case EvidenceKind::raw_image:
      return "raw image";
    case EvidenceKind::aff4_container:
      return "AFF4 container";
    case EvidenceKind::aff4_striped:
      return "striped AFF4 image";
    case EvidenceKind::aff4_logical:
      return "AFF4-L logical container";
    case EvidenceKind::e01_set:
      return "E01 set";
    case EvidenceKind::transfer_package:
      return "transfer package";
    case EvidenceKind::bag_directory:
      return "bag directory";
    case EvidenceKind::asic_e:
      return "ASiC-E container";
  }
  return "unknown";
}

Result<std::vector<EvidenceItem>> identify_evidence(const std::vector<std::string>& paths) {
  if (paths.empty()) {
    return make_error(Errc::invalid_argument, "no evidence given");
  }
  std::vector<Identified> identified;
  std::set<std::string> seen;
  for (const std::string& path : paths) {
    if (!seen.insert(canonical_or_given(path)).second) {
      return tl::unexpected(Error{Errc::invalid_argument,
                                  fmt::format("{} is given twice", path),
                                  path,
                                  {},
                                  0,
                                  "give each file once"});
    }
    auto one = identify_path(path);
    CUSTODY_TRY(one);
    identified.push_back(std::move(*one));
  }
  // Union-find over the paths: volumes of one image, segments of one E01 set or raw image.
  std::vector<std::size_t> parent(paths.size());
  std::iota(parent.begin(), parent.end(), std::size_t{0});
  const auto root = [&](std::size_t index) {
    while (parent[index] != index) {
      index = parent[index] = parent[parent[index]];
    }
    return index;
  };
  const auto join = [&](std::size_t a, std::size_t b) {
    a = root(a);
    b = root(b);
    if (a != b) {
      parent[std::max(a, b)] = std::min(a, b);  // the first path given stays the root
    }
  };
  for (std::size_t a = 0; a < paths.size(); ++a) {
    for (std::size_t b = a + 1; b < paths.size(); ++b) {
      const Identified& x = identified[a];
      const Identified& y = identified[b];
      if (!x.group.empty() && x.group == y.group) {
        join(a, b);
      } else if (x.volume && y.volume && same_image(*x.volume, *y.volume)) {
        join(a, b);
      }
    }
  }
  std::vector<EvidenceItem> items;
  std::map<std::size_t, std::size_t> item_of_root;
  for (std::size_t index = 0; index < paths.size(); ++index) {
    const std::size_t top = root(index);
    auto [found, inserted] = item_of_root.emplace(top, items.size());
    if (inserted) {
      items.push_back(EvidenceItem{identified[index].kind, {}, identified[index].record});
    }
    EvidenceItem& item = items[found->second];
    item.paths.push_back(paths[index]);
    if (identified[index].kind == EvidenceKind::raw_record) {
      item.kind = EvidenceKind::raw_record;  // the record itself was given
      item.record = paths[index];
    }
  }
  for (EvidenceItem& item : items) {
    if (item.kind == EvidenceKind::aff4_container && item.paths.size() > 1) {
      item.kind = EvidenceKind::aff4_striped;
    }
  }
  return items;
}

}  // namespace custody
