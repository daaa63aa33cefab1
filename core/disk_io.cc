#include "core/disk_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <libtorrent/add_torrent_params.hpp>
#include <libtorrent/disk_buffer_holder.hpp>
#include <libtorrent/error_code.hpp>
#include <libtorrent/file_storage.hpp>
#include <libtorrent/hasher.hpp>
#include <libtorrent/peer_request.hpp>
#include <libtorrent/storage_defs.hpp>
#include <libtorrent/torrent_flags.hpp>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/piece_cache.h"

namespace shoal {
namespace lt = libtorrent;
namespace fs = std::filesystem;

namespace {
constexpr int kBlock = lt::default_block_size;
// Descriptors kept open across every torrent; past this the least recently used is closed.
constexpr int kMaxOpenFiles = 512;

lt::storage_error ErrnoError(int err, lt::file_index_t file, lt::operation_t op) {
  return lt::storage_error(lt::error_code(err, lt::generic_category()), file, op);
}

struct OpenFile {
  int fd = -1;
  bool writable = false;
  uint64_t last_use = 0;
};

// One torrent's files: descriptors opened on first use and kept, the SHA-256 of v2 blocks
// written since their piece was last hashed, and the blocks of pieces still being downloaded.
//
// A v2 piece lies in one file. Its blocks are held in memory until the piece is complete and
// hashed, then written with one pwrite (not one per 16 KiB block) and handed to the PieceCache,
// from which peers' requests and the digest pass read it. When more than `pending_limit` bytes
// are held, blocks of further pieces are written as they come.
class Storage {
 public:
  Storage(const lt::storage_params& p, std::shared_ptr<void> owner, PieceCache* cache,
          size_t& pending_bytes, size_t pending_limit)
      : files_(p.files),
        renamed_(p.mapped_files ? std::make_unique<lt::file_storage>(*p.mapped_files) : nullptr),
        save_path_(p.path),
        owner_(std::move(owner)),
        open_(static_cast<size_t>(p.files.num_files())),
        cache_(cache),
        pending_bytes_(pending_bytes),
        pending_limit_(pending_limit) {}
  ~Storage() {
    DropPending();
    CloseAll();
  }

  const lt::file_storage& files() const { return files_; }  // piece layout (original names)
  const lt::file_storage& named() const { return renamed_ ? *renamed_ : files_; }  // on-disk names
  std::string PathOf(lt::file_index_t i) const { return named().file_path(i, save_path_); }
  // A file's name in the PieceCache: its path, normalized as the digest pass normalizes it.
  std::string CacheKey(lt::file_index_t i) const {
    return fs::path(PathOf(i)).lexically_normal().string();
  }

  // Reads or writes `len` bytes at (piece, offset) across the torrent's files. Pad files read as
  // zeros and swallow writes. A read past the end of a file fails with eof. Returns false and
  // fills `error` on failure.
  bool Transfer(lt::piece_index_t piece, int offset, char* buf, int len, bool write,
                lt::storage_error& error, uint64_t now, int& open_count);

  // Writes a block: into the piece's buffer when it can be held, else to the file.
  bool Write(lt::piece_index_t piece, int offset, const char* buf, int len,
             lt::storage_error& error, uint64_t now, int& open_count);
  // Reads from the piece's buffer, the PieceCache or the file, whichever holds the bytes.
  bool Read(lt::piece_index_t piece, int offset, char* buf, int len, lt::storage_error& error,
            uint64_t now, int& open_count);
  // Writes the held blocks of `piece` to its file (the whole piece goes to the PieceCache).
  bool Flush(lt::piece_index_t piece, lt::storage_error& error, uint64_t now, int& open_count);
  bool FlushAll(lt::storage_error& error, uint64_t now, int& open_count);
  // Forgets a piece's held blocks and cached bytes (its hash check failed).
  void ClearPiece(lt::piece_index_t piece);
  // Drops the torrent's pieces from the PieceCache (it leaves the session).
  void ForgetCached();

  // Remembers the SHA-256 of a v2 block just written at (piece, offset).
  void RememberBlockHash(lt::piece_index_t piece, int offset, const char* buf, int len);
  // The remembered hash of block `block` of `piece`, if any.
  const lt::sha256_hash* BlockHash(lt::piece_index_t piece, int block) const;
  void ForgetPiece(lt::piece_index_t piece) { hashes_.erase(static_cast<int>(piece)); }

