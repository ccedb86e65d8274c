// SPDX-License-Identifier: Apache-2.0
// What every tool shares: common options, exit codes, error and JSON output, Ctrl-C handling.
#include "tool_main.hpp"

#include <custody/text.hpp>
#include <custody/version.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <exception>

namespace custody::tools {

ExitCode exit_code_for(Errc code) {
  switch (code) {
    case Errc::invalid_argument:
      return ExitCode::usage;
    case Errc::not_found:
      return ExitCode::missing_input;
    case Errc::io_error:
      return ExitCode::io_error;
    case Errc::corrupt:
    case Errc::unsupported:
    case Errc::crypto:
      return ExitCode::corrupt_input;
    case Errc::already_exists:
    case Errc::cannot_create:
      return ExitCode::cannot_create;
    case Errc::cancelled:
      return ExitCode::interrupted;
    case Errc::internal:
      return ExitCode::internal;
  }
  return ExitCode::internal;
}

namespace {

const CommonOptions* g_common = nullptr;
bool g_json_requested = false;  // --json among the arguments (when parsing itself failed)

std::string error_document(const std::string& tool, const Error& error, ExitCode code) {
  using nlohmann::ordered_json;
  const auto text_or_null = [](const std::string& text) {
    return text.empty() ? ordered_json(nullptr) : ordered_json(text);
  };
  ordered_json detail;
  detail["code"] = errc_name(error.code);
  detail["message"] = error.message;
  detail["path"] = text_or_null(error.path);
  detail["offset"] = error.offset ? ordered_json(*error.offset) : ordered_json(nullptr);
  detail["errno"] = error.sys_errno != 0 ? ordered_json(error.sys_errno) : ordered_json(nullptr);
  detail["errno_text"] =
      error.sys_errno != 0 ? ordered_json(std::strerror(error.sys_errno)) : ordered_json(nullptr);
  detail["hint"] = text_or_null(error.hint);
  ordered_json document;
  document["format"] = "custody-error";
  document["version"] = 1;
  document["tool"] = tool;
  document["exit_code"] = static_cast<int>(code);
  document["error"] = std::move(detail);
  return document.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

// Levenshtein distance, for "did you mean" suggestions.
std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) {
    row[j] = j;
  }
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

void collect_names(const CLI::App& app,
                   std::vector<std::string>& options,
                   std::vector<std::string>& commands) {
  for (const CLI::Option* option : app.get_options()) {
    for (const std::string& name : option->get_lnames()) {
      options.push_back("--" + name);
    }
  }
  for (const CLI::App* command : app.get_subcommands({})) {
    commands.push_back(command->get_name());
    collect_names(*command, options, commands);
  }
}

// " (did you mean --hash?)" for the first unexpected argument that is close to a known name.
std::string suggestion(const CLI::App& app, const std::vector<std::string>& unexpected) {
  std::vector<std::string> options;
  std::vector<std::string> commands;
  collect_names(app, options, commands);
  for (const std::string& given : unexpected) {
    const std::string word = given.substr(0, given.find('='));
    const std::vector<std::string>& candidates = word.starts_with("-") ? options : commands;
    std::string best;
    std::size_t best_distance = std::max<std::size_t>(2, word.size() / 3) + 1;
    for (const std::string& candidate : candidates) {
      const std::size_t distance = edit_distance(word, candidate);
      if (distance < best_distance) {
        best_distance = distance;
        best = candidate;
      }
    }
    if (!best.empty()) {
      return fmt::format(" (did you mean {}?)", best);
    }
  }
  return {};
}

}  // namespace

bool json_output() {
  return g_json_requested || (g_common != nullptr && g_common->json);
}

void print_json(const nlohmann::ordered_json& document) {
  fmt::print("{}\n", document.dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
  std::fflush(stdout);
}

void add_common_options(CLI::App& app,
                        CommonOptions& common,
                        const std::string& tool,
                        const std::string& examples) {
  g_common = &common;
  app.name(tool);
  app.set_version_flag("-V,--version", fmt::format("{} (custody) {}", tool, k_version));
  app.add_flag("--json", common.json, "Print the result as JSON (a documented, versioned schema)");
  app.add_flag("-q,--quiet", common.quiet, "Print nothing but errors");
  app.add_flag("-v,--verbose", common.verbose, "More detail on stderr (repeatable)");
  app.footer(
      fmt::format("Examples:\n{}\nExit status: 0 ok, 1 verification failed, 3 completed with "
                  "recorded defects, 64 usage,\n65 corrupt input, 66 missing input, 73 cannot "
                  "create or would overwrite, 74 I/O error,\n130 interrupted. See {}(1) and "
                  "custody(7).",
                  examples, tool));
}

int run_tool(CLI::App& app, int argc, char** argv, const std::function<ExitCode()>& body) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& help) {
    return app.exit(help);
  } catch (const CLI::CallForAllHelp& help) {
    return app.exit(help);
  } catch (const CLI::CallForVersion& version) {
    return app.exit(version);
  } catch (const CLI::ParseError& error) {
    for (int i = 1; i < argc; ++i) {
      g_json_requested = g_json_requested || std::string_view(argv[i]) == "--json";
    }
    // An unknown option or subcommand is left among the remaining arguments.
    std::string message = error.what() + suggestion(app, app.remaining(true));
    Error usage{Errc::invalid_argument, message, {}, {}, 0, {}};
    usage.hint = fmt::format("run '{} --help' for usage and examples", app.get_name());
    return static_cast<int>(report_error(app.get_name(), usage));
  }
  try {
    return static_cast<int>(body());
  } catch (const std::exception& problem) {
    Error internal{
        Errc::internal,          fmt::format("internal error: {}", problem.what()), {}, {}, 0,
        "please report this bug"};
    return static_cast<int>(report_error(app.get_name(), internal));
  } catch (...) {
    Error internal{Errc::internal,          "internal error: unknown exception", {}, {}, 0,
                   "please report this bug"};
    return static_cast<int>(report_error(app.get_name(), internal));
  }
}

