// SPDX-License-Identifier: Apache-2.0
// AFF4 volumes (Container::open: turtle, map, idx, bevy index, chunk reads, block hashes). The
// input is either a ZIP ("PK..."), used as it is, or "@@ member\n<bytes>" sections that are put
// into a well-formed ZIP first, so that the fuzzer works on the map and index segments and the
// turtle rather than on the ZIP structure.
#include "fuzz_support.hpp"

#include <custody/container.hpp>

#include <array>
#include <vector>

CUSTODY_FUZZ_TARGET(aff4)(const std::uint8_t* data, std::size_t size) {
  const std::string_view input = custody::fuzz::as_text(data, size);
  std::string path;
  if (input.starts_with("PK")) {
    path = custody::fuzz::memory_file(input);
  } else {
    path = custody::fuzz::scratch_dir() + "/volume.aff4";
    if (!custody::fuzz::write_zip(path, custody::fuzz::split_sections(input, 64))) {
      return 0;
    }
  }
  auto container = custody::Container::open({path});
  if (!container) {
    return 0;
  }
  const custody::ContainerInfo& info = (*container)->info();
  std::vector<std::byte> buffer(std::size_t{1} << 16U);
  // The start, the middle and the end of the image, at most 1 MiB in all.
  const std::array<std::uint64_t, 3> starts{0, info.size / 2,
                                            info.size > 4096 ? info.size - 4096 : 0};
  for (std::uint64_t start : starts) {
    std::uint64_t offset = start;
    for (int i = 0; i < 5 && offset < info.size; ++i) {
      auto n = (*container)->read(offset, buffer);
      if (!n || *n == 0) {
        break;
      }
      offset += *n;
    }
  }
  (void)(*container)->read_member("information.turtle", std::size_t{1} << 20U);
  std::vector<std::string> checked;
  (void)(*container)->check_block_hashes(checked);
  (void)(*container)->check_members(nullptr, nullptr);
  (void)custody::container_info_to_json(info);
  return 0;
}
