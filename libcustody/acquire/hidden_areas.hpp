// SPDX-License-Identifier: Apache-2.0
// ATA hidden areas: a Host Protected Area (HPA, SET MAX ADDRESS) or a Device Configuration
// Overlay (DCO) makes a disk report fewer sectors than it has. Detected with read-only ATA
// commands sent through SG_IO (ATA PASS-THROUGH 16): IDENTIFY DEVICE, READ NATIVE MAX ADDRESS
// EXT and DEVICE CONFIGURATION IDENTIFY. Only reported; custody never changes the settings.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace custody::internal {

// 48-bit "total user addressable sectors" (IDENTIFY words 100-103), or words 60-61 if zero.
std::uint64_t identify_user_sectors(std::span<const std::uint16_t, 256> identify);

// The LBA in an ATA Status Return sense descriptor (SAT, descriptor code 09h) of fixed or
// descriptor-format sense data; empty if there is none.
std::optional<std::uint64_t> sense_descriptor_lba(std::span<const std::uint8_t> sense);

// The maximum LBA a DCO allows (DEVICE CONFIGURATION IDENTIFY words 3-6).
std::uint64_t dco_max_lba(std::span<const std::uint16_t, 256> dco);

// Plain-language finding from the three numbers (sectors, not LBAs).
std::string describe_hidden_areas(std::uint64_t reported_sectors,
                                  std::optional<std::uint64_t> native_sectors,
                                  std::optional<std::uint64_t> dco_sectors);

// Runs the checks on an open ATA disk. Returns the finding, or "not checked (...)" with the
// reason when the device does not answer ATA pass-through.
std::string check_hidden_areas(int fd);

}  // namespace custody::internal
