// SPDX-License-Identifier: Apache-2.0
// custody-mount: serve an AFF4 container read-only through FUSE 3 for any examination tool: a
// physical image as MOUNTPOINT/image.raw, a logical container as its file tree. The library
// (EvidenceAccess) records the "accessed" event before the first byte is served and the
// "released" event when the mount ends; this file holds only FUSE.
#define FUSE_USE_VERSION 35

#include "common/case_options.hpp"
#include "common/identity_options.hpp"
#include "common/tool_main.hpp"

#include <custody/access.hpp>

#include <fmt/format.h>

#include <fcntl.h>
#include <fuse.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace custody::tools {
namespace {

constexpr const char* k_tool = "custody-mount";
constexpr const char* k_image_name = "image.raw";

struct Options {
  std::vector<std::string> positional;  // CONTAINER... MOUNTPOINT
  std::string unmount;
  std::string log;  // E01 sets and raw images: the standalone custody log
  bool foreground = false;
  bool allow_other = false;
  IdentityArguments identity;
  EventDraft draft;
};

// One name in the served tree.
struct Node {
  enum class Kind : std::uint8_t { directory, image, file, symlink, other };
  Kind kind = Kind::directory;
  std::size_t content = 0;  // file: the manifest entry whose content it has (a hardlink's target)
  std::string link_target;  // symlink
  std::vector<std::string> children;  // directory: names, in the order first seen
  struct stat attributes {};
};

// What the FUSE callbacks serve: built before the loop starts, read-only afterwards.
struct Served {
  EvidenceAccess* access = nullptr;
  std::map<std::string, Node> nodes;  // by path: "/", "/image.raw", "/label/dir/file"
};

Served& served() {
  return *static_cast<Served*>(fuse_get_context()->private_data);
}

const Node* node_at(const char* path) {
  const auto found = served().nodes.find(path);
  return found != served().nodes.end() ? &found->second : nullptr;
}

// --- The file system: read-only. Every change is EROFS (the mount is "ro" as well, so the
// kernel refuses most before they reach us). ---

int get_attributes(const char* path, struct stat* out, fuse_file_info* /*file*/) {
  const Node* node = node_at(path);
  if (node == nullptr) {
    return -ENOENT;
  }
  *out = node->attributes;
  return 0;
}

int read_directory(const char* path,
                   void* buffer,
                   fuse_fill_dir_t fill,
                   off_t /*offset*/,
                   fuse_file_info* /*file*/,
                   fuse_readdir_flags /*flags*/) {
  const Node* node = node_at(path);
  if (node == nullptr) {
    return -ENOENT;
  }
  if (node->kind != Node::Kind::directory) {
    return -ENOTDIR;
  }
  const auto no_flags = static_cast<fuse_fill_dir_flags>(0);
  fill(buffer, ".", &node->attributes, 0, no_flags);
  fill(buffer, "..", nullptr, 0, no_flags);
  const std::string prefix = std::strcmp(path, "/") == 0 ? "/" : std::string(path) + "/";
  for (const std::string& name : node->children) {
    const Node* child = node_at((prefix + name).c_str());
    fill(buffer, name.c_str(), child != nullptr ? &child->attributes : nullptr, 0, no_flags);
  }
  return 0;
}

int read_link(const char* path, char* buffer, size_t size) {
  const Node* node = node_at(path);
  if (node == nullptr) {
    return -ENOENT;
  }
  if (node->kind != Node::Kind::symlink || size == 0) {
    return -EINVAL;
  }
  const std::size_t length = std::min(size - 1, node->link_target.size());
  std::memcpy(buffer, node->link_target.data(), length);
  buffer[length] = '\0';
  return 0;
}

int open_file(const char* path, fuse_file_info* file) {
  const Node* node = node_at(path);
  if (node == nullptr) {
    return -ENOENT;
  }
  if (node->kind == Node::Kind::directory) {
    return -EISDIR;
  }
  if ((file->flags & O_ACCMODE) != O_RDONLY || (file->flags & O_TRUNC) != 0) {
    return -EROFS;
  }
  file->keep_cache = 1;  // the evidence never changes: the page cache may keep what it read
  return 0;
}

int read_file(const char* path, char* buffer, size_t size, off_t offset, fuse_file_info* /*file*/) {
  const Node* node = node_at(path);
  if (node == nullptr) {
    return -ENOENT;
  }
  if (offset < 0) {
    return -EINVAL;
  }
  const std::span out(reinterpret_cast<std::byte*>(buffer), size);
  const auto at = static_cast<std::uint64_t>(offset);
  Result<std::size_t> got = std::size_t{0};
  if (node->kind == Node::Kind::image) {
    got = served().access->read(at, out);
  } else if (node->kind == Node::Kind::file) {
    got = served().access->read_file(node->content, at, out);
  }
  // A damaged chunk or file (or any failure to read the evidence) is EIO: never wrong bytes.
  return got ? static_cast<int>(*got) : -EIO;
}

int refuse_path(const char* /*path*/) {
  return -EROFS;
}
int refuse_mode(const char* /*path*/, mode_t /*mode*/) {
  return -EROFS;
}
int refuse_node(const char* /*path*/, mode_t /*mode*/, dev_t /*device*/) {
  return -EROFS;
}
int refuse_two_paths(const char* /*from*/, const char* /*to*/) {
  return -EROFS;
}
int refuse_rename(const char* /*from*/, const char* /*to*/, unsigned int /*flags*/) {
  return -EROFS;
}
int refuse_chmod(const char* /*path*/, mode_t /*mode*/, fuse_file_info* /*file*/) {
  return -EROFS;
}
int refuse_chown(const char* /*path*/, uid_t /*uid*/, gid_t /*gid*/, fuse_file_info* /*file*/) {
  return -EROFS;
}
int refuse_truncate(const char* /*path*/, off_t /*size*/, fuse_file_info* /*file*/) {
  return -EROFS;
}
int refuse_write(const char* /*path*/,
                 const char* /*data*/,
                 size_t /*size*/,
                 off_t /*offset*/,
                 fuse_file_info* /*file*/) {
  return -EROFS;
}
int refuse_create(const char* /*path*/, mode_t /*mode*/, fuse_file_info* /*file*/) {
  return -EROFS;
}
int refuse_set_xattr(const char* /*path*/,
                     const char* /*name*/,
                     const char* /*value*/,
                     size_t /*size*/,
                     int /*flags*/) {
  return -EROFS;
}
int refuse_remove_xattr(const char* /*path*/, const char* /*name*/) {
  return -EROFS;
}
int refuse_times(const char* /*path*/,
                 const struct timespec /*times*/[2],
                 fuse_file_info* /*file*/) {
  return -EROFS;
}

fuse_operations file_system_operations() {
  fuse_operations ops{};
  ops.getattr = get_attributes;
  ops.readdir = read_directory;
  ops.readlink = read_link;
  ops.open = open_file;
  ops.read = read_file;
  ops.mknod = refuse_node;
  ops.mkdir = refuse_mode;
  ops.unlink = refuse_path;
  ops.rmdir = refuse_path;
  ops.symlink = refuse_two_paths;
  ops.rename = refuse_rename;
  ops.link = refuse_two_paths;
  ops.chmod = refuse_chmod;
  ops.chown = refuse_chown;
  ops.truncate = refuse_truncate;
  ops.write = refuse_write;
  ops.create = refuse_create;
  ops.setxattr = refuse_set_xattr;
  ops.removexattr = refuse_remove_xattr;
  ops.utimens = refuse_times;
  return ops;
}

// --- Mounting. ---

// An argv of `words`, for C interfaces that take char** (and do not change the strings).
std::vector<char*> argv_of(std::vector<std::string>& words) {
  std::vector<char*> argv;
  for (std::string& word : words) {
    argv.push_back(word.data());
  }
  argv.push_back(nullptr);
  return argv;
}

struct FuseDeleter {
  void operator()(fuse* handle) const { fuse_destroy(handle); }
};
using FusePtr = std::unique_ptr<fuse, FuseDeleter>;

// The FUSE options: read-only, and named "custody:PID" so that custody-mount -u finds the
// process that must record the "released" event.
std::string mount_options(const Options& options) {
  std::string text = fmt::format("ro,default_permissions,fsname=custody:{},subtype=custody",
                                 static_cast<long>(getpid()));
  if (options.allow_other) {
    text += ",allow_other";
  }
  return text;
}

Result<FusePtr> make_mount(const Options& options,
                           const std::string& mountpoint,
                           const fuse_operations& ops,
                           Served& state) {
  const std::string option_text = mount_options(options);
  std::vector<std::string> words{"custody-mount", "-o", option_text};
  std::vector<char*> arguments = argv_of(words);
  fuse_args args = FUSE_ARGS_INIT(3, arguments.data());
  FusePtr handle(fuse_new(&args, &ops, sizeof ops, &state));
  if (!handle) {
    return make_error(Errc::io_error, "FUSE refused the mount options " + option_text);
  }
  if (fuse_mount(handle.get(), mountpoint.c_str()) != 0) {
    Error error{Errc::io_error,
                fmt::format("cannot mount FUSE at {} (see the message above)", mountpoint),
                mountpoint,
                {},
                0,
                "check that /dev/fuse exists and fusermount3 is installed (Debian: fuse3); "
                "--allow-other needs user_allow_other in /etc/fuse.conf unless you are root"};
    return tl::unexpected(std::move(error));
  }
  return handle;
}

Result<void> check_mountpoint(const std::string& mountpoint) {
  std::error_code error;
  if (!std::filesystem::is_directory(mountpoint, error)) {
    return make_error(Errc::invalid_argument,
                      fmt::format("the mount point {} is not a directory", mountpoint));
  }
  if (!std::filesystem::is_empty(mountpoint, error)) {
    return make_error(
        Errc::invalid_argument,
        fmt::format("the mount point {} is not empty (or is mounted already)", mountpoint));
  }
  return {};
}

// The attributes every node starts from: the container file's times, the caller's ownership.
struct stat base_attributes(const std::string& container) {
  struct stat file {};
  ::stat(container.c_str(), &file);
  struct stat out {};
  out.st_mode = S_IFDIR | 0555;
  out.st_nlink = 2;
  out.st_uid = getuid();
  out.st_gid = getgid();
  out.st_mtim = file.st_mtim;
  out.st_atim = file.st_mtim;
  out.st_ctim = file.st_ctim;
  return out;
}

Node regular_node(const struct stat& base, std::uint64_t size, mode_t permissions) {
  Node node;
  node.kind = Node::Kind::file;
  node.attributes = base;
  node.attributes.st_mode = S_IFREG | permissions;
  node.attributes.st_nlink = 1;
  node.attributes.st_size = static_cast<off_t>(size);
  node.attributes.st_blocks = static_cast<blkcnt_t>((size + 511) / 512);
  return node;
}

// A physical image: MOUNTPOINT/image.raw.
void add_image(std::uint64_t size, const struct stat& base, Served& state) {
  Node root;
  root.attributes = base;
  root.children.emplace_back(k_image_name);
  state.nodes["/"] = std::move(root);
  Node image = regular_node(base, size, 0444);
  image.kind = Node::Kind::image;
  state.nodes[std::string("/") + k_image_name] = std::move(image);
}

// The directory at `path`, made (with its parents) when the file list only implies it.
Node& directory_at(const std::string& path, const struct stat& base, Served& state) {
  auto found = state.nodes.find(path);
  if (found != state.nodes.end()) {
    return found->second;
  }
  const std::size_t slash = path.rfind('/');
  const std::string parent = slash == 0 ? "/" : path.substr(0, slash);
  directory_at(parent, base, state).children.push_back(path.substr(slash + 1));
  Node directory;
  directory.attributes = base;
  return state.nodes[path] = std::move(directory);
}

// A path of the file list usable as a name here: no empty, "." or ".." component (a crafted list
// could hold them; they are left out, and said).
bool usable_path(const std::string& path) {
  std::size_t start = 0;
  while (start <= path.size()) {
    const std::size_t end = std::min(path.find('/', start), path.size());
    const std::string_view part(path.data() + start, end - start);
    if (part.empty() || part == "." || part == "..") {
      return false;
    }
    start = end + 1;
  }
  return !path.empty();
}

// The entry's recorded facts over the base attributes: permissions, owner, times.
void apply_recorded(const LogicalEntry& entry, struct stat& attributes) {
  if (entry.mode) {
    attributes.st_mode = (attributes.st_mode & S_IFMT) | (*entry.mode & 07777);
  }
  if (entry.uid) {
    attributes.st_uid = static_cast<uid_t>(*entry.uid);
  }
  if (entry.gid) {
    attributes.st_gid = static_cast<gid_t>(*entry.gid);
  }
  if (auto time = logical_entry_time(entry.mtime)) {
    attributes.st_mtim = *time;
  }
  if (auto time = logical_entry_time(entry.atime)) {
    attributes.st_atim = *time;
  }
  if (auto time = logical_entry_time(entry.ctime)) {
    attributes.st_ctim = *time;
  }
}

// The node of one entry. A hardlink shows its earlier file's content; fifos, sockets and device
// nodes are shown as empty files (never as device nodes a reader could open on this machine).
Node entry_node(const LogicalManifest& files,
                std::size_t index,
                const std::map<std::string, std::size_t>& by_path,
                const struct stat& base) {
  const LogicalEntry& entry = files.entries[index];
  Node node;
  switch (entry.type) {
    case LogicalEntryType::directory:
      node.attributes = base;
      break;
    case LogicalEntryType::symlink:
      node = regular_node(base, entry.link_target.size(), 0777);
      node.kind = Node::Kind::symlink;
      node.attributes.st_mode = S_IFLNK | 0777;
      node.link_target = entry.link_target;
      break;
    case LogicalEntryType::file:
    case LogicalEntryType::hardlink: {
      std::size_t content = index;
      if (entry.type == LogicalEntryType::hardlink) {
        const auto target = by_path.find(entry.link_target);
        content = target != by_path.end() ? target->second : index;
      }
      node = regular_node(base, files.entries[content].size, 0444);
      node.content = content;
      break;
    }
    default:
      node = regular_node(base, 0, 0444);
      node.kind = Node::Kind::other;
      break;
  }
  apply_recorded(entry, node.attributes);
  return node;
}

// A logical container: its file list as a tree. Returns how many entries were left out.
std::size_t add_files(const LogicalManifest& files, const struct stat& base, Served& state) {
  Node root;
  root.attributes = base;
  state.nodes["/"] = std::move(root);
  std::map<std::string, std::size_t> by_path;
  for (std::size_t i = 0; i < files.entries.size(); ++i) {
    by_path.emplace(files.entries[i].path, i);
  }
  std::size_t left_out = 0;
  for (std::size_t i = 0; i < files.entries.size(); ++i) {
    const std::string& path = files.entries[i].path;
    if (!usable_path(path)) {
      ++left_out;
      continue;
    }
    const std::string full = "/" + path;
    Node node = entry_node(files, i, by_path, base);
    if (auto existing = state.nodes.find(full); existing != state.nodes.end()) {
      node.children = std::move(existing->second.children);  // implied before it was listed
      existing->second = std::move(node);
      continue;
    }
    const std::size_t slash = full.rfind('/');
    directory_at(slash == 0 ? "/" : full.substr(0, slash), base, state)
        .children.push_back(full.substr(slash + 1));
    state.nodes[full] = std::move(node);
  }
  return left_out;
}

void print_mounted(const Options& options,
                   const std::vector<std::string>& containers,
                   const std::string& mountpoint,
                   const EvidenceAccess& access,
                   std::size_t left_out,
                   const CommonOptions& common) {
  const LogicalManifest* files = access.files();
  const std::string image = (std::filesystem::path(mountpoint) / k_image_name).string();
  if (common.json) {
    nlohmann::ordered_json document{{"format", "custody-mount-result"},
                                    {"version", 1},
                                    {"containers", containers},
                                    {"mountpoint", mountpoint}};
    if (files != nullptr) {
      document["files"] = files->entries.size() - left_out;
      document["left_out"] = left_out;
    } else {
      document["image"] = image;
      document["size"] = access.size();
    }
    if (!options.log.empty()) {
      document["log"] = options.log;
    }
    document["accessed_event"] = access.accessed_event();
    document["signed"] = access.signed_events();
    print_json(document);
  } else if (!common.quiet) {
    if (files != nullptr) {
      fmt::print("mounted the {} files of {} read-only at {}\n", files->entries.size() - left_out,
                 containers.front(), mountpoint);
    } else {
      fmt::print("mounted {} read-only at {} ({} bytes)\n", containers.front(), image,
                 access.size());
    }
    fmt::print("custody event {} (accessed) recorded{}; unmount with: custody-mount -u {}\n",
               access.accessed_event(), options.log.empty() ? "" : " in " + options.log,
               mountpoint);
  }
  if (left_out > 0) {
    print_warning(k_tool, fmt::format("{} entries of the file list have unusable paths (empty, "
                                      "\".\" or \"..\" parts) and are not shown",
                                      left_out));
  }
  if (options.identity.key.empty()) {
    print_warning(k_tool,
                  "no --by-key given: the accessed and released events are recorded UNSIGNED");
  }
  std::fflush(stdout);
}

// Tells the waiting parent how the mount went (one byte: the exit status), then lets go of the
// terminal: a daemon must not hold the caller's pipes open (a script reading our output would
// wait for ever).
void signal_ready(int ready_fd, ExitCode code) {
  if (ready_fd < 0) {
    return;
  }
  const auto byte = static_cast<unsigned char>(code);
  [[maybe_unused]] ssize_t written = ::write(ready_fd, &byte, 1);
  ::close(ready_fd);
  if (code != ExitCode::ok) {
    return;
  }
  const int null = ::open("/dev/null", O_RDWR);
  if (null >= 0) {
    ::dup2(null, STDIN_FILENO);
    ::dup2(null, STDOUT_FILENO);
    ::dup2(null, STDERR_FILENO);
    if (null > STDERR_FILENO) {
      ::close(null);
    }
  }
  ::setsid();
}

ExitCode fail_before_ready(int ready_fd, ExitCode code) {
  signal_ready(ready_fd, code);
  return code;
}

void block_stop_signals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  sigprocmask(SIG_BLOCK, &signals, nullptr);
}

