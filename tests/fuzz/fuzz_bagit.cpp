// SPDX-License-Identifier: Apache-2.0
// BagIt bags: "@@ NAME\n<bytes>" sections become the files of a bag directory (bagit.txt,
// bag-info.txt, manifests, data/...), which validate_bag checks; every section also goes through
// the tag-file text parsers.
#include "fuzz_support.hpp"
#include "transfer/bagit_text.hpp"

#include <custody/bagit.hpp>

#include <filesystem>
#include <fstream>

CUSTODY_FUZZ_TARGET(bagit)(const std::uint8_t* data, std::size_t size) {
  namespace fs = std::filesystem;
  using namespace custody::internal;
  const fs::path bag = fs::path(custody::fuzz::scratch_dir()) / "bag";
  std::error_code ignored;
  fs::remove_all(bag, ignored);
  fs::create_directories(bag / "data");
  for (const auto& [name, content] :
       custody::fuzz::split_sections(custody::fuzz::as_text(data, size), 32)) {
    for (std::string_view line : split_lines(content)) {
      (void)check_bag_path(line, true);
      (void)check_bag_path(line, false);
      (void)parse_payload_oxum(line);
    }
    (void)decode_tag_text(content, "UTF-8");
    (void)decode_tag_text(content, "UTF-16");
    (void)decode_tag_text(content, "ISO-8859-1");
    // Only plain relative names inside the bag.
    if (name.empty() || name.size() > 100 || name.front() == '/' ||
        name.find("..") != std::string::npos ||
        name.find_first_not_of(
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/") !=
            std::string::npos) {
      continue;
    }
    const fs::path file = bag / name;
    fs::create_directories(file.parent_path(), ignored);
    std::ofstream(file, std::ios::binary) << content;
  }
  if (auto report = custody::validate_bag(bag.string())) {
    (void)report->valid();
    (void)report->lines(custody::Verdict::fail);
  }
  return 0;
}