  int CloseAll();  // returns how many were open
  bool CloseOldest(uint64_t& oldest_use);
  uint64_t OldestUse() const;
  bool AnyFileExists() const;
  std::vector<lt::open_file_state> Status() const;
  lt::storage_error DeleteFiles();
  lt::storage_error Rename(lt::file_index_t i, const std::string& name);

 private:
  int Open(lt::file_index_t i, bool write, lt::storage_error& error, uint64_t now, int& open_count);
  // Where a v2 piece lies: its file's cache key and the piece's offset in that file. Empty key
  // when the piece cannot be held (a v1 torrent, a pad file).
  std::pair<const std::string*, uint64_t> PieceHome(lt::piece_index_t piece);
  void DropPending();

  struct Pending {
    std::shared_ptr<PieceCache::Piece> bytes;
    std::vector<bool> present;  // per block
    int count = 0;              // blocks present
  };

  const lt::file_storage& files_;
  std::unique_ptr<lt::file_storage> renamed_;
  std::string save_path_;
  std::shared_ptr<void> owner_;  // the torrent, kept alive while its storage is
  std::vector<OpenFile> open_;
  struct PieceHashes {
    std::vector<lt::sha256_hash> hash;
    std::vector<bool> have;
  };
  std::unordered_map<int, PieceHashes> hashes_;
  PieceCache* cache_;
  std::unordered_map<int, Pending> pending_;
  size_t& pending_bytes_;  // over every storage of the disk back end
  size_t pending_limit_;
  std::vector<std::string> cache_keys_;  // per file, normalized path; filled on first use
};

std::pair<const std::string*, uint64_t> Storage::PieceHome(lt::piece_index_t piece) {
  if (!cache_ || !files_.v2()) return {nullptr, 0};
  const int size = files_.piece_size2(piece);
  if (size <= 0) return {nullptr, 0};
  const std::vector<lt::file_slice> slices = files_.map_block(piece, 0, size);
  if (slices.size() != 1 || files_.pad_file_at(slices[0].file_index)) return {nullptr, 0};
  const auto i = static_cast<size_t>(static_cast<int>(slices[0].file_index));
  if (cache_keys_.size() <= i) cache_keys_.resize(static_cast<size_t>(files_.num_files()));
  std::string& key = cache_keys_[i];
  if (key.empty()) key = CacheKey(slices[0].file_index);
  return {&key, static_cast<uint64_t>(slices[0].offset)};
}

bool Storage::Write(lt::piece_index_t piece, int offset, const char* buf, int len,
                    lt::storage_error& error, uint64_t now, int& open_count) {
  const int block = offset / kBlock;
  auto it = pending_.find(static_cast<int>(piece));
  if (it == pending_.end() && offset % kBlock == 0 && pending_bytes_ < pending_limit_ &&
      PieceHome(piece).first) {
    const int size = files_.piece_size2(piece);
    // Without memory for it the piece goes straight to the file, below.
    if (auto bytes = cache_->NewPiece(static_cast<size_t>(size))) {
      Pending p;
      p.bytes = std::move(bytes);
      p.present.assign(static_cast<size_t>(files_.blocks_in_piece2(piece)), false);
      pending_bytes_ += static_cast<size_t>(size);
      it = pending_.emplace(static_cast<int>(piece), std::move(p)).first;
    }
  }
  if (it != pending_.end() && offset % kBlock == 0 &&
      offset + len <= static_cast<int>(it->second.bytes->size) &&
      (len == kBlock || offset + len == static_cast<int>(it->second.bytes->size))) {
    Pending& p = it->second;
    std::memcpy(p.bytes->data.get() + offset, buf, static_cast<size_t>(len));
    if (!p.present[static_cast<size_t>(block)]) ++p.count;
    p.present[static_cast<size_t>(block)] = true;
    return true;
  }
  // An odd-sized write, or no buffer: what the piece holds goes to the file first, then this.
  if (it != pending_.end() && !Flush(piece, error, now, open_count)) return false;
  // A copy of the piece held from an earlier attempt is no longer what the file holds.
  if (auto [key, at] = PieceHome(piece); key) cache_->Erase(*key, at);
  return Transfer(piece, offset, const_cast<char*>(buf), len, /*write=*/true, error, now,
                  open_count);
}

bool Storage::Read(lt::piece_index_t piece, int offset, char* buf, int len,
                   lt::storage_error& error, uint64_t now, int& open_count) {
  if (auto it = pending_.find(static_cast<int>(piece)); it != pending_.end()) {
    const Pending& p = it->second;
    bool held = offset >= 0 && offset + len <= static_cast<int>(p.bytes->size);
    for (int b = offset / kBlock; held && b * kBlock < offset + len; ++b)
      held = p.present[static_cast<size_t>(b)];
    if (held) {
      std::memcpy(buf, p.bytes->data.get() + offset, static_cast<size_t>(len));
      return true;
    }
    if (!Flush(piece, error, now, open_count)) return false;  // part is held, part on disk
  }
  if (auto [key, at] = PieceHome(piece);
      key && cache_->Read(*key, at + static_cast<uint64_t>(offset), buf, static_cast<size_t>(len)))
    return true;
  return Transfer(piece, offset, buf, len, /*write=*/false, error, now, open_count);
}

bool Storage::Flush(lt::piece_index_t piece, lt::storage_error& error, uint64_t now,
                    int& open_count) {
  auto it = pending_.find(static_cast<int>(piece));
  if (it == pending_.end()) return true;
  Pending p = std::move(it->second);
  pending_.erase(it);
  pending_bytes_ -= p.bytes->size;
  const int blocks = static_cast<int>(p.present.size());
  const int size = static_cast<int>(p.bytes->size);
  for (int b = 0; b < blocks;) {  // one pwrite per run of held blocks: the whole piece, usually
    if (!p.present[static_cast<size_t>(b)]) {
      ++b;
      continue;
    }
    int e = b;
    while (e < blocks && p.present[static_cast<size_t>(e)]) ++e;
    const int from = b * kBlock, to = std::min(size, e * kBlock);
    if (!Transfer(piece, from, p.bytes->data.get() + from, to - from, /*write=*/true, error, now,
                  open_count))
      return false;
    b = e;
  }
  // Only a whole piece is held; a partial one replaces nothing (an earlier copy goes).
  if (auto [key, at] = PieceHome(piece); key) {
    if (p.count == blocks)
      cache_->Put(*key, at, std::move(p.bytes));
    else
      cache_->Erase(*key, at);
  }
  return true;
}

bool Storage::FlushAll(lt::storage_error& error, uint64_t now, int& open_count) {
  while (!pending_.empty())
    if (!Flush(lt::piece_index_t(pending_.begin()->first), error, now, open_count)) return false;
  return true;
}

void Storage::ClearPiece(lt::piece_index_t piece) {
  if (auto it = pending_.find(static_cast<int>(piece)); it != pending_.end()) {
    pending_bytes_ -= it->second.bytes->size;
    pending_.erase(it);
  }
  if (auto [key, at] = PieceHome(piece); key) cache_->Erase(*key, at);
  ForgetPiece(piece);
}

void Storage::ForgetCached() {
  if (!cache_) return;
  for (lt::file_index_t i : files_.file_range())
    if (!files_.pad_file_at(i)) cache_->ErasePath(CacheKey(i));
}

void Storage::DropPending() {
  for (auto& [piece, p] : pending_) pending_bytes_ -= p.bytes->size;
  pending_.clear();
}

int Storage::Open(lt::file_index_t i, bool write, lt::storage_error& error, uint64_t now,
                  int& open_count) {
  OpenFile& f = open_[static_cast<size_t>(static_cast<int>(i))];
  f.last_use = now;
  if (f.fd >= 0 && (f.writable || !write)) return f.fd;
  if (f.fd >= 0) {  // open read-only, now written to: reopen read-write
    ::close(f.fd);
    f.fd = -1;
    --open_count;
  }
  const std::string path = PathOf(i);
  const int flags = (write ? O_RDWR | O_CREAT : O_RDONLY) | O_CLOEXEC;
  int fd = ::open(path.c_str(), flags, 0644);
  if (fd < 0 && write && errno == ENOENT) {
    std::error_code ec;
    fs::create_directories(fs::path(path).parent_path(), ec);
    fd = ::open(path.c_str(), flags, 0644);
  }
  if (fd < 0) {
    error = ErrnoError(errno, i, lt::operation_t::file_open);
    return -1;
  }
  f.fd = fd;
  f.writable = write;
  ++open_count;
  return fd;
}

bool Storage::Transfer(lt::piece_index_t piece, int offset, char* buf, int len, bool write,
                       lt::storage_error& error, uint64_t now, int& open_count) {
  for (const lt::file_slice& slice : files_.map_block(piece, offset, len)) {
    char* p = buf;
    buf += slice.size;
    if (files_.pad_file_at(slice.file_index)) {
      if (!write) std::memset(p, 0, static_cast<size_t>(slice.size));
      continue;
    }
    int fd = Open(slice.file_index, write, error, now, open_count);
    if (fd < 0) return false;
    int64_t done = 0;
    while (done < slice.size) {
      const size_t want = static_cast<size_t>(slice.size - done);
      const off_t at = static_cast<off_t>(slice.offset + done);
      ssize_t n = write ? ::pwrite(fd, p + done, want, at) : ::pread(fd, p + done, want, at);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        error = ErrnoError(errno, slice.file_index,
                           write ? lt::operation_t::file_write : lt::operation_t::file_read);
        return false;
      }
      if (n == 0) {  // reading past the end (a partial file); pwrite never returns 0 here
        error = lt::storage_error(boost::asio::error::eof, slice.file_index,
                                  lt::operation_t::file_read);
        return false;
      }
      done += n;
    }
  }
  return true;
}

void Storage::RememberBlockHash(lt::piece_index_t piece, int offset, const char* buf, int len) {
  if (!files_.v2() || offset % kBlock != 0) return;
  const int len2 = std::min(len, files_.piece_size2(piece) - offset);
  if (len2 <= 0) return;
  const int blocks = files_.blocks_in_piece2(piece);
  const int block = offset / kBlock;
  if (block >= blocks) return;
  PieceHashes& h = hashes_[static_cast<int>(piece)];
  if (h.hash.empty()) {
    h.hash.resize(static_cast<size_t>(blocks));
    h.have.resize(static_cast<size_t>(blocks));
  }
  h.hash[static_cast<size_t>(block)] = lt::hasher256(buf, len2).final();
  h.have[static_cast<size_t>(block)] = true;
}

const lt::sha256_hash* Storage::BlockHash(lt::piece_index_t piece, int block) const {
  auto it = hashes_.find(static_cast<int>(piece));
  if (it == hashes_.end() || block >= static_cast<int>(it->second.have.size()) ||
      !it->second.have[static_cast<size_t>(block)])
    return nullptr;
  return &it->second.hash[static_cast<size_t>(block)];
}

int Storage::CloseAll() {
  int closed = 0;
  for (OpenFile& f : open_) {
    if (f.fd < 0) continue;
    ::close(f.fd);
    f = OpenFile{};
    ++closed;
  }
  return closed;
}

uint64_t Storage::OldestUse() const {
  uint64_t oldest = UINT64_MAX;
  for (const OpenFile& f : open_)
    if (f.fd >= 0) oldest = std::min(oldest, f.last_use);
  return oldest;
}

bool Storage::CloseOldest(uint64_t& oldest_use) {
  for (OpenFile& f : open_) {
    if (f.fd >= 0 && f.last_use == oldest_use) {
      ::close(f.fd);
      f = OpenFile{};
      return true;
    }
  }
  return false;
}

bool Storage::AnyFileExists() const {
  for (lt::file_index_t i : files_.file_range()) {
    if (files_.pad_file_at(i) || files_.file_size(i) == 0) continue;
    struct stat st {};
    if (::stat(PathOf(i).c_str(), &st) == 0) return true;
  }
  return false;
}

std::vector<lt::open_file_state> Storage::Status() const {
  std::vector<lt::open_file_state> out;
  for (size_t i = 0; i < open_.size(); ++i) {
    if (open_[i].fd < 0) continue;
    out.push_back(
        {lt::file_index_t(static_cast<int>(i)),
         open_[i].writable ? lt::file_open_mode::read_write : lt::file_open_mode::read_only,
         lt::time_point{}});
  }
  return out;
}

lt::storage_error Storage::DeleteFiles() {
  CloseAll();
  hashes_.clear();
  DropPending();
  ForgetCached();
  cache_keys_.clear();
  lt::storage_error error;
  for (lt::file_index_t i : files_.file_range()) {
    if (files_.pad_file_at(i)) continue;
    if (::unlink(PathOf(i).c_str()) != 0 && errno != ENOENT && !error)
      error = ErrnoError(errno, i, lt::operation_t::file_remove);
  }
  return error;
}

lt::storage_error Storage::Rename(lt::file_index_t i, const std::string& name) {
  OpenFile& f = open_[static_cast<size_t>(static_cast<int>(i))];
  if (f.fd >= 0) {
    ::close(f.fd);
    f = OpenFile{};
  }
  const std::string from = PathOf(i);
  if (cache_) cache_->ErasePath(CacheKey(i));
  cache_keys_.clear();
  const std::string to =
      fs::path(name).is_absolute() ? name : (fs::path(save_path_) / name).string();
  if (::rename(from.c_str(), to.c_str()) != 0 && errno != ENOENT)
    return ErrnoError(errno, i, lt::operation_t::file_rename);
  if (!renamed_) renamed_ = std::make_unique<lt::file_storage>(files_);
  renamed_->rename_file(i, name);
  return {};
}

// v2 resume data "contains" pieces when it says so, or when it is a seed-mode add.
bool ContainsResumeData(const lt::add_torrent_params& rd) {
  return !rd.have_pieces.empty() || bool(rd.flags & lt::torrent_flags::seed_mode);
}

class ShoalDiskIo final : public lt::disk_interface, public lt::buffer_allocator_interface {
 public:
  ShoalDiskIo(lt::io_context& ioc, std::shared_ptr<PieceCache> cache)
      : ioc_(ioc), cache_(std::move(cache)) {}
  ~ShoalDiskIo() override { abort(true); }