// The mount itself, in the daemon (or in the foreground with -f): identity, FUSE mount, the
// "accessed" event, then the requests until unmounted, then the "released" event.
ExitCode serve(const Options& options, const CommonOptions& common, int ready_fd) {
  std::vector<std::string> containers(options.positional.begin(), options.positional.end() - 1);
  const std::string mountpoint = options.positional.back();
  auto identity = load_identity_if_given(options.identity);
  if (!identity) {
    return fail_before_ready(ready_fd, report_error(k_tool, identity.error()));
  }
  Served state;
  const fuse_operations ops = file_system_operations();
  auto handle = make_mount(options, mountpoint, ops, state);
  if (!handle) {
    return fail_before_ready(ready_fd, report_error(k_tool, handle.error()));
  }
  // Requests wait in the kernel until the loop runs: the event is recorded before any is served.
  auto access = EvidenceAccess::begin(AccessOptions{
      containers, EventContext{options.draft, identity->has_value() ? &**identity : nullptr},
      std::filesystem::absolute(mountpoint).lexically_normal().string(), options.log});
  if (!access) {
    fuse_unmount(handle->get());
    return fail_before_ready(ready_fd, report_error(k_tool, access.error()));
  }
  const struct stat base = base_attributes(containers.front());
  std::size_t left_out = 0;
  if (const LogicalManifest* files = (*access)->files()) {
    left_out = add_files(*files, base, state);
  } else {
    add_image((*access)->size(), base, state);
  }
  state.access = access->get();
  print_mounted(options, containers, mountpoint, **access, left_out, common);
  signal_ready(ready_fd, ExitCode::ok);

  fuse_session* session = fuse_get_session(handle->get());
  if (fuse_set_signal_handlers(session) == 0) {
    fuse_loop(handle->get());
    // A second Ctrl-C (or SIGTERM) must not cut the released event short: from here on the
    // signals wait, and are dropped at exit.
    block_stop_signals();
    fuse_remove_signal_handlers(session);
  }
  block_stop_signals();
  fuse_unmount(handle->get());
  const bool logical = (*access)->files() != nullptr;  // (end() closes the container)
  auto summary = (*access)->end();
  if (!summary) {
    return report_error(k_tool, summary.error());
  }
  if (ready_fd < 0 && !common.quiet && !common.json) {
    fmt::print("released: {} bytes read, {}; custody event {} (released)\n", summary->bytes_read,
               logical ? fmt::format("{} files opened", summary->files_opened.size())
                       : fmt::format("{} chunks", summary->chunks_read),
               summary->released_event);
  }
  return ExitCode::ok;
}

