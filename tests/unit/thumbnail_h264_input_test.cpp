// media/thumbnail's own H.264 input helpers (split_access_unit, first_mb_in_slice) and the piece of
// media/cmaf they are built on (h264_rbsp, BitReader), on hand-made bytes.
#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

#include "media/cmaf/bit_reader.hpp"
#include "media/thumbnail/h264_input.hpp"

namespace omnicast::media::thumbnail::detail {
namespace {

using Bytes = std::vector<std::uint8_t>;

TEST(CmafH264Rbsp, RemovesEmulationPreventionBytes) {
  // 00 00 03 twice; the 03 after the second is data (the zero count restarts after an EPB).
  const Bytes nal = {0x67, 0x00, 0x00, 0x03, 0x00, 0x00, 0x03, 0x03, 0x01};
  std::array<std::uint8_t, 16> out{};
  const std::size_t n = cmaf::h264_rbsp(nal, out);
  EXPECT_EQ(Bytes(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(n)), (Bytes{0, 0, 0, 0, 3, 1}));
  // 00 00 03 followed by a byte above 3 is not valid H.264, but the 03 is still dropped (as libavcodec
  // and the SPS parser always did); an 03 at the very end too.
  const Bytes tail = {0x65, 0x00, 0x00, 0x03, 0x04, 0x00, 0x00, 0x03};
  EXPECT_EQ(cmaf::h264_rbsp(tail, out), 5u);
  EXPECT_EQ(Bytes(out.begin(), out.begin() + 5), (Bytes{0, 0, 4, 0, 0}));
  // Header only, or nothing: no payload.
  EXPECT_EQ(cmaf::h264_rbsp(Bytes{0x65}, out), 0u);
  EXPECT_EQ(cmaf::h264_rbsp({}, out), 0u);
}

TEST(CmafH264Rbsp, StopsWhenTheOutputIsFull) {
  const Bytes nal = {0x65, 0x00, 0x00, 0x03, 0x01, 0x02, 0x03, 0x04};
  std::array<std::uint8_t, 3> out{};
  EXPECT_EQ(cmaf::h264_rbsp(nal, out), 3u);
  EXPECT_EQ(Bytes(out.begin(), out.end()), (Bytes{0, 0, 1}));
  EXPECT_EQ(cmaf::h264_rbsp(nal, std::span<std::uint8_t>()), 0u);
}

TEST(ThumbnailFirstMbInSlice, ReadsTheFirstElement) {
  std::uint32_t first_mb = 99;
  std::string error;
  EXPECT_TRUE(first_mb_in_slice(Bytes{0x65, 0x88}, first_mb, error));  // ue 0
  EXPECT_EQ(first_mb, 0u);
  EXPECT_TRUE(first_mb_in_slice(Bytes{0x41, 0x26}, first_mb, error));  // 00100 = ue 3
  EXPECT_EQ(first_mb, 3u);
  EXPECT_EQ(error, "");
}

TEST(ThumbnailFirstMbInSlice, SkipsEmulationPreventionBytes) {
  // RBSP 00 00 02 00 00 04: 22 zeros, 1, 22 zeros = 2^22 - 1. Read with the 03 in place it would be
  // a different number.
  std::uint32_t first_mb = 0;
  std::string error;
  ASSERT_TRUE(first_mb_in_slice(Bytes{0x65, 0x00, 0x00, 0x03, 0x02, 0x00, 0x00, 0x04}, first_mb, error)) << error;
  EXPECT_EQ(first_mb, (1u << 22) - 1);
  // The longest code, 31 zeros, 1, 31 ones (2^32 - 2), whose 8 RBSP bytes take 9 bytes of the NAL unit.
  ASSERT_TRUE(first_mb_in_slice(Bytes{0x65, 0x00, 0x00, 0x03, 0x00, 0x01, 0xff, 0xff, 0xff, 0xfe}, first_mb, error))
      << error;
  EXPECT_EQ(first_mb, 0xfffffffeu);
}

TEST(ThumbnailFirstMbInSlice, RefusesWhatDoesNotParse) {
  std::uint32_t first_mb = 0;
  std::string error;
  EXPECT_FALSE(first_mb_in_slice(Bytes{0x65}, first_mb, error));
  EXPECT_EQ(error, "slice header: truncated");
  EXPECT_FALSE(first_mb_in_slice(Bytes{0x65, 0x00, 0x00, 0x03, 0x00}, first_mb, error));
  EXPECT_EQ(error, "slice header: truncated");
  // 32 leading zeros: not a 32-bit value.
  EXPECT_FALSE(first_mb_in_slice(Bytes{0x65, 0x00, 0x00, 0x03, 0x00, 0x00, 0x80}, first_mb, error));
  EXPECT_EQ(error, "slice header: exp-Golomb code longer than 32 bits");
}

TEST(ThumbnailSplitAccessUnit, ViewsAndErrors) {
  std::vector<Nal> nals;
  std::string error;
  const Bytes au = {0, 2, 0x65, 0x88, 0, 1, 0x06};
  ASSERT_TRUE(split_access_unit(au, 2, nals, error)) << error;
  ASSERT_EQ(nals.size(), 2u);
  EXPECT_EQ(nals[0].data(), au.data() + 2);
  EXPECT_EQ(nals[0].size(), 2u);
  EXPECT_EQ(nal_type(nals[1]), 6);
  EXPECT_FALSE(split_access_unit(Bytes{0, 0, 0, 5, 0x65}, 4, nals, error));
  EXPECT_EQ(error, "NAL unit 0 (offset 0) claims 5 bytes, 1 left");
  EXPECT_FALSE(split_access_unit(Bytes{1, 0x65, 0}, 1, nals, error));
  EXPECT_EQ(error, "NAL unit 1 (offset 2) is empty");
  EXPECT_FALSE(split_access_unit(Bytes{0, 1, 0x65, 0}, 2, nals, error));
  EXPECT_EQ(error, "1 bytes at offset 3 are too few for a 2-byte NAL unit length");
}

}  // namespace
}  // namespace omnicast::media::thumbnail::detail
