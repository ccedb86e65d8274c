// SPDX-License-Identifier: Apache-2.0
// What every custody command-line tool shares: the exit-status table of custody(7), the common
// options, error printing, the terminal progress line and interruption by SIGINT/SIGTERM.
#pragma once

#include <custody/error.hpp>
#include <custody/progress.hpp>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <string>

namespace custody::tools {

// Exit statuses; documented in custody(7). Never renumber.
enum class ExitCode : int {
  ok = 0,
  verification_failed = 1,
  completed_with_defects = 3,
  usage = 64,
  corrupt_input = 65,
  missing_input = 66,
  internal = 70,
  cannot_create = 73,
  io_error = 74,
  interrupted = 130,
};

ExitCode exit_code_for(Errc code);

struct CommonOptions {
  bool json = false;
  bool quiet = false;
  int verbose = 0;
};

// Adds -q, -v, --json and -V/--version to `app`, and the examples to its --help. `common` must
// outlive run_tool: with --json, every error is printed as JSON on stdout too.
void add_common_options(CLI::App& app,
                        CommonOptions& common,
                        const std::string& tool,
                        const std::string& examples);

// Parses the command line and runs `body`, turning a usage error into 64 and any escaped exception
// into 70 ("internal error"): nothing reaches the user as a crash. A mistyped option or
// subcommand gets a suggestion ("did you mean --hash?").
int run_tool(CLI::App& app, int argc, char** argv, const std::function<ExitCode()>& body);

// Prints "custody-<tool>: error: <what>; <hint>" on stderr and returns the exit code for it.
// With --json, stdout gets the one JSON document of this run: custody-error(5) below.
//   {"format": "custody-error", "version": 1, "tool": "custody-verify", "exit_code": 66,
//    "error": {"code": "not_found", "message": ..., "path": ..., "offset": ..., "errno": ...,
//              "errno_text": ..., "hint": ...}}
ExitCode report_error(const std::string& tool, const Error& error);
// The same for a refusal that is not a library Error (a usage mistake found by the tool).
ExitCode report_usage_error(const std::string& tool, std::string message, std::string hint = {});

// Whether this run prints JSON (--json was given).
bool json_output();

// Prints `document` (a JSON object) as the one JSON document of this run, on stdout.
void print_json(const nlohmann::ordered_json& document);
void print_warning(const std::string& tool, const std::string& message);

// A CancelToken set by the first SIGINT or SIGTERM. Further signals only print that the job is
// still stopping: they never cut the closing of a container or record (SIGKILL still would).
const CancelToken& install_interrupt_handler(const std::string& tool);

// One overprinted progress line on stderr, only when stderr is a terminal and not quiet.
class ConsoleProgress final : public ProgressSink {
 public:
  explicit ConsoleProgress(bool enabled);
  ~ConsoleProgress() override;
  ConsoleProgress(const ConsoleProgress&) = delete;
  ConsoleProgress& operator=(const ConsoleProgress&) = delete;
  void update(std::uint64_t done, std::uint64_t total) override;
  // Clears the line (before printing results).
  void finish();

 private:
  bool m_enabled;
  bool m_drawn = false;
  std::chrono::steady_clock::time_point m_start;
  std::chrono::steady_clock::time_point m_last;
};

}  // namespace custody::tools
