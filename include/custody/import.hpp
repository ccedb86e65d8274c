// SPDX-License-Identifier: Apache-2.0
// Images made elsewhere, read as a Source so the acquisition pipeline hashes and stores them like
// a disk: an E01 set (through libewf), a raw file, or a split raw set NAME.001, NAME.002, ...
#pragma once

#include <custody/error.hpp>
#include <custody/record.hpp>
#include <custody/source.hpp>

#include <memory>
#include <string>
#include <vector>

namespace custody {

// A Source over an image file. Its defects() are the ranges the image's maker reported as
// unreadable (the bytes read are what the image holds for them, so its hashes still hold).
class ImageFileSource : public Source {
 public:
  // What the image says about itself; after reading to the end it also names the chunks whose
  // checksum failed. hashes_match is left empty: the caller compares.
  virtual ImportRecord import_record() const = 0;
};

// Opens `path` as an image: an E01 (by its signature; every segment is found with libewf_glob),
// NAME.001 (with NAME.002, ... beside it), or any other file as one raw image. Errc::not_found
// for a missing file or a gap in a split set (naming the missing segment), Errc::corrupt for an
// E01 libewf cannot open, Errc::invalid_argument for NAME.002 and later (give the first).
Result<std::unique_ptr<ImageFileSource>> open_image_file(const std::string& path);

// The segments of the split raw set that starts with `first` (NAME.001): every NAME.NNN in its
// directory, in order. Errc::not_found when a number between 001 and the highest is missing.
Result<std::vector<std::string>> find_split_raw_set(const std::string& first);

}  // namespace custody
