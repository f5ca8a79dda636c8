#pragma once
// Counting replacements of the global operator new and delete, for tests that prove a path does
// not allocate: while `counting_allocations` is true, every operator new adds one to
// `cpp_allocations`. The replacements are definitions: include this header in exactly ONE
// translation unit of a test binary.
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <new>

namespace omnicast::test {

inline std::atomic<bool> counting_allocations{false};
inline std::atomic<std::uint64_t> cpp_allocations{0};

namespace counting_new_detail {
inline void* counted_new(std::size_t size) {
  if (counting_allocations.load(std::memory_order_relaxed)) cpp_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size ? size : 1)) return p;
  throw std::bad_alloc();
}
inline void* counted_new_aligned(std::size_t size, std::align_val_t align) {
  if (counting_allocations.load(std::memory_order_relaxed)) cpp_allocations.fetch_add(1, std::memory_order_relaxed);
  const auto a = static_cast<std::size_t>(align);
  if (void* p = std::aligned_alloc(a, (size + a - 1) / a * a)) return p;
  throw std::bad_alloc();
}
}  // namespace counting_new_detail

}  // namespace omnicast::test

void* operator new(std::size_t size) { return omnicast::test::counting_new_detail::counted_new(size); }
void* operator new[](std::size_t size) { return omnicast::test::counting_new_detail::counted_new(size); }
void* operator new(std::size_t size, std::align_val_t align) {
  return omnicast::test::counting_new_detail::counted_new_aligned(size, align);
}
void* operator new[](std::size_t size, std::align_val_t align) {
  return omnicast::test::counting_new_detail::counted_new_aligned(size, align);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
