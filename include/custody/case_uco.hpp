// SPDX-License-Identifier: Apache-2.0
// The custody chain of a container as CASE/UCO JSON-LD (https://caseontology.org), the common
// language of digital-evidence provenance: one case-investigation:InvestigativeAction per custody
// event (performer, location, start and end time, instrument, the exhibit's state before as its
// object and after as its result), one case-investigation:ProvenanceRecord per state of the
// exhibit, the image and the container as UCO observables with their hashes (ContentDataFacet,
// uco-types:Hash), and an IRI for every node.
#pragma once

#include <custody/error.hpp>

#include <string>

namespace custody {

// The JSON-LD document. Errc::not_found, Errc::corrupt, Errc::unsupported (no custody record).
Result<std::string> case_uco_jsonld(const std::string& container);

// Writes that document to `path` atomically. Errc::already_exists when `path` exists and
// !overwrite, or when `path` is the container (by device and inode: never written over).
Result<void> write_case_uco(const std::string& container, const std::string& path, bool overwrite);

}  // namespace custody
