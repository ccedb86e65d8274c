// SPDX-License-Identifier: Apache-2.0
// The rule that custody never writes over what it reads: an operation lists its inputs (the
// evidence, a package, an image made elsewhere) and checks every output name against them before
// anything is opened for writing. Files are compared by device and inode, never by name, so a
// hard link, a symbolic link or a bind mount of the source is recognised as the source.
#pragma once

#include <custody/error.hpp>

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

namespace custody::internal {

class InputGuard {
 public:
  // An input by name; "-" is standard input. Names that do not exist are ignored (opening them
  // reports that). A directory (logical acquisition) also forbids outputs anywhere inside it.
  void add(const std::string& path);
  void add_all(const std::vector<std::string>& paths);

  // Errc::already_exists when `output` (which may not exist yet) is one of the inputs, or lies
  // inside an input directory. "-" checks standard output.
  Result<void> check_output(const std::string& output) const;
  // The same for every existing file named PREFIX followed by a suffix that `is_output_suffix`
  // accepts: the outputs an operation creates one after another (NAME.001, NAME.E01, ...).
  Result<void> check_outputs_named(const std::string& prefix,
                                   bool (*is_output_suffix)(std::string_view)) const;

  // Suffixes of numbered segments: "001", "1000" (after "NAME.").
  static bool is_segment_number(std::string_view suffix);
  // Suffixes of EWF segments: "E01".."E99", "EAA".."ZZZ" (after "NAME.").
  static bool is_ewf_segment(std::string_view suffix);

 private:
  struct Input {
    std::string name;
    dev_t device = 0;
    ino_t inode = 0;
    bool directory = false;
  };
  Result<void> check_identity(const std::string& output, dev_t device, ino_t inode) const;
  std::vector<Input> m_inputs;
};

}  // namespace custody::internal