  lt::storage_holder new_torrent(const lt::storage_params& p,
                                 const std::shared_ptr<void>& torrent) override {
    int idx;
    if (free_slots_.empty()) {
      idx = static_cast<int>(storages_.size());
      storages_.emplace_back();
    } else {
      idx = free_slots_.back();
      free_slots_.pop_back();
    }
    storages_[static_cast<size_t>(idx)] =
        std::make_unique<Storage>(p, torrent, cache_.get(), pending_bytes_, kPendingLimit);
    return lt::storage_holder(lt::storage_index_t(idx), *this);
  }

  void remove_torrent(lt::storage_index_t idx) override {
    auto& slot = storages_[Slot(idx)];
    if (slot) {
      FlushAndClose(*slot);
      slot->ForgetCached();
    }
    slot.reset();
    free_slots_.push_back(static_cast<int>(idx));
  }

  void async_read(lt::storage_index_t storage, const lt::peer_request& r,
                  std::function<void(lt::disk_buffer_holder, const lt::storage_error&)> handler,
                  lt::disk_job_flags_t) override {
    char* buf = static_cast<char*>(std::malloc(static_cast<size_t>(r.length)));
    lt::storage_error error;
    if (!buf) {
      error = lt::storage_error(lt::errors::make_error_code(lt::errors::no_memory),
                                lt::operation_t::alloc_cache_piece);
      Post([h = std::move(handler), error, this]() mutable {
        h(lt::disk_buffer_holder(*this, nullptr, 0), error);
      });
      return;
    }
    Get(storage).Read(r.piece, r.start, buf, r.length, error, Tick(), open_count_);
    LimitOpenFiles();
    Post([h = std::move(handler), holder = lt::disk_buffer_holder(*this, buf, r.length),
          error]() mutable { h(std::move(holder), error); });
  }

