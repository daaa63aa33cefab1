// Confinement of untrusted paths, and atomic installation of files.
#pragma once

#include <filesystem>
#include <vector>

#include "core/result.h"

namespace shoal {

// Resolves `requested` (absolute) against the real filesystem and returns its canonical form if
// it lies inside one of `roots`; otherwise an error naming the path. Symlinks in existing parent
// directories are resolved before the check, so a link cannot carry a path out of its root.
// The final component need not exist; `..` and empty names are rejected outright.
Result<std::filesystem::path> ConfinePath(const std::filesystem::path& requested,
                                          const std::vector<std::filesystem::path>& roots);

// A file written beside its destination and renamed over it only on Commit(): a reader sees
// the old file or the whole new one, never a part; a crash leaves at most a stray temporary
// (named .shoal-tmp-*). Dropped without Commit(), the temporary is removed.
class StagedFile {
 public:
  static Result<StagedFile> Create(const std::filesystem::path& dest, unsigned mode = 0644);
  StagedFile(StagedFile&& other) noexcept;
  StagedFile& operator=(StagedFile&&) = delete;
  ~StagedFile();

  int fd() const { return fd_; }
  const std::filesystem::path& dest() const { return dest_; }
  // fsync, set the mode, rename over the destination, fsync its directory.
  Status Commit();
  // Makes the staged file a second name of `source` (a hard link; one mount), so that Commit()
  // installs `source` itself: no bytes written, no space taken. The install and `source` are
  // then one file: a change to either is a change to both, and Commit()'s mode applies to both.
  // Refused, leaving the staged file as it was, where `source` already has other names with
  // another mode (two installs of one file cannot differ in mode), or where link(2) fails.
  Status LinkTo(const std::filesystem::path& source);

 private:
  StagedFile(std::filesystem::path dest, std::filesystem::path tmp, int fd, unsigned mode)
      : dest_(std::move(dest)), tmp_(std::move(tmp)), fd_(fd), mode_(mode) {}
  std::filesystem::path dest_, tmp_;
  int fd_ = -1;
  unsigned mode_ = 0644;
  bool committed_ = false;
};

// Copies `source` to `dest` atomically: writes a temporary file beside `dest`, fsyncs it, sets
// `mode`, renames it over `dest`, and fsyncs the directory. A reader sees the old file or the
// whole new one, never a part; a crash leaves at most a stray temporary (named .shoal-tmp-*).
// `may_share`: the copy may share `source`'s blocks (core/file_copy.h). `may_link`: the install
// may be `source` itself under a second name (StagedFile::LinkTo) where the copy cannot share
// blocks and a link works; else a copy.
Status InstallFileAtomically(const std::filesystem::path& source, const std::filesystem::path& dest,
                             unsigned mode = 0644, bool may_share = true, bool may_link = false);

// Writes `contents` to `path` atomically (same protocol as above).
Status WriteFileAtomically(const std::filesystem::path& path, std::string_view contents,
                           unsigned mode = 0644);

}  // namespace shoal