ExitCode report_error(const std::string& tool, const Error& error) {
  std::string line = fmt::format("{}: error: {}", tool, error.to_string());
  if (!error.hint.empty()) {
    line += fmt::format("; {}", error.hint);
  }
  fmt::print(stderr, "{}\n", line);
  const ExitCode code = exit_code_for(error.code);
  if (json_output()) {
    fmt::print("{}", error_document(tool, error, code));
    std::fflush(stdout);
  }
  return code;
}

ExitCode report_usage_error(const std::string& tool, std::string message, std::string hint) {
  return report_error(
      tool, Error{Errc::invalid_argument, std::move(message), {}, {}, 0, std::move(hint)});
}

void print_warning(const std::string& tool, const std::string& message) {
  fmt::print(stderr, "{}: warning: {}\n", tool, message);
}

namespace {

CancelToken g_cancel;
// Said once for every further signal (write(2) is async-signal-safe; fmt is not).
char g_still_stopping[256] = {};
std::size_t g_still_stopping_length = 0;

extern "C" void on_interrupt(int /*signal_number*/) {
  if (!g_cancel.cancelled()) {
    g_cancel.cancel();
    return;
  }
  // A second Ctrl-C must not cut the closing of a container or record in half: the job is
  // already stopping as fast as it safely can.
  const int saved_errno = errno;
  [[maybe_unused]] const ssize_t ignored =
      ::write(STDERR_FILENO, g_still_stopping, g_still_stopping_length);
  errno = saved_errno;
}

}  // namespace

const CancelToken& install_interrupt_handler(const std::string& tool) {
  const std::string notice = fmt::format(
      "\n{}: still stopping: the output is being closed so that it stays usable; "
      "please wait\n",
      tool);
  g_still_stopping_length = std::min(notice.size(), sizeof g_still_stopping);
  std::memcpy(g_still_stopping, notice.data(), g_still_stopping_length);
  struct sigaction action {};
  action.sa_handler = on_interrupt;
  ::sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  ::sigaction(SIGINT, &action, nullptr);
  ::sigaction(SIGTERM, &action, nullptr);
  return g_cancel;
}

ConsoleProgress::ConsoleProgress(bool enabled)
    : m_enabled(enabled && ::isatty(STDERR_FILENO) == 1),
      m_start(std::chrono::steady_clock::now()),
      m_last(m_start) {}

ConsoleProgress::~ConsoleProgress() {
  finish();
}

void ConsoleProgress::update(std::uint64_t done, std::uint64_t total) {
  if (!m_enabled) {
    return;
  }
  const auto now = std::chrono::steady_clock::now();
  if (now - m_last < std::chrono::milliseconds(250)) {
    return;
  }
  m_last = now;
  const double seconds = std::chrono::duration<double>(now - m_start).count();
  const double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0.0;
  std::string line = fmt::format("  {}", format_bytes(done));
  if (total > 0) {
    line += fmt::format(" of {} ({:.0f}%)  {:.1f} MB/s", format_bytes(total),
                        100.0 * static_cast<double>(done) / static_cast<double>(total), rate / 1e6);
    // An estimate only once there is a rate to base it on: never "ETA 0:00:00" at the start.
    if (rate > 0 && seconds >= 2.0) {
      const auto eta = static_cast<long>(static_cast<double>(total - std::min(done, total)) / rate);
      line += fmt::format("  ETA {}:{:02}:{:02}", eta / 3600, (eta / 60) % 60, eta % 60);
    }
  } else {
    line += fmt::format("  {:.1f} MB/s", rate / 1e6);
  }
  fmt::print(stderr, "\r{}\033[K", line);
  std::fflush(stderr);
  m_drawn = true;
}

void ConsoleProgress::finish() {
  if (m_drawn) {
    fmt::print(stderr, "\r\033[K");
    std::fflush(stderr);
    m_drawn = false;
  }
}

}  // namespace custody::tools
