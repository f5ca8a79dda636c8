#pragma once
// The last N packets of a video Producer, as received, for answering subscribers' NACKs. One
// block of N * kMaxPacketSize bytes is allocated at construction; storing and finding copy into
// and point into it, nothing more.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

namespace omnicast::sfu {

class PacketHistory {
 public:
  static constexpr std::size_t kDefaultCapacity = 512;

  explicit PacketHistory(std::size_t capacity = kDefaultCapacity);

  // Keeps a copy of `packet` under its extended sequence number (ReceiveStream's), replacing
  // whatever its slot held. Packets longer than kMaxPacketSize, and packets older than the
  // capacity behind the newest, are not kept.
  void store(std::int64_t extended_sequence, std::span<const std::uint8_t> packet) noexcept;

  struct Entry {
    std::int64_t extended_sequence = 0;
    std::span<const std::uint8_t> packet;  // valid until the next store()
  };
  // The packet with this sequence number among the last `capacity` (the extended number is
  // the one nearest to the newest stored).
  std::optional<Entry> find(std::uint16_t sequence_number) const noexcept;

  std::size_t capacity() const noexcept { return slots_.size(); }

 private:
  struct Slot {
    std::int64_t ext = -1;
    std::uint16_t size = 0;
    bool used = false;
  };
  std::uint8_t* slot_bytes(std::size_t i) const noexcept;

  std::unique_ptr<std::uint8_t[]> bytes_;
  std::vector<Slot> slots_;
  bool any_ = false;
  std::int64_t newest_ = 0;
};

}  // namespace omnicast::sfu