  bool async_write(lt::storage_index_t storage, const lt::peer_request& r, const char* buf,
                   std::shared_ptr<lt::disk_observer>,
                   std::function<void(const lt::storage_error&)> handler,
                   lt::disk_job_flags_t) override {
    Storage& st = Get(storage);
    lt::storage_error error;
    if (st.Write(r.piece, r.start, buf, r.length, error, Tick(), open_count_)) {
      st.RememberBlockHash(r.piece, r.start, buf, r.length);
    }
    LimitOpenFiles();
    Post([h = std::move(handler), error] { h(error); });
    return false;  // never a write queue to back off from
  }

  void async_hash(
      lt::storage_index_t storage, lt::piece_index_t piece, lt::span<lt::sha256_hash> block_hashes,
      lt::disk_job_flags_t flags,
      std::function<void(lt::piece_index_t, const lt::sha1_hash&, const lt::storage_error&)>
          handler) override {
    Storage& st = Get(storage);
    const lt::file_storage& files = st.files();
    const bool v1 = bool(flags & lt::disk_interface::v1_hash);
    const int piece_size = v1 ? files.piece_size(piece) : 0;
    const int piece_size2 = block_hashes.empty() ? 0 : files.piece_size2(piece);
    const int blocks1 = (piece_size + kBlock - 1) / kBlock;
    const int blocks2 = block_hashes.empty() ? 0 : files.blocks_in_piece2(piece);
    lt::hasher sha1;
    lt::storage_error error;
    scratch_.resize(kBlock);
    for (int i = 0, offset = 0; i < std::max(blocks1, blocks2) && !error; ++i, offset += kBlock) {
      const int len1 = v1 ? std::min(kBlock, piece_size - offset) : 0;
      const int len2 = i < blocks2 ? std::min(kBlock, piece_size2 - offset) : 0;
      const lt::sha256_hash* known = i < blocks2 ? st.BlockHash(piece, i) : nullptr;
      if (known && !v1) {  // written here since the last check: no read-back
        block_hashes[i] = *known;
        continue;
      }
      const int len = std::max(len1, len2);
      if (!st.Read(piece, offset, scratch_.data(), len, error, Tick(), open_count_)) break;
      if (v1) sha1.update(scratch_.data(), len1);
      if (i < blocks2) block_hashes[i] = lt::hasher256(scratch_.data(), len2).final();
    }
    // The piece is complete: it goes to the file in one write (a failed check clears it later).
    if (!error) st.Flush(piece, error, Tick(), open_count_);
    // Passed or failed, the piece's blocks are hashed afresh if they are ever written again.
    st.ForgetPiece(piece);
    LimitOpenFiles();
    const lt::sha1_hash hash = v1 ? sha1.final() : lt::sha1_hash();
    Post([h = std::move(handler), piece, hash, error] { h(piece, hash, error); });
  }

