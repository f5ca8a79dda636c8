// file_limit: the baseline of bench/upload — what the node's storage does for an upload, minus
// HTTP. Writes N files of B bytes each into a directory (run.py puts it on the disk holding the
// node's data dir), one thread per file when N > 1 (N parallel uploads), one thread otherwise.
// Each file is what media/storage/filesystem_store.cpp's FsBlobWriter does with a PUT body: a
// temporary file created O_EXCL, the bytes hashed with OpenSSL SHA-256 as they come and written
// with pwrite in pieces of --chunk bytes (64 KiB: the node's read size), then fsync, rename to
// the final name and fsync of the directory. The bytes are bench::ByteStream(seed, i): the same
// as upload_load's upload i, so the SHA-256s must match the node's (run.py checks).
//
// Reports, as one JSON document on stdout: MB/s (10^6) and MiB/s over the wall time from the
// first byte generated to the last rename, each file's time, SHA-256 and where its time went
// (generating, hashing, write, fsync + rename), and this process's CPU time.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench/common/load_report.hpp"
#include "bench/upload/byte_stream.hpp"

namespace {

using omnicast::bench::status_kib;

using Clock = std::chrono::steady_clock;
using json = nlohmann::json;

struct Options {
  std::string dir;
  unsigned files = 1;
  std::uint64_t bytes = 256ull << 20;
  std::size_t chunk = 64 * 1024;
  unsigned threads = 0;  // 0: one per file when files > 1, else 1
  std::uint64_t seed = 1;
  bool hash = true;
  bool fsync = true;
  bool keep = false;
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "file_limit: %s\n"
               "usage: file_limit --dir DIR [--files 1] [--bytes 268435456] [--chunk 65536] [--threads 0]\n"
               "                  [--seed 1] [--no-hash] [--no-fsync] [--keep]\n",
               why);
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(("missing value for " + a).c_str());
      return argv[++i];
    };
    try {
      if (a == "--dir") o.dir = value();
      else if (a == "--files") o.files = static_cast<unsigned>(std::stoul(value()));
      else if (a == "--bytes") o.bytes = std::stoull(value());
      else if (a == "--chunk") o.chunk = std::stoul(value());
      else if (a == "--threads") o.threads = static_cast<unsigned>(std::stoul(value()));
      else if (a == "--seed") o.seed = std::stoull(value());
      else if (a == "--no-hash") o.hash = false;
      else if (a == "--no-fsync") o.fsync = false;
      else if (a == "--keep") o.keep = true;
      else if (a == "-h" || a == "--help") usage("help");
      else usage(("unknown argument " + a).c_str());
    } catch (const std::logic_error&) {
      usage(("bad value for " + a).c_str());
    }
  }
  if (o.dir.empty()) usage("--dir is required");
  if (o.files == 0 || o.bytes == 0 || o.chunk == 0) usage("--files, --bytes and --chunk must be > 0");
  if (o.threads == 0) o.threads = o.files > 1 ? o.files : 1;
  o.threads = std::min(o.threads, o.files);
  return o;
}