// Without -f: the work happens in a child, which becomes the daemon once the mount is ready;
// this process waits for its word and exits with the status it sends. Forking first keeps a
// token's PKCS#11 session and OpenSSL's state in the one process that uses them.
ExitCode mount_in_background(const Options& options, const CommonOptions& common) {
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0) {
    return report_error(k_tool, Error{Errc::io_error, "cannot make a pipe", {}, {}, errno, {}});
  }
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t child = ::fork();
  if (child < 0) {
    return report_error(k_tool, Error{Errc::io_error, "cannot fork", {}, {}, errno, {}});
  }
  if (child == 0) {
    ::close(pipe_fds[0]);
    const ExitCode code = serve(options, common, pipe_fds[1]);
    std::fflush(stdout);
    ::_exit(static_cast<int>(code));
  }
  ::close(pipe_fds[1]);
  unsigned char byte = 0;
  ssize_t got = 0;
  do {
    got = ::read(pipe_fds[0], &byte, 1);
  } while (got < 0 && errno == EINTR);
  ::close(pipe_fds[0]);
  if (got == 1) {
    if (byte != 0) {
      ::waitpid(child, nullptr, 0);
    }
    return static_cast<ExitCode>(byte);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  return report_error(k_tool, Error{Errc::internal,
                                    "the mount process ended before the mount "
                                    "was ready",
                                    {},
                                    {},
                                    0,
                                    {}});
}

