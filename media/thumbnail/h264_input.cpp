// AVCC access unit splitting and first_mb_in_slice (ISO/IEC 14496-15 5.3.2, H.264 7.3.3).
#include "media/thumbnail/h264_input.hpp"

#include <array>

#include "media/cmaf/bit_reader.hpp"

namespace omnicast::media::thumbnail::detail {

bool split_access_unit(std::span<const std::uint8_t> au, int nal_length_size, std::vector<Nal>& nals,
                       std::string& error) {
  const auto prefix = static_cast<std::size_t>(nal_length_size);
  nals.clear();
  std::size_t pos = 0;
  while (pos < au.size()) {
    if (au.size() - pos < prefix) {
      error = std::to_string(au.size() - pos) + " bytes at offset " + std::to_string(pos) + " are too few for a " +
              std::to_string(prefix) + "-byte NAL unit length";
      return false;
    }
    std::size_t length = 0;
    for (std::size_t i = 0; i < prefix; ++i) length = (length << 8) | au[pos + i];
    if (length == 0) {
      error = "NAL unit " + std::to_string(nals.size()) + " (offset " + std::to_string(pos) + ") is empty";
      return false;
    }
    pos += prefix;
    if (au.size() - pos < length) {
      error = "NAL unit " + std::to_string(nals.size()) + " (offset " + std::to_string(pos - prefix) + ") claims " +
              std::to_string(length) + " bytes, " + std::to_string(au.size() - pos) + " left";
      return false;
    }
    nals.push_back(au.subspan(pos, length));
    pos += length;
  }
  return true;
}

bool first_mb_in_slice(Nal slice, std::uint32_t& first_mb, std::string& error) {
  // ue(v) reads at most 63 bits (31 zeros, the 1, 31 bits) or throws after 32 zeros, so 8 RBSP bytes
  // hold everything it can look at: only those are unescaped, not the whole slice.
  std::array<std::uint8_t, 8> rbsp{};
  const std::size_t n = cmaf::h264_rbsp(slice, rbsp);
  try {
    cmaf::BitReader r(std::span<const std::uint8_t>(rbsp).first(n), "slice header");
    first_mb = r.ue();
    return true;
  } catch (const cmaf::CodecConfigError& e) {
    error = e.what();
    return false;
  }
}

}  // namespace omnicast::media::thumbnail::detail
