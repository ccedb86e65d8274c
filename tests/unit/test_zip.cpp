// SPDX-License-Identifier: Apache-2.0
#include "../support/commands.hpp"
#include "../support/prerequisites.hpp"
#include "../support/temp_dir.hpp"
#include "zip/zip.hpp"

#include <boost/test/unit_test.hpp>
#include <fmt/format.h>

#include <sys/mount.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <numeric>
#include <random>
#include <string>
#include <vector>

namespace custody::internal {
namespace {

const std::string k_aff4_dir = CUSTODY_TESTDATA_DIR "/aff4";

std::span<const std::byte> bytes_of(std::string_view text) {
  return std::as_bytes(std::span(text.data(), text.size()));
}

std::uint32_t crc_of(std::string_view text) {
  return static_cast<std::uint32_t>(
      ::crc32(0, reinterpret_cast<const Bytef*>(text.data()), static_cast<uInt>(text.size())));
}

std::string random_text(std::size_t size, unsigned seed) {
  const auto data = test::random_bytes(size, seed);
  return {data.begin(), data.end()};
}

using test::write_text;

std::uint16_t get_u16(const std::string& bytes, std::size_t at) {
  return static_cast<std::uint16_t>(static_cast<unsigned char>(bytes.at(at)) |
                                    (static_cast<unsigned char>(bytes.at(at + 1)) << 8U));
}

std::uint32_t get_u32(const std::string& bytes, std::size_t at) {
  return get_u16(bytes, at) | (static_cast<std::uint32_t>(get_u16(bytes, at + 2)) << 16U);
}

std::uint64_t get_u64(const std::string& bytes, std::size_t at) {
  return get_u32(bytes, at) | (static_cast<std::uint64_t>(get_u32(bytes, at + 4)) << 32U);
}

void put_u32(std::string& bytes, std::size_t at, std::uint32_t value) {
  for (std::size_t i = 0; i < 4; ++i) {
    bytes.at(at + i) = static_cast<char>((value >> (8U * i)) & 0xFFU);
  }
}

void put_u64(std::string& bytes, std::size_t at, std::uint64_t value) {
  put_u32(bytes, at, static_cast<std::uint32_t>(value));
  put_u32(bytes, at + 4, static_cast<std::uint32_t>(value >> 32U));
}

// Appends little-endian records, for archives crafted by hand.
struct Craft {
  std::string bytes;
  Craft& u16(std::uint64_t value) { return le(value, 2); }
  Craft& u32(std::uint64_t value) { return le(value, 4); }
  Craft& u64(std::uint64_t value) { return le(value, 8); }
  Craft& text(std::string_view value) {
    bytes.append(value);
    return *this;
  }
  Craft& le(std::uint64_t value, int count) {
    for (int i = 0; i < count; ++i) {
      bytes.push_back(static_cast<char>(value & 0xFFU));
      value >>= 8U;
    }
    return *this;
  }
};

// The error of a failed Result, for test messages.
template <typename T>
std::string why(const Result<T>& result) {
  return result ? std::string() : result.error().to_string();
}

using test::have_tool;

int exit_code_of(const std::string& command) {
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string output_of(const std::string& command) {
  std::string out;
  if (FILE* pipe = ::popen(command.c_str(), "r")) {
    char buffer[4096];
    std::size_t got = 0;
    while ((got = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) {
      out.append(buffer, got);
    }
    ::pclose(pipe);
  }
  return out;
}

using Contents = std::vector<std::pair<std::string, std::string>>;

// The members every round-trip test writes: small, empty, binary, non-ASCII, nested.
Contents sample_contents() {
  return {{"container.description", "aff4://685e15cc-d0fb-4dbc-ba47-48117fc77044"},
          {"empty", ""},
          {"aff4%3A%2F%2Fc215ba20/00000000", random_text(100'003, 1)},
          {"ネコ.txt", "neko\n"},
          {"/absolute/allowed.txt", "AFF4-L uses absolute names\n"}};
}

void write_archive(const std::string& path,
                   const Contents& contents,
                   std::string_view comment = "aff4://685e15cc-d0fb-4dbc-ba47-48117fc77044") {
  auto writer = ZipWriter::create(path, false);
  BOOST_REQUIRE_MESSAGE(writer, why(writer));
  for (const auto& [name, data] : contents) {
    auto added = writer->add_member(name, bytes_of(data));
    BOOST_REQUIRE_MESSAGE(added, why(added));
  }
  auto finished = writer->finish(comment);
  BOOST_REQUIRE_MESSAGE(finished, why(finished));
}

ZipReader open_ok(const std::string& path) {
  auto reader = ZipReader::open(path);
  BOOST_REQUIRE_MESSAGE(reader, why(reader));
  return std::move(*reader);
}

// Opening must fail as Errc::corrupt with `fragment` in the message.
void expect_corrupt(const std::string& path, const std::string& fragment) {
  auto reader = ZipReader::open(path);
  BOOST_REQUIRE_MESSAGE(!reader, "opened a damaged archive: " + path);
  BOOST_TEST((reader.error().code == Errc::corrupt), reader.error().to_string());
  BOOST_TEST(reader.error().message.find(fragment) != std::string::npos,
             "message \"" << reader.error().message << "\" lacks \"" << fragment << "\"");
}

void expect_contents(const ZipReader& reader, const Contents& contents) {
  BOOST_REQUIRE_EQUAL(reader.members().size(), contents.size());
  for (std::size_t i = 0; i < contents.size(); ++i) {
    const auto& [name, data] = contents[i];
    const ZipMember& member = reader.members()[i];
    BOOST_TEST(member.name == name);
    BOOST_TEST(reader.find(name) == &member);
    BOOST_TEST(member.method == 0);
    BOOST_TEST(member.uncompressed_size == data.size());
    BOOST_TEST(member.compressed_size == data.size());
    BOOST_TEST(member.crc32 == crc_of(data));
    auto crc = reader.compute_crc32(member);
    BOOST_REQUIRE(crc);
    BOOST_TEST(*crc == member.crc32);
    auto content = reader.read_member(member, data.size());
    BOOST_REQUIRE_MESSAGE(content, why(content));
    BOOST_TEST((*content == data), "content of " << name);
  }
}

// Offsets of the end records in an archive our writer made with `comment`.
struct EndRecords {
  std::size_t eocd;
  std::size_t locator;
  std::size_t zip64;
};

EndRecords end_records_of(const std::string& bytes, std::size_t comment_size) {
  EndRecords records{};
  records.eocd = bytes.size() - 22 - comment_size;
  records.locator = records.eocd - 20;
  records.zip64 = records.locator - 56;
  return records;
}

// Replaces `from` by `to` (same length) everywhere in the file: in the local header and in the
// central directory entry.
void patch_name(const std::string& path, const std::string& from, const std::string& to) {
  BOOST_REQUIRE_EQUAL(from.size(), to.size());
  std::string bytes = test::read_file(path);
  std::size_t count = 0;
  for (std::size_t at = bytes.find(from); at != std::string::npos; at = bytes.find(from, at + 1)) {
    bytes.replace(at, from.size(), to);
    ++count;
  }
  BOOST_REQUIRE_EQUAL(count, 2U);
  write_text(path, bytes);
}

std::vector<std::string> reference_archives() {
  std::vector<std::string> paths;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(k_aff4_dir)) {
    const std::string extension = entry.path().extension().string();
    if (entry.is_regular_file() && (extension == ".aff4" || extension == ".zip")) {
      paths.push_back(entry.path().string());
    }
  }
  std::sort(paths.begin(), paths.end());
  return paths;
}

// One stored member "data" with every size and offset in a Zip64 extra of the central
// directory, and optionally Zip64 end records with `extensible` bytes of extensible data.
std::string craft_zip64_extra_archive(std::string_view data,
                                      std::size_t zip64_extra_size,
                                      bool zip64_end_records,
                                      std::size_t extensible) {
  Craft out;
  const std::string name = "data";
  out.u32(0x04034b50).u16(45).u16(0).u16(0).u16(0).u16(0x21).u32(crc_of(data));
  out.u32(0xFFFFFFFF).u32(0xFFFFFFFF).u16(name.size()).u16(20).text(name);
  out.u16(1).u16(16).u64(data.size()).u64(data.size()).text(data);
  const std::size_t cd_at = out.bytes.size();
  out.u32(0x02014b50).u16(45).u16(45).u16(0).u16(0).u16(0).u16(0x21).u32(crc_of(data));
  // An unrelated extra (extended timestamp) first, to show it is skipped.
  out.u32(0xFFFFFFFF).u32(0xFFFFFFFF).u16(name.size()).u16(9 + 4 + zip64_extra_size).u16(0);
  out.u16(0).u16(0).u32(0).u32(0xFFFFFFFF).text(name);
  out.u16(0x5455).u16(5).text(std::string(5, '\x01'));
  out.u16(1).u16(zip64_extra_size);
  const std::array<std::uint64_t, 3> values = {data.size(), data.size(), 0};
  for (std::size_t i = 0; i < zip64_extra_size / 8; ++i) {
    out.u64(values.at(i));
  }
  const std::size_t cd_size = out.bytes.size() - cd_at;
  if (zip64_end_records) {
    const std::size_t zip64_at = out.bytes.size();
    out.u32(0x06064b50).u64(44 + extensible).u16(45).u16(45).u32(0).u32(0).u64(1).u64(1);
    out.u64(cd_size).u64(cd_at).text(std::string(extensible, 'x'));
    out.u32(0x07064b50).u32(0).u64(zip64_at).u32(1);
    out.u32(0x06054b50).u16(0).u16(0).u16(1).u16(1).u32(0xFFFFFFFF).u32(0xFFFFFFFF).u16(0);
  } else {
    out.u32(0x06054b50).u16(0).u16(0).u16(1).u16(1).u32(cd_size).u32(cd_at).u16(0);
  }
  return out.bytes;
}

// `size` bytes starting at an address that is a multiple of 4096, as pipeline blocks are.
class AlignedBytes {
 public:
  explicit AlignedBytes(std::string_view content)
      : m_memory(
            static_cast<char*>(std::aligned_alloc(4096, (content.size() + 4095) / 4096 * 4096))),
        m_size(content.size()) {
    std::copy(content.begin(), content.end(), m_memory.get());
  }
  std::span<const std::byte> bytes() const {
    return std::as_bytes(std::span(m_memory.get(), m_size));
  }

 private:
  struct Free {
    void operator()(char* memory) const { std::free(memory); }
  };
  std::unique_ptr<char, Free> m_memory;
  std::size_t m_size;
};

// Writes an archive with aligned streamed members, in pieces that exercise every path: odd
// sizes and caller CRCs through the staging buffer (more than its 4 MiB, so it fills), and
// pieces of 1 MiB and more, aligned in memory, written straight from the caller's memory.
// A small member comes first, so the first aligned member starts at an unaligned offset.
struct AlignedArchive {
  std::string first = random_text(5'500'003, 11);
  std::string second = random_text((std::size_t{2} << 20U) + 8'191, 12);
  Contents contents() const {
    return {{"version.txt", "v"},      {"bevy/00000000", first}, {"bevy/00000000.index", "index"},
            {"bevy/00000001", second}, {"bevy/empty", ""},       {"after", "tail"}};
  }
};

// Made once: random bytes are slow to make in a debug build.
const AlignedArchive& aligned_archive() {
  static const AlignedArchive k_archive;
  return k_archive;
}

Result<void> write_aligned_archive(const std::string& path,
                                   const AlignedArchive& archive,
                                   bool* direct = nullptr,
                                   bool align = true) {
  auto writer = ZipWriter::create(path, false);
  CUSTODY_TRY(writer);
  CUSTODY_TRY(writer->add_member("version.txt", bytes_of("v")));
  CUSTODY_TRY(writer->begin_member("bevy/00000000", align));
  const std::uint64_t data_at = writer->position();
  const std::string_view first = archive.first;
  // Aligned in memory and in the file, nothing staged: straight from the caller (1 MiB), then
  // the 123-byte rest staged; odd pieces from then on.
  const AlignedBytes big(first.substr(0, (std::size_t{1} << 20U) + 123));
  CUSTODY_TRY(writer->write_member_data(big.bytes()));
  std::size_t at = big.bytes().size();
  std::size_t piece = 1;
  bool with_crc = true;
  while (at < first.size()) {
    const std::string_view part = first.substr(at, piece);
    CUSTODY_TRY(with_crc ? writer->write_member_data(bytes_of(part), crc_of(part))
                         : writer->write_member_data(bytes_of(part)));
    at += part.size();
    // Staged bytes count as written.
    if (writer->position() != data_at + at) {
      return make_error(Errc::internal, "position() does not count the staged bytes");
    }
    piece = piece * 5 + 4093;
    with_crc = !with_crc;
  }
  CUSTODY_TRY(writer->end_member());
  CUSTODY_TRY(writer->add_member("bevy/00000000.index", bytes_of("index")));
  // Whole aligned pieces of 1 MiB (as the AFF4 writer hands over pipeline blocks), then one
  // that ends with a partial block.
  CUSTODY_TRY(writer->begin_member("bevy/00000001", align));
  const std::string_view second = archive.second;
  for (std::size_t from = 0; from < second.size(); from += std::size_t{1} << 20U) {
    const AlignedBytes block(second.substr(from, std::size_t{1} << 20U));
    CUSTODY_TRY(writer->write_member_data(block.bytes(), crc_of(second.substr(from, 1U << 20U))));
  }
  CUSTODY_TRY(writer->end_member());
  CUSTODY_TRY(writer->begin_member("bevy/empty", align));
  CUSTODY_TRY(writer->end_member());
  CUSTODY_TRY(writer->add_member("after", bytes_of("tail")));
  if (direct != nullptr) {
    *direct = writer->writes_direct();
  }
  return writer->finish("aligned");
}

// Checks an archive written by write_aligned_archive(), with other tools too.
void check_aligned_archive(const std::string& path, const AlignedArchive& archive) {
  const ZipReader reader = open_ok(path);
  expect_contents(reader, archive.contents());
  const std::string bytes = test::read_file(path);
  for (const char* name : {"bevy/00000000", "bevy/00000001", "bevy/empty"}) {
    const ZipMember& member = *reader.find(name);
    BOOST_TEST(member.data_offset % 4096 == 0U, name << " data at " << member.data_offset);
    // Local header: the Zip64 extra (patched sizes), then the alignment extra: 0xD935, its
    // length, the alignment and zero bytes up to the data.
    const std::size_t header = member.local_header_offset;
    const std::size_t extra = header + 30 + member.name.size();
    BOOST_TEST(get_u32(bytes, header + 14) == member.crc32);
    BOOST_TEST(get_u16(bytes, header + 28) == member.data_offset - extra);
    BOOST_TEST(get_u16(bytes, extra) == 1);
    BOOST_TEST(get_u64(bytes, extra + 4) == member.uncompressed_size);
    BOOST_TEST(get_u16(bytes, extra + 20) == 0xD935);
    BOOST_TEST(get_u16(bytes, extra + 22) == member.data_offset - extra - 24);
    BOOST_TEST(get_u16(bytes, extra + 24) == 4096);
    BOOST_TEST((bytes.substr(extra + 26, member.data_offset - extra - 26) ==
                std::string(member.data_offset - extra - 26, '\0')));
  }
  // Members without alignment are as before: data right after the Zip64 extra.
  const ZipMember& index = *reader.find("bevy/00000000.index");
  BOOST_TEST(index.data_offset == index.local_header_offset + 30 + index.name.size() + 20);
  // The central directory entries have no padding: 46 bytes, the name, no extra (all small).
  BOOST_TEST(reader.central_directory_size() ==
             std::accumulate(reader.members().begin(), reader.members().end(), std::size_t{0},
                             [](std::size_t sum, const ZipMember& member) {
                               return sum + 46 + member.name.size();
                             }));
  if (have_tool("python3")) {
    BOOST_TEST(exit_code_of("python3 -c \"import sys,zipfile; z=zipfile.ZipFile(sys.argv[1]); "
                            "assert z.testzip() is None\" '" +
                            path + "'") == 0);
  }
  if (have_tool("unzip")) {
    BOOST_TEST(exit_code_of("unzip -tq '" + path + "' >/dev/null") == 0);
  }
}

// The archive at `path` without the alignment extra fields: local headers shortened, and the
// central directory entries and end records pointing to the new offsets. For small archives of
// our writer without prepended data (32-bit offsets in the central directory).
std::string without_alignment(const std::string& path, std::size_t comment_size) {
  const ZipReader reader = open_ok(path);
  const std::string bytes = test::read_file(path);
  std::string out;
  std::map<std::uint64_t, std::uint64_t> moved;  // old local header offset -> new
  std::vector<const ZipMember*> in_file_order;
  for (const ZipMember& member : reader.members()) {
    in_file_order.push_back(&member);
  }
  std::sort(in_file_order.begin(), in_file_order.end(), [](const auto* a, const auto* b) {
    return a->local_header_offset < b->local_header_offset;
  });
  for (const ZipMember* member : in_file_order) {
    const std::size_t header = member->local_header_offset;
    const std::size_t zip64_end = header + 30 + member->name.size() + 20;
    moved[header] = out.size();
    std::string local = bytes.substr(header, zip64_end - header);
    local[28] = 20;
    local[29] = 0;
    if (member->data_offset != zip64_end) {
      BOOST_TEST(get_u16(bytes, zip64_end) == 0xD935);
    }
    out += local + bytes.substr(member->data_offset, member->compressed_size);
  }
  const std::size_t cd_at = out.size();
  std::string directory =
      bytes.substr(reader.central_directory_offset(), reader.central_directory_size());
  for (std::size_t at = 0; at < directory.size();) {
    put_u32(directory, at + 42, static_cast<std::uint32_t>(moved.at(get_u32(directory, at + 42))));
    at += std::size_t{46} + get_u16(directory, at + 28) + get_u16(directory, at + 30) +
          get_u16(directory, at + 32);
  }
  out += directory;
  std::string end = bytes.substr(reader.central_directory_offset() + directory.size());
  const EndRecords records = end_records_of(end, comment_size);
  put_u64(end, records.zip64 + 48, cd_at);
  put_u64(end, records.locator + 8, cd_at + directory.size());
  return out + end;
}

// Whether the file system holding `path` is known to do direct I/O.
bool has_direct_io(const std::string& path) {
  struct statfs status {};
  if (::statfs(path.c_str(), &status) != 0) {
    return false;
  }
  constexpr long k_ext4 = 0xEF53;
  constexpr long k_xfs = 0x58465342;
  constexpr long k_btrfs = 0x9123683E;
  return status.f_type == k_ext4 || status.f_type == k_xfs || status.f_type == k_btrfs;
}

// A file system mounted for one test (root only), unmounted at the end.
class Mount {
 public:
  Mount(const std::string& path, const char* type, const char* options) : m_path(path) {
    std::filesystem::create_directory(path);
    m_mounted = ::geteuid() == 0 && ::mount(type, path.c_str(), type, 0, options) == 0;
  }
  Mount(const Mount&) = delete;
  Mount& operator=(const Mount&) = delete;
  ~Mount() {
    if (m_mounted) {
      ::umount(m_path.c_str());
    }
  }
  explicit operator bool() const { return m_mounted; }

 private:
  std::string m_path;
  bool m_mounted = false;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(zip)

BOOST_AUTO_TEST_CASE(round_trip_of_several_members) {
  test::TempDir dir;
  const std::string path = dir.file("a.zip");
  const Contents contents = sample_contents();
  write_archive(path, contents, "the comment");
  const ZipReader reader = open_ok(path);
  expect_contents(reader, contents);
  BOOST_TEST(reader.comment() == "the comment");
  BOOST_TEST(reader.path() == path);
  BOOST_TEST(reader.file_size() == std::filesystem::file_size(path));
  BOOST_TEST(reader.end_offset() == reader.file_size());
  BOOST_TEST(reader.global_offset() == 0U);
  BOOST_TEST(reader.fd() >= 0);
  BOOST_TEST(reader.find("missing") == nullptr);
  BOOST_TEST(reader.find("empt") == nullptr);
  // Local header offsets are absolute and the data follows the 30-byte header, the name and the
  // 20-byte Zip64 extra.
  const ZipMember& first = reader.members()[0];
  BOOST_TEST(first.local_header_offset == 0U);
  BOOST_TEST(first.data_offset == 30U + first.name.size() + 20U);
  BOOST_TEST(reader.members()[1].local_header_offset == first.data_offset + first.compressed_size);
  BOOST_TEST(reader.central_directory_offset() > reader.members().back().data_offset);
  // The UTF-8 flag only on the non-ASCII name.
  BOOST_TEST(reader.find("ネコ.txt")->flags == 0x0800);
  BOOST_TEST(first.flags == 0);

  // Partial reads of a stored member, and their bounds.
  const ZipMember& bevy = *reader.find("aff4%3A%2F%2Fc215ba20/00000000");
  const std::string& data = contents[2].second;
  std::string piece(1000, '\0');
  BOOST_REQUIRE(reader.read_stored(bevy, 99'003, std::as_writable_bytes(std::span(piece))));
  BOOST_TEST((piece == data.substr(99'003)));
  auto outside = reader.read_stored(bevy, 99'004, std::as_writable_bytes(std::span(piece)));
  BOOST_REQUIRE(!outside);
  BOOST_TEST((outside.error().code == Errc::corrupt));
  auto too_big = reader.read_member(bevy, data.size() - 1);
  BOOST_REQUIRE(!too_big);
  BOOST_TEST((too_big.error().code == Errc::corrupt));
  std::string nothing;
  BOOST_CHECK(
      reader.read_stored(*reader.find("empty"), 0, std::as_writable_bytes(std::span(nothing))));
}

BOOST_AUTO_TEST_CASE(streamed_member_with_caller_crcs) {
  test::TempDir dir;
  const std::string path = dir.file("s.zip");
  const std::string data = random_text(3'000'017, 2);
  auto writer = ZipWriter::create(path, false);
  BOOST_REQUIRE(writer);
  BOOST_REQUIRE(writer->begin_member("stream/00000000"));
  BOOST_TEST(writer->has_member("stream/00000000"));
  std::size_t at = 0;
  std::size_t piece = 1;
  bool with_crc = true;
  while (at < data.size()) {
    const std::string_view part = std::string_view(data).substr(at, piece);
    // Caller CRCs for some pieces, computed by the writer for the others; and empty pieces.
    auto written = with_crc ? writer->write_member_data(bytes_of(part), crc_of(part))
                            : writer->write_member_data(bytes_of(part));
    BOOST_REQUIRE(written);
    BOOST_REQUIRE(writer->write_member_data({}, crc_of("")));
    at += part.size();
    piece = piece * 3 + 7;
    with_crc = !with_crc;
  }
  BOOST_REQUIRE(writer->end_member());
  BOOST_REQUIRE(writer->begin_member("stream/empty"));
  BOOST_REQUIRE(writer->end_member());
  BOOST_REQUIRE(writer->add_member("after", bytes_of("tail")));
  BOOST_TEST(writer->position() > data.size());
  BOOST_REQUIRE(writer->finish("c"));
  const ZipReader reader = open_ok(path);
  expect_contents(reader, {{"stream/00000000", data}, {"stream/empty", ""}, {"after", "tail"}});
  // The local header was patched: real CRC and sizes, and the data right after it.
  const std::string bytes = test::read_file(path);
  BOOST_TEST(get_u32(bytes, 14) == crc_of(data));
  BOOST_TEST(get_u64(bytes, 30 + 15 + 4) == data.size());
  BOOST_TEST(get_u64(bytes, 30 + 15 + 12) == data.size());
  BOOST_TEST((bytes.substr(30 + 15 + 20, data.size()) == data));
}

BOOST_AUTO_TEST_CASE(aligned_streamed_members_round_trip, *test::needs_tools({"unzip"})) {
  test::TempDir dir;
  const std::string path = dir.file("aligned.zip");
  const AlignedArchive& archive = aligned_archive();
  bool direct = false;
  auto written = write_aligned_archive(path, archive, &direct);
  BOOST_REQUIRE_MESSAGE(written, why(written));
  if (has_direct_io(dir.file("."))) {
    BOOST_TEST(direct);
  }
  check_aligned_archive(path, archive);
  // Apart from the alignment fields, the same bytes as without alignment.
  const std::string unaligned = dir.file("unaligned.zip");
  BOOST_REQUIRE(write_aligned_archive(unaligned, archive, nullptr, false));
  BOOST_TEST(
      (without_alignment(path, std::string_view("aligned").size()) == test::read_file(unaligned)));

  // Appending an aligned member: aligned in the file, and the old members stay readable.
  auto writer = ZipWriter::open_for_append(path);
  BOOST_REQUIRE(writer);
  BOOST_REQUIRE(writer->begin_member("appended", true));
  BOOST_REQUIRE(writer->write_member_data(bytes_of("appended data")));
  BOOST_REQUIRE(writer->end_member());
  BOOST_REQUIRE(writer->finish("c"));
  const ZipReader reader = open_ok(path);
  const ZipMember& appended = *reader.find("appended");
  BOOST_TEST(appended.data_offset % 4096 == 0U);
  BOOST_TEST((*reader.read_member(appended, 100) == "appended data"));
  BOOST_TEST((*reader.read_member(*reader.find("bevy/00000001"), archive.second.size()) ==
              archive.second));
  BOOST_TEST(exit_code_of("unzip -tq '" + path + "' >/dev/null") == 0);
}

BOOST_AUTO_TEST_CASE(aligned_members_without_direct_io_give_the_same_bytes,
                     *test::needs_mounts({"ramfs", "tmpfs"})) {
  test::TempDir dir;
  const AlignedArchive& archive = aligned_archive();
  const std::string reference = dir.file("reference.zip");
  BOOST_REQUIRE(write_aligned_archive(reference, archive));
  // ramfs has no direct I/O at all (EINVAL at open); tmpfs has it since Linux 6.6, and
  // otherwise falls back the same way. Either way the archive is byte for byte the same.
  for (const char* type : {"ramfs", "tmpfs"}) {
    const std::string mounted = dir.file(type);
    const Mount mount(mounted, type, "size=64m");
    BOOST_REQUIRE_MESSAGE(mount, "cannot mount " << type);
    const std::string path = mounted + "/aligned.zip";
    bool direct = true;
    auto written = write_aligned_archive(path, archive, &direct);
    BOOST_REQUIRE_MESSAGE(written, why(written));
    if (std::string_view(type) == "ramfs") {
      BOOST_TEST(!direct);
    }
    BOOST_TEST_MESSAGE(type << ": direct I/O " << (direct ? "used" : "not available"));
    expect_contents(open_ok(path), archive.contents());
    BOOST_TEST((test::read_file(path) == test::read_file(reference)), type);
  }
}

BOOST_AUTO_TEST_CASE(writer_output_has_zip64_records_and_real_crcs) {
  test::TempDir dir;
  const std::string path = dir.file("z.zip");
  const std::string comment = "aff4://5aea2dd0-32b4-4c61-a9db-677654be6f83";
  write_archive(path, {{"version.txt", "major=1\nminor=0\ntool=custody\n"}, {"e", ""}}, comment);
  const std::string bytes = test::read_file(path);
  // Local header: version 45, no flags (no data descriptor), stored, DOS 1980-01-01 00:00,
  // real CRC, 0xFFFFFFFF sizes and a Zip64 extra with the real ones.
  BOOST_TEST(get_u32(bytes, 0) == 0x04034b50U);
  BOOST_TEST(get_u16(bytes, 4) == 45);
  BOOST_TEST(get_u16(bytes, 6) == 0);
  BOOST_TEST(get_u16(bytes, 8) == 0);
  BOOST_TEST(get_u16(bytes, 10) == 0);
  BOOST_TEST(get_u16(bytes, 12) == 0x21);
  BOOST_TEST(get_u32(bytes, 14) == crc_of("major=1\nminor=0\ntool=custody\n"));
  BOOST_TEST(get_u32(bytes, 18) == 0xFFFFFFFFU);
  BOOST_TEST(get_u32(bytes, 22) == 0xFFFFFFFFU);
  BOOST_TEST(get_u16(bytes, 28) == 20);
  BOOST_TEST(get_u16(bytes, 30 + 11) == 1);
  BOOST_TEST(get_u16(bytes, 30 + 11 + 2) == 16);
  BOOST_TEST(get_u64(bytes, 30 + 11 + 4) == 29U);
  BOOST_TEST(get_u64(bytes, 30 + 11 + 12) == 29U);

  const EndRecords end = end_records_of(bytes, comment.size());
  const ZipReader reader = open_ok(path);
  BOOST_TEST(get_u32(bytes, end.zip64) == 0x06064b50U);
  BOOST_TEST(get_u64(bytes, end.zip64 + 4) == 44U);
  BOOST_TEST(get_u16(bytes, end.zip64 + 12) == 45);
  BOOST_TEST(get_u16(bytes, end.zip64 + 14) == 45);
  BOOST_TEST(get_u64(bytes, end.zip64 + 24) == 2U);
  BOOST_TEST(get_u64(bytes, end.zip64 + 32) == 2U);
  BOOST_TEST(get_u64(bytes, end.zip64 + 40) == end.zip64 - reader.central_directory_offset());
  BOOST_TEST(get_u64(bytes, end.zip64 + 48) == reader.central_directory_offset());
  BOOST_TEST(get_u32(bytes, end.locator) == 0x07064b50U);
  BOOST_TEST(get_u64(bytes, end.locator + 8) == end.zip64);
  BOOST_TEST(get_u32(bytes, end.locator + 16) == 1U);
  BOOST_TEST(get_u32(bytes, end.eocd) == 0x06054b50U);
  BOOST_TEST(get_u16(bytes, end.eocd + 10) == 2);
  // Marked even though they fit: pyaff4, c-aff4 and aff4-cpp-lite need it (see zip.cpp).
  BOOST_TEST(get_u32(bytes, end.eocd + 12) == 0xFFFFFFFFU);
  BOOST_TEST(get_u32(bytes, end.eocd + 16) == 0xFFFFFFFFU);
  BOOST_TEST(bytes.substr(end.eocd + 22) == comment);
  // Central directory entries without a Zip64 extra (nothing needs 64 bits).
  const std::size_t cd = reader.central_directory_offset();
  BOOST_TEST(get_u32(bytes, cd) == 0x02014b50U);
  BOOST_TEST(get_u16(bytes, cd + 4) == 0x032D);  // made by Unix, 4.5
  BOOST_TEST(get_u16(bytes, cd + 6) == 45);
  BOOST_TEST(get_u32(bytes, cd + 38) == 0100644U << 16U);
  BOOST_TEST(get_u16(bytes, cd + 30) == 0);
  BOOST_TEST(get_u32(bytes, cd + 20) == 29U);
}

BOOST_AUTO_TEST_CASE(reader_takes_sizes_and_offsets_from_zip64_extras) {
  test::TempDir dir;
  const std::string data = "zip64 extra fields";
  for (const bool end_records : {false, true}) {
    for (const std::size_t extensible : {std::size_t{0}, std::size_t{8}}) {
      if (!end_records && extensible > 0) {
        continue;
      }
      const std::string path = dir.file(fmt::format("x{}{}.zip", end_records, extensible));
      write_text(path, craft_zip64_extra_archive(data, 24, end_records, extensible));
      const ZipReader reader = open_ok(path);
      expect_contents(reader, {{"data", data}});
      BOOST_TEST(reader.members()[0].local_header_offset == 0U);
      // Python's zipfile assumes a Zip64 end record without extensible data.
      if (have_tool("python3") && extensible == 0) {
        BOOST_TEST(exit_code_of("python3 -c \"import sys,zipfile; z=zipfile.ZipFile(sys.argv[1]); "
                                "assert z.read('data') == b'" +
                                data + "'\" '" + path + "'") == 0);
      }
    }
  }
  // The extra holds two of the three marked fields.
  const std::string path = dir.file("short.zip");
  write_text(path, craft_zip64_extra_archive(data, 16, true, 0));
  expect_corrupt(path, "Zip64 extra field too short");
}

BOOST_AUTO_TEST_CASE(unzip_and_python_zipfile_accept_the_writer_output,
                     *test::needs_tools({"unzip", "python3"})) {
  test::TempDir dir;
  const std::string path = dir.file("tools.zip");
  const Contents contents = sample_contents();
  write_archive(path, contents);
  BOOST_TEST(exit_code_of("unzip -tq '" + path + "' >/dev/null") == 0);
  // zipfile checks every CRC (testzip) and lists name, size and CRC.
  const std::string listing = output_of(
      "python3 -c \"import sys,zipfile\n"
      "z = zipfile.ZipFile(sys.argv[1])\n"
      "assert z.testzip() is None\n"
      "print(z.comment.decode())\n"
      "for i in z.infolist(): print(i.filename, i.file_size, '%08x' % i.CRC, i.date_time)\" '" +
      path + "'");
  std::string expected = "aff4://685e15cc-d0fb-4dbc-ba47-48117fc77044\n";
  for (const auto& [name, data] : contents) {
    expected +=
        fmt::format("{} {} {:08x} (1980, 1, 1, 0, 0, 0)\n", name, data.size(), crc_of(data));
  }
  BOOST_TEST(listing == expected);
  // pyaff4's and c-aff4's parse_cd(): a real EOCD offset means "classic ZIP" and the global
  // offset is computed from it; otherwise from the Zip64 records. It must come out as 0.
  const std::string global = output_of(
      "python3 -c \"import sys,struct\n"
      "d = open(sys.argv[1],'rb').read(); e = d.rfind(b'PK\\x05\\x06')\n"
      "size, off = struct.unpack('<II', d[e+12:e+20])\n"
      "if off > 0 and off != 0xffffffff: print(e - size - off)\n"
      "else:\n"
      "  z = e - 20 - 56; size, off = struct.unpack('<QQ', d[z+40:z+56]); print(z - size - off)\" "
      "'" +
      path + "'");
  BOOST_TEST(global == "0\n");
}

BOOST_AUTO_TEST_CASE(append_keeps_every_original_byte) {
  test::TempDir dir;
  const std::string path = dir.file("append.zip");
  const Contents original = sample_contents();
  write_archive(path, original);
  const std::string before = test::read_file(path);
  {
    auto writer = ZipWriter::open_for_append(path);
    BOOST_REQUIRE_MESSAGE(writer, why(writer));
    BOOST_TEST(writer->has_member("empty"));
    BOOST_TEST(writer->position() == before.size());
    auto duplicate = writer->add_member("empty", bytes_of("again"));
    BOOST_REQUIRE(!duplicate);
    BOOST_TEST((duplicate.error().code == Errc::invalid_argument));
    BOOST_REQUIRE(writer->add_member("custody/events/0001", bytes_of("{\"event\":1}")));
    BOOST_REQUIRE(writer->begin_member("custody/events/0002"));
    BOOST_REQUIRE(writer->write_member_data(bytes_of("{\"event\":2}")));
    BOOST_REQUIRE(writer->end_member());
    BOOST_REQUIRE(writer->finish("aff4://685e15cc-d0fb-4dbc-ba47-48117fc77044"));
  }
  const std::string after = test::read_file(path);
  BOOST_REQUIRE(after.size() > before.size());
  BOOST_TEST((after.substr(0, before.size()) == before));
  Contents all = original;
  all.emplace_back("custody/events/0001", "{\"event\":1}");
  all.emplace_back("custody/events/0002", "{\"event\":2}");
  const ZipReader reader = open_ok(path);
  expect_contents(reader, all);
  BOOST_TEST(reader.members()[5].local_header_offset == before.size());

  // A second append, to an archive that already has dead bytes.
  {
    auto writer = ZipWriter::open_for_append(path);
    BOOST_REQUIRE(writer);
    BOOST_REQUIRE(writer->add_member("custody/events/0003", bytes_of("3")));
    BOOST_REQUIRE(writer->finish(""));
  }
  all.emplace_back("custody/events/0003", "3");
  const std::string third = test::read_file(path);
  BOOST_TEST((third.substr(0, after.size()) == after));
  expect_contents(open_ok(path), all);
  if (have_tool("unzip")) {
    BOOST_TEST(exit_code_of("unzip -tq '" + path + "' >/dev/null") == 0);
  }
  if (have_tool("python3")) {
    BOOST_TEST(exit_code_of("python3 -c \"import sys,zipfile; z=zipfile.ZipFile(sys.argv[1]); "
                            "assert z.testzip() is None and len(z.infolist()) == 8\" '" +
                            path + "'") == 0);
  }
}

BOOST_AUTO_TEST_CASE(unfinished_append_leaves_the_archive_as_it_was) {
  test::TempDir dir;
  const std::string path = dir.file("abandon.zip");
  write_archive(path, sample_contents());
  const std::string before = test::read_file(path);
  {
    auto writer = ZipWriter::open_for_append(path);
    BOOST_REQUIRE(writer);
    BOOST_REQUIRE(writer->add_member("never", bytes_of(random_text(200'000, 3))));
    BOOST_REQUIRE(writer->begin_member("half"));
    BOOST_REQUIRE(writer->write_member_data(bytes_of("x")));
    BOOST_TEST(std::filesystem::file_size(path) > before.size());
  }
  BOOST_TEST((test::read_file(path) == before));
  expect_contents(open_ok(path), sample_contents());
}

BOOST_AUTO_TEST_CASE(append_to_a_reference_image_with_data_descriptors) {
  test::TempDir dir;
  const std::string path = dir.file("dream.aff4");
  std::filesystem::copy_file(k_aff4_dir + "/AFF4-L/dream.aff4", path);
  std::filesystem::permissions(path, std::filesystem::perms::owner_write,
                               std::filesystem::perm_options::add);
  const std::string before = test::read_file(path);
  {
    auto writer = ZipWriter::open_for_append(path);
    BOOST_REQUIRE_MESSAGE(writer, why(writer));
    BOOST_REQUIRE(writer->add_member("custody/manifest", bytes_of("m")));
    BOOST_REQUIRE(writer->finish("aff4://5aea2dd0-32b4-4c61-a9db-677654be6f83"));
  }
  const std::string after = test::read_file(path);
  BOOST_TEST((after.substr(0, before.size()) == before));
  const ZipReader reader = open_ok(path);
  BOOST_REQUIRE_EQUAL(reader.members().size(), 5U);
  auto dream = reader.read_member(*reader.find("/test_images/AFF4-L/dream.txt"), 1 << 20);
  BOOST_REQUIRE(dream);
  BOOST_TEST((*dream == test::read_file(k_aff4_dir + "/AFF4-L/dream.txt")));
  BOOST_TEST((*reader.read_member(*reader.find("custody/manifest"), 10) == "m"));
  // Old entries are copied byte for byte, flags (data descriptor, UTF-8) included.
  BOOST_TEST(reader.members()[0].flags == 0x0808);
}

BOOST_AUTO_TEST_CASE(reference_images_list_and_check_their_crcs) {
  const auto paths = reference_archives();
  BOOST_REQUIRE(paths.size() >= 10U);
  for (const std::string& path : paths) {
    BOOST_TEST_CONTEXT(path) {
      const ZipReader reader = open_ok(path);
      BOOST_TEST(!reader.members().empty());
      BOOST_TEST(reader.end_offset() == reader.file_size());
      BOOST_TEST(reader.global_offset() == 0U);
      for (const ZipMember& member : reader.members()) {
        BOOST_TEST_CONTEXT(member.name) {
          auto crc = reader.compute_crc32(member);
          BOOST_REQUIRE_MESSAGE(crc, why(crc));
          BOOST_TEST(*crc == member.crc32);
          BOOST_TEST(member.crc32 != 0U);
        }
      }
      // The volume URN is in the comment (Evimetry adds a NUL) and in container.description.
      if (const ZipMember* description = reader.find("container.description")) {
        auto urn = reader.read_member(*description, 1024);
        BOOST_REQUIRE(urn);
        BOOST_TEST(urn->starts_with("aff4://"));
        std::string comment = reader.comment();
        if (!comment.empty() && comment.back() == '\0') {
          comment.pop_back();
        }
        BOOST_TEST(comment == *urn);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(base_linear_has_the_expected_members) {
  const ZipReader reader = open_ok(k_aff4_dir + "/AFF4Std/Base-Linear.aff4");
  BOOST_TEST(reader.members().size() == 10U);
  for (const char* name : {"information.turtle", "container.description", "version.txt",
                           "aff4%3A%2F%2Fc215ba20-5648-4209-a793-1f918c723610/00000000"}) {
    BOOST_TEST(reader.find(name) != nullptr, name);
  }
  BOOST_TEST(reader.comment() == std::string("aff4://685e15cc-d0fb-4dbc-ba47-48117fc77044\0", 44));
  auto turtle = reader.read_member(*reader.find("information.turtle"), 1 << 20);
  BOOST_REQUIRE(turtle);
  BOOST_TEST(turtle->size() == 6580U);
  BOOST_TEST(turtle->find("@prefix") != std::string::npos);
  BOOST_TEST(turtle->find("aff4:ImageStream") != std::string::npos);
  auto version = reader.read_member(*reader.find("version.txt"), 1024);
  BOOST_REQUIRE(version);
  BOOST_TEST(version->starts_with("major=1\nminor=0\n"));
  // Evimetry's local headers carry 0xFFFFFFFF sizes and a Zip64 extra of 16 bytes.
  const ZipMember& first = reader.members()[0];
  BOOST_TEST(first.name == "container.description");
  BOOST_TEST(first.flags == 0x0008);
  BOOST_TEST(first.data_offset == 30U + 21U + 20U);
  // Stored members are readable in place.
  const ZipMember& bevy =
      *reader.find("aff4%3A%2F%2Fc215ba20-5648-4209-a793-1f918c723610/00000000");
  std::array<std::byte, 16> head{};
  BOOST_CHECK(reader.read_stored(bevy, bevy.compressed_size - head.size(), head));
  BOOST_CHECK(reader.read_stored(bevy, 0, {}));
}

BOOST_AUTO_TEST_CASE(logical_image_with_deflated_members) {
  const ZipReader reader = open_ok(k_aff4_dir + "/AFF4-L/dream.aff4");
  BOOST_REQUIRE_EQUAL(reader.members().size(), 4U);
  const ZipMember* dream = reader.find("/test_images/AFF4-L/dream.txt");
  BOOST_REQUIRE(dream != nullptr);
  BOOST_TEST(dream->method == 8);
  auto content = reader.read_member(*dream, 1 << 20);
  BOOST_REQUIRE(content);
  BOOST_TEST((*content == test::read_file(k_aff4_dir + "/AFF4-L/dream.txt")));
  auto turtle = reader.read_member(*reader.find("information.turtle"), 1 << 20);
  BOOST_REQUIRE(turtle);
  BOOST_TEST(turtle->size() == 950U);
  BOOST_TEST(reader.comment() == "aff4://5aea2dd0-32b4-4c61-a9db-677654be6f83");
  // Deflated members cannot be read in place, and the limit holds for them too.
  std::array<std::byte, 4> out{};
  auto stored = reader.read_stored(*dream, 0, out);
  BOOST_REQUIRE(!stored);
  BOOST_TEST((stored.error().code == Errc::unsupported));
  auto limited = reader.read_member(*dream, 8687);
  BOOST_REQUIRE(!limited);
  BOOST_TEST((limited.error().code == Errc::corrupt));
  // unicode.zip: a UTF-8 name without the UTF-8 flag; names are kept as raw bytes.
  const ZipReader unicode = open_ok(k_aff4_dir + "/AFF4-L/unicode.zip");
  BOOST_TEST(unicode.members().at(0).name == "ネコ.txt");
}

BOOST_AUTO_TEST_CASE(prepended_data_is_tolerated) {
  test::TempDir dir;
  const std::string junk = random_text(1000, 4);
  // Our writer's output (Zip64 records) and a classic archive with deflated members.
  const std::string ours = dir.file("ours.zip");
  write_archive(ours, sample_contents());
  for (const std::string& source : {ours, k_aff4_dir + "/AFF4-L/dream.aff4"}) {
    const std::string path = dir.file("prepended.zip");
    const std::string original = test::read_file(source);
    write_text(path, junk + original);
    const ZipReader plain = open_ok(source);
    const ZipReader shifted = open_ok(path);
    BOOST_TEST(shifted.global_offset() == 1000U);
    BOOST_REQUIRE_EQUAL(shifted.members().size(), plain.members().size());
    for (std::size_t i = 0; i < plain.members().size(); ++i) {
      BOOST_TEST(shifted.members()[i].local_header_offset ==
                 plain.members()[i].local_header_offset + 1000);
      BOOST_TEST(shifted.members()[i].data_offset == plain.members()[i].data_offset + 1000);
      BOOST_TEST((*shifted.read_member(shifted.members()[i], 1 << 20) ==
                  *plain.read_member(plain.members()[i], 1 << 20)));
    }
    // Appending keeps the archive's own offsets relative to its real start.
    auto writer = ZipWriter::open_for_append(path);
    BOOST_REQUIRE(writer);
    BOOST_REQUIRE(writer->add_member("custody/added", bytes_of("added")));
    BOOST_REQUIRE(writer->finish("c"));
    const ZipReader appended = open_ok(path);
    BOOST_TEST(appended.global_offset() == 1000U);
    BOOST_TEST((*appended.read_member(*appended.find("custody/added"), 10) == "added"));
    if (have_tool("python3")) {
      BOOST_TEST(exit_code_of("python3 -c \"import sys,zipfile; z=zipfile.ZipFile(sys.argv[1]); "
                              "assert z.testzip() is None\" '" +
                              path + "'") == 0);
    }
    std::filesystem::remove(path);
  }
}

BOOST_AUTO_TEST_CASE(trailing_bytes_after_the_end_record_are_tolerated) {
  test::TempDir dir;
  const std::string path = dir.file("trailing.zip");
  write_archive(path, sample_contents());
  const std::string original = test::read_file(path);
  write_text(path, original + std::string(512, '\0'));
  const ZipReader reader = open_ok(path);
  BOOST_TEST(reader.end_offset() == original.size());
  BOOST_TEST(reader.file_size() == original.size() + 512);
  expect_contents(reader, sample_contents());
}

BOOST_AUTO_TEST_CASE(truncated_archives_are_corrupt) {
  test::TempDir dir;
  const std::string source = dir.file("whole.zip");
  write_archive(source, {{"a", "first"}, {"b", ""}, {"c", random_text(300, 5)}});
  const std::string path = dir.file("cut.zip");
  for (const std::string& original :
       {test::read_file(source), test::read_file(k_aff4_dir + "/AFF4-L/dream.aff4")}) {
    // Every possible length, not just a few.
    for (std::size_t length = 0; length < original.size(); ++length) {
      write_text(path, original.substr(0, length));
      auto reader = ZipReader::open(path);
      BOOST_REQUIRE_MESSAGE(!reader, "a truncation to " << length << " bytes opened");
      BOOST_REQUIRE((reader.error().code == Errc::corrupt));
    }
  }
  const std::string base_linear = test::read_file(k_aff4_dir + "/AFF4Std/Base-Linear.aff4");
  write_text(path, base_linear.substr(0, base_linear.size() - 100));
  expect_corrupt(path, "truncated: no end of central directory record");
  write_text(path, base_linear.substr(0, base_linear.size() / 2));
  expect_corrupt(path, "truncated: no end of central directory record");
  write_text(path, "");
  expect_corrupt(path, "truncated");
}

BOOST_AUTO_TEST_CASE(damaged_bytes_never_crash_the_reader) {
  test::TempDir dir;
  const std::string source = dir.file("whole.zip");
  write_archive(source, {{"a", "first"}, {"b", ""}, {"c/d", random_text(300, 6)}});
  const std::string path = dir.file("damaged.zip");
  std::size_t opened = 0;
  std::size_t refused = 0;
  for (const std::string& original :
       {test::read_file(source), test::read_file(k_aff4_dir + "/AFF4-L/dream.aff4")}) {
    for (std::size_t at = 0; at < original.size(); ++at) {
      for (const unsigned mask : {0xFFU, 0x80U}) {
        std::string damaged = original;
        damaged[at] = static_cast<char>(static_cast<unsigned char>(damaged[at]) ^ mask);
        write_text(path, damaged);
        auto reader = ZipReader::open(path);
        if (!reader) {
          ++refused;
          BOOST_REQUIRE_MESSAGE(
              (reader.error().code == Errc::corrupt || reader.error().code == Errc::unsupported),
              reader.error().to_string());
          continue;
        }
        ++opened;
        for (const ZipMember& member : reader->members()) {
          auto content = reader->read_member(member, 1 << 20);
          auto crc = reader->compute_crc32(member);
          if (content) {
            BOOST_REQUIRE(content->size() == member.uncompressed_size);
          }
          (void)crc;
        }
      }
    }
  }
  BOOST_TEST(opened > 0U);
  BOOST_TEST(refused > 0U);
}

BOOST_AUTO_TEST_CASE(hostile_records_are_corrupt_with_a_clear_message) {
  test::TempDir dir;
  const std::string source = dir.file("whole.zip");
  write_archive(source, {{"a", "first"}, {"bb", "second"}}, "");
  const std::string original = test::read_file(source);
  const ZipReader reader = open_ok(source);
  const std::size_t cd = reader.central_directory_offset();
  const std::size_t second = cd + 46 + 1;  // the second central directory entry
  const EndRecords end = end_records_of(original, 0);
  const std::string path = dir.file("hostile.zip");
  auto check = [&](auto&& edit, const std::string& fragment) {
    std::string bytes = original;
    edit(bytes);
    write_text(path, bytes);
    expect_corrupt(path, fragment);
  };
  check([&](std::string& b) { put_u32(b, second + 42, 0x7FFFFFF0); },
        "central directory entry 1 (\"bb\") points past the end of the file");
  check([&](std::string& b) { put_u32(b, second + 42, static_cast<std::uint32_t>(cd)); },
        "points into the central directory");
  check([&](std::string& b) { put_u32(b, second + 42, 1); }, "no local header where");
  check(
      [&](std::string& b) {
        put_u32(b, second + 20, 0x7FFFFFF0);
        put_u32(b, second + 24, 0x7FFFFFF0);
      },
      "runs past the end of the file");
  check(
      [&](std::string& b) {
        put_u32(b, second + 20, 100);
        put_u32(b, second + 24, 100);
      },
      "runs into the central directory");
  check([&](std::string& b) { put_u32(b, second + 24, 5); },
        "records a compressed size of 6 and an uncompressed size of 5");
  check([&](std::string& b) { b[second] = 'X'; }, "central directory entry 1 has a bad signature");
  check(
      [&](std::string& b) {
        put_u64(b, end.zip64 + 24, std::uint64_t{1} << 60U);
        put_u64(b, end.zip64 + 32, std::uint64_t{1} << 60U);
      },
      "claims 1152921504606846976 entries");
  check([&](std::string& b) { put_u64(b, end.zip64 + 40, std::uint64_t{1} << 62U); },
        "does not fit before the end of central directory record");
  check([&](std::string& b) { b[end.zip64] = 'X'; },
        "no Zip64 end of central directory record before the Zip64 locator");
  check([&](std::string& b) { b[end.locator] = 'X'; }, "needs a Zip64 record");
  check([&](std::string& b) { put_u32(b, second + 30, 0xFFFF); },
        "runs past the end of the "
        "central directory");
  check(
      [&](std::string& b) {
        // An extra field whose block claims more bytes than the extra has.
        b.insert(second + 46 + 2, std::string("\x01\x00\x30\x00", 4));
        b[second + 30] = 4;
        put_u64(b, end.zip64 + 4 + 40, get_u64(b, end.zip64 + 4 + 40) + 4);
      },
      "malformed extra field");
  // Different names in the local header and the central directory.
  check([&](std::string& b) { b[30] = 'z'; }, "names another member");
  // Multi-disk archives are unsupported, not corrupt.
  std::string split = original;
  put_u32(split, end.zip64 + 16, 1);
  write_text(path, split);
  auto opened = ZipReader::open(path);
  BOOST_REQUIRE(!opened);
  BOOST_TEST((opened.error().code == Errc::unsupported));
}

BOOST_AUTO_TEST_CASE(unsafe_and_duplicate_names_are_rejected) {
  test::TempDir dir;
  const std::string path = dir.file("names.zip");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"../x", "\"..\" component"},
      {"a/../../b", "\"..\" component"},
      {"a\\..\\b", "backslash"},
      {std::string("a\0b", 3), "NUL"},
  };
  for (const auto& [unsafe, reason] : cases) {
    const std::string placeholder(unsafe.size(), 'q');
    std::filesystem::remove(path);
    write_archive(path, {{"ok", "fine"}, {placeholder, "payload"}});
    patch_name(path, placeholder, unsafe);
    expect_corrupt(path, "unsafe member name");
    expect_corrupt(path, reason);
  }
  // Two entries with one name: which one is meant would be ambiguous.
  std::filesystem::remove(path);
  write_archive(path, {{"same1", "a"}, {"same2", "b"}});
  patch_name(path, "same2", "same1");
  expect_corrupt(path, "duplicate member name \"same1\" (central directory entries 0 and 1)");
  // "..." and names with ".." inside a component are fine; so is a leading "/".
  std::filesystem::remove(path);
  write_archive(path, {{".../a..b/..c", "x"}, {"/abs", "y"}});
  open_ok(path);

  // The writer refuses what the reader would reject, and names other tools would misread.
  auto writer = ZipWriter::create(dir.file("w.zip"), false);
  BOOST_REQUIRE(writer);
  for (const std::string& bad :
       {std::string("../x"), std::string(""), std::string("a\\b"), std::string("a\0b", 3),
        std::string("\xff\xfe"), std::string(70'000, 'n')}) {
    auto added = writer->add_member(bad, {});
    BOOST_REQUIRE(!added);
    BOOST_TEST((added.error().code == Errc::invalid_argument));
    BOOST_TEST(!writer->begin_member(bad));
  }
  BOOST_CHECK(writer->add_member("still/usable", {}));
  BOOST_CHECK(writer->finish(""));
}

BOOST_AUTO_TEST_CASE(writer_misuse_is_an_error_not_a_crash) {
  test::TempDir dir;
  const std::string path = dir.file("misuse.zip");
  auto writer = ZipWriter::create(path, false);
  BOOST_REQUIRE(writer);
  BOOST_TEST(writer->path() == path);
  BOOST_TEST(!writer->write_member_data(bytes_of("x")));
  BOOST_TEST(!writer->end_member());
  BOOST_REQUIRE(writer->begin_member("open"));
  BOOST_TEST(!writer->add_member("other", {}));
  BOOST_TEST(!writer->begin_member("other"));
  auto early = writer->finish("");
  BOOST_REQUIRE(!early);
  BOOST_TEST((early.error().code == Errc::invalid_argument));
  BOOST_REQUIRE(writer->end_member());
  BOOST_TEST(!writer->begin_member("open"));
  BOOST_TEST(!writer->finish(std::string(70'000, 'c')));

  ZipWriter moved = std::move(*writer);
  BOOST_TEST(!writer->add_member("after-move", {}));  // NOLINT(bugprone-use-after-move)
  BOOST_TEST(writer->position() == 0U);
  BOOST_REQUIRE(moved.finish("done"));
  BOOST_TEST(!moved.add_member("after-finish", {}));
  BOOST_TEST(!moved.finish("again"));
  expect_contents(open_ok(path), {{"open", ""}});

  auto exists = ZipWriter::create(path, false);
  BOOST_REQUIRE(!exists);
  BOOST_TEST((exists.error().code == Errc::already_exists));
  auto replaced = ZipWriter::create(path, true);
  BOOST_REQUIRE(replaced);
  BOOST_TEST(std::filesystem::file_size(path) == 0U);
  auto busy = ZipWriter::open_for_append(path);  // locked by `replaced`
  BOOST_REQUIRE(!busy);
  BOOST_TEST((busy.error().code == Errc::io_error));
  BOOST_REQUIRE(replaced->finish(""));
  expect_contents(open_ok(path), {});

  auto missing = ZipReader::open(dir.file("missing.zip"));
  BOOST_REQUIRE(!missing);
  BOOST_TEST((missing.error().code == Errc::not_found));
  auto missing_append = ZipWriter::open_for_append(dir.file("missing.zip"));
  BOOST_REQUIRE(!missing_append);
  BOOST_TEST((missing_append.error().code == Errc::not_found));
  auto no_directory = ZipWriter::create(dir.file("no/such/dir.zip"), false);
  BOOST_REQUIRE(!no_directory);
  BOOST_TEST((no_directory.error().code == Errc::cannot_create));
  const std::string text = dir.file("text.zip");
  write_text(text, "not a zip archive");
  auto not_a_zip = ZipWriter::open_for_append(text);
  BOOST_REQUIRE(!not_a_zip);
  BOOST_TEST((not_a_zip.error().code == Errc::corrupt));
  BOOST_TEST((test::read_file(text) == "not a zip archive"));
}

BOOST_AUTO_TEST_CASE(disk_full_is_an_io_error_that_says_so, *test::needs_mounts({"tmpfs"})) {
  test::TempDir dir;
  const std::string small = dir.file("small");
  std::filesystem::create_directory(small);
  BOOST_REQUIRE_MESSAGE(::mount("tmpfs", small.c_str(), "tmpfs", 0, "size=1m") == 0,
                        "cannot mount a tmpfs");
  struct Unmount {
    std::string path;
    ~Unmount() { ::umount(path.c_str()); }
  } const unmount{small};
  {
    auto writer = ZipWriter::create(small + "/full.zip", false);
    BOOST_REQUIRE(writer);
    const std::string data = random_text(std::size_t{2} << 20U, 7);
    auto added = writer->add_member("big", bytes_of(data));
    BOOST_REQUIRE(!added);
    BOOST_TEST((added.error().code == Errc::io_error));
    BOOST_TEST(added.error().message == "disk full while writing");
    BOOST_TEST(!writer->finish(""));  // the writer refuses to continue
  }
  // Aligned members: straight from the caller's memory, and through the staging buffer (whose
  // bytes reach the disk only when it is full or the member ends).
  for (const bool from_caller : {true, false}) {
    std::filesystem::remove(small + "/full.zip");
    auto writer = ZipWriter::create(small + "/full.zip", false);
    BOOST_REQUIRE(writer);
    BOOST_REQUIRE(writer->begin_member("bevy", true));
    const AlignedBytes data(random_text(std::size_t{2} << 20U, 8));
    Result<void> result;
    for (int round = 0; round < 4 && result; ++round) {
      result = from_caller ? writer->write_member_data(data.bytes())
                           : writer->write_member_data(data.bytes().subspan(1));
    }
    if (result) {
      result = writer->end_member();
    }
    BOOST_REQUIRE(!result);
    BOOST_TEST((result.error().code == Errc::io_error));
    BOOST_TEST(result.error().message == "disk full while writing", result.error().to_string());
    BOOST_TEST(!writer->end_member());  // the writer refuses to continue
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace custody::internal
