# Compile settings shared by every omnicast target: warnings are errors in our code
# (third-party headers come in as system includes and are exempt), sanitizers on demand.
function(omnicast_target_options target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wcast-align
    -Wno-missing-field-initializers -Werror)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    # GCC 12 reports false positives from inlined std::variant / std::optional code, and from
    # Asio's coroutine frame allocator (its operator new/delete pair looks mismatched once inlined).
    target_compile_options(${target} PRIVATE -Wno-maybe-uninitialized -Wno-mismatched-new-delete)
  endif()
  target_compile_definitions(${target} PUBLIC MSGPACK_NO_BOOST BOOST_ASIO_NO_DEPRECATED)
  if(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    # Boost 1.74 only detects C++20 coroutines on GCC or with libc++; clang with libstdc++ has
    # them too.
    target_compile_definitions(${target} PUBLIC BOOST_ASIO_HAS_CO_AWAIT BOOST_ASIO_HAS_STD_COROUTINE)
  endif()
  target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR})
endfunction()

if(OMNICAST_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()

# omnicast_library(name SOURCES ... DEPS ...)
function(omnicast_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;PCH" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  omnicast_target_options(${name})
  target_link_libraries(${name} PUBLIC ${ARG_DEPS})
  if(OMNICAST_FUZZ)
    # Coverage feedback needs the code under test instrumented, not only the fuzz entry points.
    target_compile_options(${name} PRIVATE -fsanitize=fuzzer-no-link)
  endif()
  if(ARG_PCH)
    target_precompile_headers(${name} PRIVATE ${ARG_PCH})
  endif()
endfunction()
