#include "media/sfu/rtp_parameters.hpp"

#include <cctype>

namespace omnicast::sfu {

namespace {

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

// The value of `key` in an a=fmtp parameter list ("k1=v1;k2=v2"), "" when absent.
std::string_view fmtp_value(std::string_view fmtp, std::string_view key) noexcept {
  while (!fmtp.empty()) {
    const auto end = fmtp.find(';');
    std::string_view item = fmtp.substr(0, end);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    const auto eq = item.find('=');
    if (eq != std::string_view::npos && iequals(item.substr(0, eq), key)) return item.substr(eq + 1);
    if (end == std::string_view::npos) break;
    fmtp.remove_prefix(end + 1);
  }
  return {};
}

}  // namespace

std::string_view to_string(MediaKind k) noexcept { return k == MediaKind::audio ? "audio" : "video"; }

std::string_view to_string(Direction d) noexcept {
  switch (d) {
    case Direction::sendrecv: return "sendrecv";
    case Direction::sendonly: return "sendonly";
    case Direction::recvonly: return "recvonly";
    case Direction::inactive: return "inactive";
  }
  return "inactive";
}

bool same_codec(const RtpCodec& a, const RtpCodec& b) noexcept {
  if (!iequals(a.name, b.name) || a.clock_rate != b.clock_rate || a.channels != b.channels) return false;
  if (!iequals(a.name, "H264")) return true;
  // H.264: the packetization mode must match (absent means 0), and the profile (profile_idc, the
  // first byte of profile-level-id); the level may differ, receivers decode lower levels.
  auto mode = [](const RtpCodec& c) {
    const auto v = fmtp_value(c.fmtp, "packetization-mode");
    return v.empty() ? std::string_view("0") : v;
  };
  auto profile = [](const RtpCodec& c) {
    const auto v = fmtp_value(c.fmtp, "profile-level-id");
    return v.size() >= 2 ? v.substr(0, 2) : std::string_view("42");
  };
  return mode(a) == mode(b) && iequals(profile(a), profile(b));
}

}  // namespace omnicast::sfu
