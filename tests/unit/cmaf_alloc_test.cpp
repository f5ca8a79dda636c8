// Allocations on the packager's steady path. This binary replaces the global operator new with a
// counting one (the packager's own C++ allocations) and, outside sanitizer builds, interposes the
// C allocator so libavformat's av_malloc/av_realloc calls are counted too.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <new>

#include "media/cmaf/packager.hpp"
#include "tests/support/counting_new.hpp"
#include "tests/unit/cmaf_test_media.hpp"

namespace {

std::atomic<std::uint64_t> g_c_allocations{0};

}  // namespace

// The sanitizers own malloc in their builds; elsewhere the executable's definitions take
// precedence over glibc's for every shared library, libav* included, and forward to glibc's own.
#if defined(__SANITIZE_ADDRESS__)
#define OMNICAST_COUNTS_C_ALLOCATIONS 0
#else
#define OMNICAST_COUNTS_C_ALLOCATIONS 1
extern "C" {
void* __libc_malloc(std::size_t);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void* __libc_memalign(std::size_t, std::size_t);

static void count_c_allocation() {
  if (omnicast::test::counting_allocations.load(std::memory_order_relaxed))
    g_c_allocations.fetch_add(1, std::memory_order_relaxed);
}
void* malloc(std::size_t size) noexcept {
  count_c_allocation();
  return __libc_malloc(size);
}
void* calloc(std::size_t n, std::size_t size) noexcept {
  count_c_allocation();
  return __libc_calloc(n, size);
}
void* realloc(void* p, std::size_t size) noexcept {
  count_c_allocation();
  return __libc_realloc(p, size);
}
int posix_memalign(void** out, std::size_t align, std::size_t size) noexcept {
  count_c_allocation();
  void* p = __libc_memalign(align, size);
  if (!p) return ENOMEM;
  *out = p;
  return 0;
}
}
#endif

namespace omnicast::test::cmaf {
namespace {

// Counts what comes out and keeps none of it, so that it allocates nothing itself.
class NullOutput : public media::cmaf::PackagerOutput {
 public:
  void on_init(const media::cmaf::InitSegment&) override { ++inits; }
  void on_part(const media::cmaf::Part& part) override {
    ++parts;
    bytes += part.bytes->size();
  }
  std::uint64_t inits = 0, parts = 0, bytes = 0;
};

TEST(CmafAllocations, SteadyStateFramesAllocateNothingInThePackager) {
  TempDir dir;
  FlvSpec spec;
  spec.seconds = 4;
  spec.bitrate = "2500k";
  const Stream s = demux_flv(make_flv(dir.path(), "alloc.flv", spec));
  ASSERT_FALSE(s.frames.empty());
  // Each pass continues the clock a little after the previous one ended, so no audio overlaps.
  const std::int64_t loop_ms = s.frames.back().dts_ms + 100;

  NullOutput out;
  media::cmaf::Packager packager({}, out);
  feed_configs(packager, s);
  // Warm-up: one pass lets every reused buffer reach its largest size.
  feed_frames(packager, s);

  struct Tally {
    std::uint64_t calls = 0, cpp = 0, c = 0, max_cpp = 0;
  } quiet, with_part;  // calls that emitted no part / a part
  for (int pass = 1; pass <= 3; ++pass) {
    for (const auto& f : s.frames) {
      auto frame = f.view();
      frame.dts_ms += pass * loop_ms;
      const auto parts_before = out.parts;
      omnicast::test::cpp_allocations = 0;
      g_c_allocations = 0;
      omnicast::test::counting_allocations = true;
      packager.on_frame(frame);
      omnicast::test::counting_allocations = false;
      Tally& t = out.parts == parts_before ? quiet : with_part;
      ++t.calls;
      t.cpp += omnicast::test::cpp_allocations;
      t.c += g_c_allocations;
      t.max_cpp = std::max<std::uint64_t>(t.max_cpp, omnicast::test::cpp_allocations);
    }
  }
  EXPECT_EQ(out.inits, 1u);
  EXPECT_EQ(packager.counters().frames_dropped_total(), 0u);
  ASSERT_GT(with_part.calls, 30u);

  // The packager's own code: nothing per frame; per part, the part's byte vector and its
  // shared_ptr.
  EXPECT_EQ(quiet.cpp, 0u);
  EXPECT_EQ(with_part.cpp, 2 * with_part.calls);
  std::printf("[ measured ] %llu frames without a part: %llu operator new; %llu frames closing a part: %.2f operator new "
              "per part (max %llu)\n",
              static_cast<unsigned long long>(quiet.calls), static_cast<unsigned long long>(quiet.cpp),
              static_cast<unsigned long long>(with_part.calls),
              static_cast<double>(with_part.cpp) / static_cast<double>(with_part.calls),
              static_cast<unsigned long long>(with_part.max_cpp));
  if (OMNICAST_COUNTS_C_ALLOCATIONS) {
    // libavformat: its per-fragment mdat buffers (opened at a fragment's first sample per track,
    // grown by doubling) and the moof it builds when a fragment closes. Bounded per part, not
    // growing with the number of frames in it.
    const double per_part = static_cast<double>(quiet.c + with_part.c) / static_cast<double>(with_part.calls);
    std::printf("[ measured ] C allocator (libav*, and the above through malloc): %.2f per frame without a part, "
                "%.2f per frame closing a part, %.1f per part overall\n",
                static_cast<double>(quiet.c) / static_cast<double>(quiet.calls),
                static_cast<double>(with_part.c) / static_cast<double>(with_part.calls), per_part);
    EXPECT_LT(per_part, 40.0);
  }
}

}  // namespace
}  // namespace omnicast::test::cmaf