double secs(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

struct FileResult {
  std::string name;
  std::string sha256;
  std::string error;
  double start_s = 0, end_s = 0;  // from the common start
  double gen_s = 0, hash_s = 0, write_s = 0, sync_s = 0;
};

std::string hex(const unsigned char* d, unsigned n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  for (unsigned i = 0; i < n; ++i) {
    s.push_back(kHex[d[i] >> 4]);
    s.push_back(kHex[d[i] & 15]);
  }
  return s;
}

// One file, as FsBlobWriter stores an upload.
void write_one(const Options& o, int dirfd, unsigned index, char* buf, Clock::time_point t0, FileResult& r) {
  r.name = "limit-" + std::to_string(index) + ".blob";
  const std::string temp = "." + r.name + ".tmp";
  r.start_s = secs(Clock::now() - t0);
  const int fd = ::openat(dirfd, temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
  if (fd < 0) {
    r.error = std::string("create: ") + std::strerror(errno);
    return;
  }
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) != 1) r.error = "EVP_DigestInit_ex failed";
  const omnicast::bench::ByteStream stream(o.seed, index);
  std::uint64_t at = 0;
  while (r.error.empty() && at < o.bytes) {
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(o.chunk, o.bytes - at));
    const auto a = Clock::now();
    stream.fill(at, buf, n);
    const auto b = Clock::now();
    if (o.hash && EVP_DigestUpdate(ctx, buf, n) != 1) r.error = "EVP_DigestUpdate failed";
    const auto c = Clock::now();
    std::size_t done = 0;
    while (r.error.empty() && done < n) {
      const ssize_t w = ::pwrite(fd, buf + done, n - done, static_cast<off_t>(at + done));
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) r.error = std::string("pwrite: ") + (w < 0 ? std::strerror(errno) : "wrote nothing");
      else done += static_cast<std::size_t>(w);
    }
    const auto d = Clock::now();
    r.gen_s += secs(b - a);
    r.hash_s += secs(c - b);
    r.write_s += secs(d - c);
    at += n;
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdn = 0;
  if (r.error.empty() && o.hash) {
    if (EVP_DigestFinal_ex(ctx, md, &mdn) != 1) r.error = "EVP_DigestFinal_ex failed";
    else r.sha256 = hex(md, mdn);
  }
  EVP_MD_CTX_free(ctx);
  const auto s0 = Clock::now();
  if (r.error.empty() && o.fsync && ::fsync(fd) != 0) r.error = std::string("fsync: ") + std::strerror(errno);
  ::close(fd);
  if (r.error.empty() && ::renameat(dirfd, temp.c_str(), dirfd, r.name.c_str()) != 0)
    r.error = std::string("rename: ") + std::strerror(errno);
  if (r.error.empty() && o.fsync && ::fsync(dirfd) != 0) r.error = std::string("fsync dir: ") + std::strerror(errno);
  r.sync_s = secs(Clock::now() - s0);
  r.end_s = secs(Clock::now() - t0);
  if (!r.error.empty()) ::unlinkat(dirfd, temp.c_str(), 0);
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  const int dirfd = ::open(o.dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0) {
    std::fprintf(stderr, "file_limit: cannot open %s: %s\n", o.dir.c_str(), std::strerror(errno));
    return 1;
  }
  std::vector<FileResult> results(o.files);
  std::vector<std::unique_ptr<char[]>> buffers;
  for (unsigned t = 0; t < o.threads; ++t) {
    buffers.push_back(std::make_unique<char[]>(o.chunk));
    std::memset(buffers.back().get(), 0, o.chunk);  // touched before the clock starts
  }

  // Threads take files in turn; all start together after a barrier.
  std::atomic<unsigned> next{0};
  Clock::time_point t0{};
  std::barrier start(static_cast<std::ptrdiff_t>(o.threads), [&]() noexcept { t0 = Clock::now(); });
  rusage ru0{};
  getrusage(RUSAGE_SELF, &ru0);
  auto work = [&](unsigned t) {
    start.arrive_and_wait();
    for (unsigned i; (i = next.fetch_add(1)) < o.files;) write_one(o, dirfd, i, buffers[t].get(), t0, results[i]);
  };
  std::vector<std::thread> threads;
  for (unsigned t = 1; t < o.threads; ++t) threads.emplace_back(work, t);
  work(0);
  for (auto& th : threads) th.join();
  const auto t1 = Clock::now();
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);

  const double wall = secs(t1 - t0);
  const double total = static_cast<double>(o.bytes) * o.files;
  json files = json::array();
  int errors = 0;
  double gen = 0, hash = 0, write = 0, sync = 0;
  for (unsigned i = 0; i < o.files; ++i) {
    const auto& r = results[i];
    if (!r.error.empty()) ++errors;
    gen += r.gen_s;
    hash += r.hash_s;
    write += r.write_s;
    sync += r.sync_s;
    json f = {{"index", i},           {"seconds", r.end_s - r.start_s}, {"start_s", r.start_s}, {"end_s", r.end_s},
              {"sha256", r.sha256},   {"gen_s", r.gen_s},               {"hash_s", r.hash_s},   {"write_s", r.write_s},
              {"fsync_rename_s", r.sync_s}};
    f["mib_per_s"] = static_cast<double>(o.bytes) / (1 << 20) / std::max(1e-9, r.end_s - r.start_s);
    if (!r.error.empty()) f["error"] = r.error;
    files.push_back(std::move(f));
    if (!o.keep) ::unlinkat(dirfd, r.name.c_str(), 0);
  }
  if (!o.keep) ::fsync(dirfd);
  ::close(dirfd);
  auto tv = [](const timeval& a, const timeval& b) {
    return static_cast<double>(b.tv_sec - a.tv_sec) + static_cast<double>(b.tv_usec - a.tv_usec) / 1e6;
  };
  json out = {{"mode", "file_limit"},
              {"files", o.files},
              {"bytes", o.bytes},
              {"total_bytes", o.bytes * o.files},
              {"chunk", o.chunk},
              {"threads", o.threads},
              {"seed", o.seed},
              {"hash", o.hash},
              {"fsync", o.fsync},
              {"wall_s", wall},
              {"mb_per_s", total / 1e6 / wall},
              {"mib_per_s", total / (1 << 20) / wall},
              {"errors", errors},
              {"time_sums_s", {{"gen", gen}, {"hash", hash}, {"write", write}, {"fsync_rename", sync}}},
              {"cpu_user_s", tv(ru0.ru_utime, ru.ru_utime)},
              {"cpu_sys_s", tv(ru0.ru_stime, ru.ru_stime)},
              {"vm_hwm_kib", status_kib("VmHWM")},
              {"per_file", files}};
  std::cout << out.dump(2) << std::endl;
  return errors ? 1 : 0;
}