  void async_hash2(
      lt::storage_index_t storage, lt::piece_index_t piece, int offset, lt::disk_job_flags_t,
      std::function<void(lt::piece_index_t, const lt::sha256_hash&, const lt::storage_error&)>
          handler) override {
    Storage& st = Get(storage);
    lt::storage_error error;
    lt::sha256_hash hash;
    if (const lt::sha256_hash* known = st.BlockHash(piece, offset / kBlock);
        known && offset % kBlock == 0) {
      hash = *known;
    } else {
      const int len = std::min(kBlock, st.files().piece_size2(piece) - offset);
      scratch_.resize(kBlock);
      if (st.Read(piece, offset, scratch_.data(), len, error, Tick(), open_count_))
        hash = lt::hasher256(scratch_.data(), len).final();
      LimitOpenFiles();
    }
    Post([h = std::move(handler), piece, hash, error] { h(piece, hash, error); });
  }

  void async_move_storage(
      lt::storage_index_t, std::string path, lt::move_flags_t,
      std::function<void(lt::status_t, const std::string&, const lt::storage_error&)> handler)
      override {
    // Shoal never moves a torrent's storage (objects live in one cache directory).
    lt::storage_error error(lt::error_code(ENOTSUP, lt::generic_category()),
                            lt::operation_t::file_rename);
    Post([h = std::move(handler), path = std::move(path), error] {
      h(lt::status_t::fatal_disk_error, path, error);
    });
  }

