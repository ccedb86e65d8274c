// SPDX-License-Identifier: Apache-2.0
// One way into verification: what the paths given on a command line are (identify_evidence), by
// their content, not by their names, grouped into the evidence items they form.
#pragma once

#include <custody/error.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace custody {

enum class EvidenceKind : std::uint8_t {
  raw_record,        // the acquisition record of a raw image (NAME.acquisition.json)
  raw_image,         // the segment(s) of a raw image, with the record beside them that names them
  aff4_container,    // an AFF4 container (one volume)
  aff4_striped,      // the volumes of one AFF4 image striped over several files
  aff4_logical,      // an AFF4-L logical container
  e01_set,           // an E01 set (one or more of its segments)
  transfer_package,  // a custody-pack package: a tar or ZIP bag, or an encrypted package's index
  bag_directory,     // a bag directory (a package unpacked, or one custody-receive released)
};

// "raw record", "raw image", "AFF4 container", "striped AFF4 image", "AFF4-L logical container",
// "E01 set", "transfer package", "bag directory".
const char* evidence_kind_name(EvidenceKind kind);

struct EvidenceItem {
  EvidenceKind kind = EvidenceKind::raw_record;
  // The paths as given that form this item, in the order given (a striped image: every volume).
  std::vector<std::string> paths;
  // raw_record and raw_image: the acquisition record (for raw_image the one found beside the
  // segments, which names them). Empty for the other kinds.
  std::string record;
};

// The evidence items that `paths` form, in the order of each item's first path. Detected by
// content: the EWF signature (E01), a ZIP that holds an AFF4 version.txt, information.turtle or
// container.description (AFF4; AFF4-L when version.txt says minor=1 or it holds
// custody/files.json), a ZIP or a tar whose bag holds bagit.txt (a transfer package), JSON with
// the format "custody-envelope" (an encrypted package's index; NAME is accepted when
// NAME.enc.json is such an index), JSON otherwise (an acquisition record), a directory holding
// bagit.txt, and a raw image file named by an acquisition record in its directory. The volumes
// of a striped image are one item, in any order: volumes that name each other (aff4:stored) or
// describe the same image. The segments of one E01 set (same name but for the extension) are one
// item, and so are a raw image's segments and its record.
// Errors (nothing is checked): Errc::not_found (a path does not exist), Errc::invalid_argument
// (a directory that is not a bag, a path given twice), Errc::unsupported (a file of no kind above:
// the message names it and lists what is accepted).
Result<std::vector<EvidenceItem>> identify_evidence(const std::vector<std::string>& paths);

}  // namespace custody