// --- Unmounting. ---

// The pid of the custody-mount process serving `mountpoint`, from /proc/self/mountinfo (the
// source field "custody:PID"); 0 when no custody mount is there.
pid_t serving_process(const std::string& mountpoint) {
  std::error_code error;
  const std::string wanted = std::filesystem::canonical(mountpoint, error).string();
  std::ifstream mounts("/proc/self/mountinfo");
  std::string line;
  pid_t found = 0;
  while (std::getline(mounts, line)) {
    // Fields: id parent major:minor root mountpoint options [optional...] - type source super.
    std::istringstream fields(line);
    std::string skipped;
    std::string point;
    fields >> skipped >> skipped >> skipped >> skipped >> point;
    while (fields >> skipped && skipped != "-") {
      // optional fields, up to the separator
    }
    std::string type;
    std::string source;
    fields >> type >> source;
    // Octal escapes of the kernel: spaces, tabs, newlines and backslashes in the path.
    std::string unescaped;
    for (std::size_t i = 0; i < point.size(); ++i) {
      if (point[i] == '\\' && i + 3 < point.size()) {
        unescaped += static_cast<char>(std::stoi(point.substr(i + 1, 3), nullptr, 8));
        i += 3;
      } else {
        unescaped += point[i];
      }
    }
    if (unescaped == wanted && type == "fuse.custody" && source.rfind("custody:", 0) == 0) {
      found = static_cast<pid_t>(std::atol(source.c_str() + 8));  // the last one is on top
    }
  }
  return found;
}

