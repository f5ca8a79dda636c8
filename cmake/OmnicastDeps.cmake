# Every external dependency comes from Debian packages; nothing is downloaded at build time.
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(Boost 1.74 EXACT REQUIRED COMPONENTS program_options)
find_package(nlohmann_json 3.10 REQUIRED CONFIG)

pkg_check_modules(LMDB REQUIRED IMPORTED_TARGET lmdb)
pkg_check_modules(CRYPTO REQUIRED IMPORTED_TARGET libcrypto)
pkg_check_modules(SPDLOG REQUIRED IMPORTED_TARGET spdlog)
pkg_check_modules(FMT REQUIRED IMPORTED_TARGET fmt)
pkg_check_modules(AVFORMAT REQUIRED IMPORTED_TARGET libavformat)
pkg_check_modules(AVCODEC REQUIRED IMPORTED_TARGET libavcodec)
pkg_check_modules(AVUTIL REQUIRED IMPORTED_TARGET libavutil)
pkg_check_modules(SWSCALE REQUIRED IMPORTED_TARGET libswscale)
# The SFU (media/sfu): ICE-lite over libnice (a GLib main context per media worker), DTLS with
# OpenSSL's libssl, SRTP/SRTCP with libsrtp2.
pkg_check_modules(SSL REQUIRED IMPORTED_TARGET libssl)
pkg_check_modules(NICE REQUIRED IMPORTED_TARGET nice)
pkg_check_modules(GLIB REQUIRED IMPORTED_TARGET glib-2.0 gobject-2.0 gio-2.0)
pkg_check_modules(SRTP2 REQUIRED IMPORTED_TARGET libsrtp2)