  void async_release_files(lt::storage_index_t storage, std::function<void()> handler) override {
    FlushAndClose(Get(storage));
    if (handler) Post(std::move(handler));
  }

  void async_check_files(
      lt::storage_index_t storage, const lt::add_torrent_params* resume,
      lt::aux::vector<std::string, lt::file_index_t>,
      std::function<void(lt::status_t, const lt::storage_error&)> handler) override {
    Storage& st = Get(storage);
    lt::status_t status = lt::status_t::no_error;
    if (!resume || !ContainsResumeData(*resume)) {
      // Without resume data, files already on disk must be hashed before they count.
      if (st.AnyFileExists()) status = lt::status_t::need_full_check;
    } else if (!resume->have_pieces.none_set() && !st.AnyFileExists()) {
      status = lt::status_t::need_full_check;  // resume data for files that are gone
    }
    Post([h = std::move(handler), status] { h(status, lt::storage_error()); });
  }

  void async_stop_torrent(lt::storage_index_t storage, std::function<void()> handler) override {
    FlushAndClose(Get(storage));
    if (handler) Post(std::move(handler));
  }

  void async_rename_file(
      lt::storage_index_t storage, lt::file_index_t index, std::string name,
      std::function<void(const std::string&, lt::file_index_t, const lt::storage_error&)> handler)
      override {
    Storage& st = Get(storage);
    lt::storage_error error;
    if (st.FlushAll(error, Tick(), open_count_)) error = st.Rename(index, name);
    open_count_ -= st.CloseAll();
    Post([h = std::move(handler), name = std::move(name), index, error] { h(name, index, error); });
  }