ExitCode unmount(const Options& options, const CommonOptions& common) {
  const std::string& mountpoint = options.unmount;
  const pid_t server = serving_process(mountpoint);
  if (server == 0) {
    return report_error(k_tool, Error{Errc::not_found,
                                      fmt::format("no custody mount at {}", mountpoint),
                                      mountpoint,
                                      {},
                                      0,
                                      "findmnt -t fuse.custody lists the custody mounts"});
  }
  std::vector<std::string> words{"fusermount3", "-u", mountpoint};
  std::vector<char*> arguments = argv_of(words);
  pid_t helper = 0;
  if (posix_spawnp(&helper, "fusermount3", nullptr, nullptr, arguments.data(), environ) != 0) {
    return report_error(k_tool, Error{Errc::io_error,
                                      "cannot run fusermount3",
                                      {},
                                      {},
                                      errno,
                                      "install fuse3 (Debian: apt-get install fuse3)"});
  }
  int status = 0;
  ::waitpid(helper, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return report_error(k_tool, Error{Errc::io_error,
                                      fmt::format("fusermount3 -u {} failed (see its message "
                                                  "above)",
                                                  mountpoint),
                                      mountpoint,
                                      {},
                                      0,
                                      "close the programs and shells that still use the mount "
                                      "(fuser -m MOUNTPOINT lists them)"});
  }
  // The server records the "released" event as it exits: wait for it, so that the log is
  // complete when this command returns.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(2);
  while (::kill(server, 0) == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (::kill(server, 0) == 0) {
    print_warning(k_tool, fmt::format("unmounted {}, but its process {} has not ended yet; the "
                                      "released event follows when it does",
                                      mountpoint, static_cast<long>(server)));
  }
  if (common.json) {
    print_json({{"format", "custody-unmount-result"}, {"version", 1}, {"mountpoint", mountpoint}});
  } else if (!common.quiet) {
    fmt::print("unmounted {}\n", mountpoint);
  }
  return ExitCode::ok;
}

ExitCode run(const Options& options, const CommonOptions& common) {
  if (!options.unmount.empty()) {
    if (!options.positional.empty()) {
      return report_usage_error(k_tool, "-u takes only the mount point",
                                "custody-mount -u MOUNTPOINT");
    }
    return unmount(options, common);
  }
  if (options.positional.size() < 2) {
    return report_usage_error(k_tool, "give the container and the mount point",
                              "custody-mount CONTAINER MOUNTPOINT --purpose TEXT");
  }
  if (options.draft.purpose.empty()) {
    return report_usage_error(k_tool, "--purpose is required: it is recorded with the access",
                              "say why, e.g. --purpose \"file system analysis, case 17\"");
  }
  if (auto checked = check_mountpoint(options.positional.back()); !checked) {
    return report_error(k_tool, checked.error());
  }
  return options.foreground ? serve(options, common, -1) : mount_in_background(options, common);
}

}  // namespace
}  // namespace custody::tools

