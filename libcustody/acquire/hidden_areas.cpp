// SPDX-License-Identifier: Apache-2.0
// Hidden areas of ATA disks (HPA, DCO): detected, and reported in the record, never changed.
#include "acquire/hidden_areas.hpp"

#include <fmt/format.h>

#include <scsi/sg.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <cstring>

namespace custody::internal {

namespace {

constexpr std::uint8_t k_ata_16 = 0x85;
constexpr std::uint8_t k_identify_device = 0xEC;
constexpr std::uint8_t k_read_native_max_ext = 0x27;
constexpr std::uint8_t k_dco = 0xB1;
constexpr std::uint8_t k_dco_identify_feature = 0xC2;

struct PassThrough {
  bool ok = false;
  std::array<std::uint8_t, 512> data{};
  std::array<std::uint8_t, 32> sense{};
  std::string why;
};

// One ATA command through SG_IO. `data_in` = PIO data-in of one 512-byte block, else non-data
// with CK_COND so the result registers come back in the sense data.
PassThrough ata_command(int fd, std::uint8_t command, std::uint8_t feature, bool data_in) {
  PassThrough result;
  std::array<std::uint8_t, 16> cdb{};
  cdb[0] = k_ata_16;
  cdb[1] = static_cast<std::uint8_t>((data_in ? 4U : 3U) << 1U);  // PIO data-in / non-data
  // data-in: T_DIR from device, BYT_BLOK blocks, T_LENGTH in the count field; non-data: CK_COND.
  cdb[2] = data_in ? 0x0E : 0x20;
  cdb[4] = feature;
  cdb[6] = data_in ? 1 : 0;
  cdb[13] = 0x40;  // device: LBA mode
  cdb[14] = command;
  if (command == k_read_native_max_ext) {
    cdb[1] |= 0x01;  // EXTEND: a 48-bit command
  }
  sg_io_hdr_t io{};
  io.interface_id = 'S';
  io.cmdp = cdb.data();
  io.cmd_len = static_cast<unsigned char>(cdb.size());
  io.dxfer_direction = data_in ? SG_DXFER_FROM_DEV : SG_DXFER_NONE;
  io.dxferp = data_in ? result.data.data() : nullptr;
  io.dxfer_len = data_in ? static_cast<unsigned>(result.data.size()) : 0;
  io.sbp = result.sense.data();
  io.mx_sb_len = static_cast<unsigned char>(result.sense.size());
  io.timeout = 10000;
  if (::ioctl(fd, SG_IO, &io) != 0) {
    result.why = fmt::format("SG_IO refused: {}", std::strerror(errno));
    return result;
  }
  // A non-data command with CK_COND ends in CHECK CONDITION carrying the registers.
  const bool registers_only = !data_in && io.status == 2;
  const bool driver_error = (io.driver_status & 0x0F) != 0 && !registers_only;
  if ((io.status != 0 && !registers_only) || io.host_status != 0 || driver_error) {
    result.why = "the device does not answer ATA pass-through";
    return result;
  }
  result.ok = true;
  return result;
}

std::array<std::uint16_t, 256> words_of(const std::array<std::uint8_t, 512>& data) {
  std::array<std::uint16_t, 256> words{};
  for (std::size_t i = 0; i < words.size(); ++i) {
    words[i] = static_cast<std::uint16_t>(data[2 * i] | (data[2 * i + 1] << 8U));
  }
  return words;
}

}  // namespace

std::uint64_t identify_user_sectors(std::span<const std::uint16_t, 256> identify) {
  std::uint64_t sectors = 0;
  for (unsigned i = 0; i < 4; ++i) {
    sectors |= static_cast<std::uint64_t>(identify[100 + i]) << (16U * i);
  }
  if (sectors == 0) {
    sectors = identify[60] | (static_cast<std::uint64_t>(identify[61]) << 16U);
  }
  return sectors;
}

std::optional<std::uint64_t> sense_descriptor_lba(std::span<const std::uint8_t> sense) {
  // Descriptor-format sense (response code 72h): descriptors from byte 8.
  if (sense.size() < 8 || (sense[0] & 0x7F) != 0x72) {
    return std::nullopt;
  }
  const std::size_t end = std::min<std::size_t>(sense.size(), 8U + sense[7]);
  for (std::size_t at = 8; at + 14 <= end; at += 2U + sense[at + 1]) {
    if (sense[at] == 0x09) {  // ATA Status Return
      const auto b = [&](std::size_t i) { return static_cast<std::uint64_t>(sense[at + i]); };
      return b(7) | (b(9) << 8U) | (b(11) << 16U) | (b(6) << 24U) | (b(8) << 32U) | (b(10) << 40U);
    }
    if (sense[at + 1] == 0) {
      break;
    }
  }
  return std::nullopt;
}

std::uint64_t dco_max_lba(std::span<const std::uint16_t, 256> dco) {
  std::uint64_t lba = 0;
  for (unsigned i = 0; i < 4; ++i) {
    lba |= static_cast<std::uint64_t>(dco[3 + i]) << (16U * i);
  }
  return lba;
}

std::string describe_hidden_areas(std::uint64_t reported_sectors,
                                  std::optional<std::uint64_t> native_sectors,
                                  std::optional<std::uint64_t> dco_sectors) {
  std::string text;
  if (!native_sectors) {
    text = "HPA not checked (READ NATIVE MAX ADDRESS EXT not answered)";
  } else if (*native_sectors > reported_sectors) {
    text = fmt::format(
        "HPA PRESENT: the disk reports {} sectors but has {} ({} hidden; not "
        "acquired)",
        reported_sectors, *native_sectors, *native_sectors - reported_sectors);
  } else {
    text = "no HPA";
  }
  const std::uint64_t native = native_sectors.value_or(reported_sectors);
  if (!dco_sectors) {
    text += "; DCO not checked (DEVICE CONFIGURATION IDENTIFY not answered)";
  } else if (*dco_sectors > native) {
    text += fmt::format("; DCO PRESENT: the factory size is {} sectors ({} hidden; not acquired)",
                        *dco_sectors, *dco_sectors - native);
  } else {
    text += "; no DCO";
  }
  return text;
}

std::string check_hidden_areas(int fd) {
  PassThrough identify = ata_command(fd, k_identify_device, 0, true);
  if (!identify.ok) {
    return "not checked (" + identify.why + ")";
  }
  const auto words = words_of(identify.data);
  const std::uint64_t reported = identify_user_sectors(words);
  std::optional<std::uint64_t> native;
  PassThrough max = ata_command(fd, k_read_native_max_ext, 0, false);
  if (max.ok) {
    if (auto lba = sense_descriptor_lba(max.sense)) {
      native = *lba + 1;
    }
  }
  std::optional<std::uint64_t> factory;
  PassThrough dco = ata_command(fd, k_dco, k_dco_identify_feature, true);
  if (dco.ok) {
    const auto dco_words = words_of(dco.data);
    if (const std::uint64_t lba = dco_max_lba(dco_words); lba != 0) {
      factory = lba + 1;
    }
  }
  return describe_hidden_areas(reported, native, factory);
}

}  // namespace custody::internal
