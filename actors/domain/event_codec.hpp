#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "ledger/codec.hpp"
#include "ledger/ledger.hpp"

// Maps an aggregate's event variant to ledger drafts and back. Each event type names its kind
// and payload version; the payload is the field-visitor MessagePack map of the event.
namespace omnicast::domain {

template <class Variant>
ledger::EventDraft to_draft(const Variant& event, const std::string& actor) {
  return std::visit(
      [&](const auto& e) {
        using E = std::decay_t<decltype(e)>;
        return ledger::EventDraft{std::string(E::kind), E::version, actor, ledger::codec::to_bytes(e)};
      },
      event);
}

// The event of `kind`, or nothing if the kind is not one of this variant's. Throws
// ledger::DecodeError when the payload does not decode or its version is newer than this code.
template <class Variant>
std::optional<Variant> from_payload(std::string_view kind, std::uint32_t kind_version,
                                    std::string_view payload) {
  std::optional<Variant> out;
  auto try_one = [&]<class E>(E*) {
    if (out || kind != E::kind) return;
    if (kind_version > E::version)
      throw ledger::DecodeError(std::string(kind) + " v" + std::to_string(kind_version) +
                                " is newer than this build understands (v" +
                                std::to_string(E::version) + ")");
    out.emplace(payload.empty() ? E{} : ledger::codec::from_bytes<E>(payload));
  };
  [&]<class... E>(std::variant<E...>*) { (try_one(static_cast<E*>(nullptr)), ...); }(static_cast<Variant*>(nullptr));
  return out;
}

}  // namespace omnicast::domain