int main(int argc, char** argv) {
  using namespace custody::tools;
  Options options;
  CommonOptions common;
  CLI::App app{
      "Mount evidence read-only (FUSE) for any examination tool: the image of an AFF4 container,\n"
      "an E01 set or a raw image as MOUNTPOINT/image.raw, a logical container as its file tree;\n"
      "who opened it, when and why is recorded in its custody log (--log for E01 and raw)."};
  add_common_options(
      app, common, k_tool,
      "  custody-mount disk1.aff4 /mnt/disk1 --by-key me.key --by-cert me.pem \\\n"
      "      --purpose \"file system analysis\" --legal-reference \"EIO 2026/17\"\n"
      "  fls -r /mnt/disk1/image.raw\n"
      "  custody-mount -u /mnt/disk1\n"
      "  custody-mount phone.E01 /mnt/phone --log phone.custody-log --purpose triage");
  app.add_option("CONTAINER MOUNTPOINT", options.positional,
                 "The evidence: an AFF4 container (physical, every volume of a striped image, or "
                 "logical), an E01 set, or a raw image's acquisition record; then an empty "
                 "directory");
  app.add_option("-u,--unmount", options.unmount,
                 "End the mount at MOUNTPOINT (the released event is recorded before this returns)")
      ->type_name("MOUNTPOINT");
  app.add_option("--log", options.log,
                 "E01 set or raw image: the standalone custody log that records the access "
                 "(created if missing); an AFF4 container keeps its own")
      ->type_name("FILE");
  app.add_flag("-f,--foreground", options.foreground,
               "Stay in the foreground until unmounted (Ctrl-C unmounts)");
  app.add_flag("--allow-other", options.allow_other,
               "Let other users read the mount (needs user_allow_other in /etc/fuse.conf)");
  add_identity_options(app, options.identity, "by-");
  app.add_option("--name", options.draft.actor.name,
                 "Custody log: your name (default: your certificate's CN)")
      ->type_name("TEXT");
  add_event_context_options(app, options.draft);
  app.add_option("--notes", options.draft.notes, "Custody log: free notes")->type_name("TEXT");
  return run_tool(app, argc, argv, [&] { return run(options, common); });
}
