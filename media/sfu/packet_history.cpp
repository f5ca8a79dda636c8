#include "media/sfu/packet_history.hpp"

#include <cstring>

#include "media/sfu/router.hpp"  // kMaxPacketSize

namespace omnicast::sfu {

namespace {

std::size_t slot_of(std::int64_t ext, std::size_t n) noexcept {
  const auto m = static_cast<std::int64_t>(n);
  return static_cast<std::size_t>(((ext % m) + m) % m);
}

}  // namespace

PacketHistory::PacketHistory(std::size_t capacity)
    : bytes_(std::make_unique_for_overwrite<std::uint8_t[]>((capacity ? capacity : 1) * kMaxPacketSize)),
      slots_(capacity ? capacity : 1) {}

std::uint8_t* PacketHistory::slot_bytes(std::size_t i) const noexcept { return bytes_.get() + i * kMaxPacketSize; }

void PacketHistory::store(std::int64_t ext, std::span<const std::uint8_t> packet) noexcept {
  if (packet.size() > kMaxPacketSize) return;
  const auto n = static_cast<std::int64_t>(slots_.size());
  if (any_ && ext <= newest_ - n) return;
  const std::size_t i = slot_of(ext, slots_.size());
  std::memcpy(slot_bytes(i), packet.data(), packet.size());
  slots_[i] = Slot{ext, static_cast<std::uint16_t>(packet.size()), true};
  if (!any_ || ext > newest_) newest_ = ext;
  any_ = true;
}

std::optional<PacketHistory::Entry> PacketHistory::find(std::uint16_t sequence_number) const noexcept {
  if (!any_) return std::nullopt;
  const auto delta = static_cast<std::int16_t>(sequence_number - static_cast<std::uint16_t>(newest_));
  const std::int64_t ext = newest_ + delta;
  if (ext > newest_ || ext <= newest_ - static_cast<std::int64_t>(slots_.size())) return std::nullopt;
  const std::size_t i = slot_of(ext, slots_.size());
  const Slot& s = slots_[i];
  if (!s.used || s.ext != ext) return std::nullopt;
  return Entry{ext, {slot_bytes(i), s.size}};
}

}  // namespace omnicast::sfu