  void async_delete_files(lt::storage_index_t storage, lt::remove_flags_t,
                          std::function<void(const lt::storage_error&)> handler) override {
    Storage& st = Get(storage);
    open_count_ -= st.CloseAll();
    lt::storage_error error = st.DeleteFiles();
    Post([h = std::move(handler), error] { h(error); });
  }

  void async_set_file_priority(
      lt::storage_index_t, lt::aux::vector<lt::download_priority_t, lt::file_index_t> prio,
      std::function<void(const lt::storage_error&,
                         lt::aux::vector<lt::download_priority_t, lt::file_index_t>)>
          handler) override {
    // Files are sparse and created on first write: priorities change nothing on disk.
    Post([h = std::move(handler), prio = std::move(prio)]() mutable {
      h(lt::storage_error(), std::move(prio));
    });
  }

  void async_clear_piece(lt::storage_index_t storage, lt::piece_index_t index,
                         std::function<void(lt::piece_index_t)> handler) override {
    Get(storage).ClearPiece(index);
    Post([h = std::move(handler), index] { h(index); });
  }

  void update_stats_counters(lt::counters&) const override {}

  std::vector<lt::open_file_state> get_status(lt::storage_index_t storage) const override {
    const auto& slot = storages_[Slot(storage)];
    return slot ? slot->Status() : std::vector<lt::open_file_state>{};
  }

  void abort(bool) override {
    for (auto& slot : storages_)
      if (slot) FlushAndClose(*slot);
  }

  void submit_jobs() override {}  // every job already ran when it was issued
  void settings_updated() override {}

  // lt::buffer_allocator_interface: read buffers come from malloc.
  void free_disk_buffer(char* buf) override { std::free(buf); }

 private:
  static size_t Slot(lt::storage_index_t idx) { return static_cast<size_t>(static_cast<int>(idx)); }
  Storage& Get(lt::storage_index_t idx) { return *storages_[Slot(idx)]; }

  // Held blocks reach the file before its descriptors close (release, stop, shutdown). A write
  // that fails here has no job left to report it on; the piece is then fetched again.
  void FlushAndClose(Storage& st) {
    lt::storage_error ignored;
    st.FlushAll(ignored, Tick(), open_count_);
    open_count_ -= st.CloseAll();
  }
  uint64_t Tick() { return ++clock_; }

  // Handlers never run inside the call that issued the job: libtorrent expects them later.
  template <typename F>
  void Post(F&& f) {
    boost::asio::post(ioc_, std::forward<F>(f));
  }

  void LimitOpenFiles() {
    while (open_count_ > kMaxOpenFiles) {
      Storage* victim = nullptr;
      uint64_t oldest = UINT64_MAX;
      for (auto& slot : storages_) {
        if (!slot) continue;
        uint64_t use = slot->OldestUse();
        if (use < oldest) {
          oldest = use;
          victim = slot.get();
        }
      }
      if (!victim || !victim->CloseOldest(oldest)) break;
      --open_count_;
    }
  }

  // Blocks held for pieces not yet complete, over every torrent: 32 MiB is a second or two of
  // a 100 Mbit/s node's downloads in flight. Past it, blocks of further pieces go straight to
  // their files.
  static constexpr size_t kPendingLimit = 32 << 20;

  lt::io_context& ioc_;
  std::shared_ptr<PieceCache> cache_;
  size_t pending_bytes_ = 0;
  std::vector<std::unique_ptr<Storage>> storages_;
  std::vector<int> free_slots_;
  std::vector<char> scratch_;
  int open_count_ = 0;
  uint64_t clock_ = 0;
};
}  // namespace

lt::disk_io_constructor_type ShoalDiskIoConstructor(std::shared_ptr<PieceCache> cache) {
  return [cache = std::move(cache)](lt::io_context& ioc, const lt::settings_interface&,
                                    lt::counters&) -> std::unique_ptr<lt::disk_interface> {
    return std::make_unique<ShoalDiskIo>(ioc, cache);
  };
}

}  // namespace shoal
