#include "actors/domain/types.hpp"

#include <array>

namespace omnicast::domain {

namespace {
constexpr std::array<std::pair<std::string_view, Mode>, 5> kModes{{{"party", Mode::party},
                                                                   {"duo", Mode::duo},
                                                                   {"circle", Mode::circle},
                                                                   {"roulette", Mode::roulette},
                                                                   {"stage", Mode::stage}}};
constexpr std::array<std::pair<std::string_view, Audience>, 3> kAudiences{
    {{"public", Audience::public_}, {"members", Audience::members}, {"private", Audience::private_}}};
constexpr std::array<std::pair<std::string_view, Role>, 2> kRoles{{{"pub", Role::pub}, {"sub", Role::sub}}};
}  // namespace


std::string_view to_string(Mode m) noexcept { return name_in(kModes, m); }
bool parse(std::string_view s, Mode& out) noexcept { return parse_in(kModes, s, out); }
std::string_view to_string(Audience a) noexcept { return name_in(kAudiences, a); }
bool parse(std::string_view s, Audience& out) noexcept { return parse_in(kAudiences, s, out); }
std::string_view to_string(Role r) noexcept { return name_in(kRoles, r); }
bool parse(std::string_view s, Role& out) noexcept { return parse_in(kRoles, s, out); }

}  // namespace omnicast::domain
