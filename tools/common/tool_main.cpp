// SPDX-License-Identifier: Apache-2.0
#include "tool_main.hpp"

#include <custody/text.hpp>
#include <custody/version.hpp>

#include <fmt/format.h>

#include <unistd.h>

#include <csignal>
#include <cstdio>
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
      return ExitCode::cannot_create;
    case Errc::cancelled:
      return ExitCode::interrupted;
    case Errc::internal:
      return ExitCode::internal;
  }
  return ExitCode::internal;
}

void add_common_options(CLI::App& app,
                        CommonOptions& common,
                        const std::string& tool,
                        const std::string& examples) {
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
    fmt::print(stderr, "{}: error: {}\nRun '{} --help' for usage and examples.\n", app.get_name(),
               error.what(), app.get_name());
    return static_cast<int>(ExitCode::usage);
  }
  try {
    return static_cast<int>(body());
  } catch (const std::exception& problem) {
    fmt::print(stderr, "{}: internal error: {}; please report this bug\n", app.get_name(),
               problem.what());
  } catch (...) {
    fmt::print(stderr, "{}: internal error: unknown exception; please report this bug\n",
               app.get_name());
  }
  return static_cast<int>(ExitCode::internal);
}

ExitCode report_error(const std::string& tool, const Error& error) {
  std::string line = fmt::format("{}: error: {}", tool, error.to_string());
  if (!error.hint.empty()) {
    line += fmt::format("; {}", error.hint);
  }
  fmt::print(stderr, "{}\n", line);
  return exit_code_for(error.code);
}

void print_warning(const std::string& tool, const std::string& message) {
  fmt::print(stderr, "{}: warning: {}\n", tool, message);
}

namespace {

CancelToken g_cancel;

extern "C" void on_interrupt(int signal_number) {
  if (g_cancel.cancelled()) {
    std::signal(signal_number, SIG_DFL);
    std::raise(signal_number);
    return;
  }
  g_cancel.cancel();
}

}  // namespace

const CancelToken& install_interrupt_handler() {
  std::signal(SIGINT, on_interrupt);
  std::signal(SIGTERM, on_interrupt);
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
    const double left = rate > 0 ? static_cast<double>(total - std::min(done, total)) / rate : 0;
    const auto eta = static_cast<long>(left);
    line += fmt::format(" of {} ({:.0f}%)  {:.1f} MB/s  ETA {}:{:02}:{:02}", format_bytes(total),
                        100.0 * static_cast<double>(done) / static_cast<double>(total), rate / 1e6,
                        eta / 3600, (eta / 60) % 60, eta % 60);
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
