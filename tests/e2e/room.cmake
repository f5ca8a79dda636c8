# The room page (web/room.html) in headless Chromium against the SFU: two and three pages publish
# Chromium's fake camera and see each other (room_page.test.mjs). Included by CMakeLists.txt here.
add_test(NAME e2e.room_page
  COMMAND ${OMNICAST_NODEJS} --import ${E2E_DIR}/lib/require-deps.mjs --test --test-reporter=spec
          ${E2E_DIR}/room_page.test.mjs
  WORKING_DIRECTORY ${E2E_DIR})
set_tests_properties(e2e.room_page PROPERTIES LABELS e2e TIMEOUT 300
  FIXTURES_REQUIRED e2e_npm_packages ENVIRONMENT "${E2E_ENV}"
  # Chromium decoding two cameras needs the CPU the aiortc tests need: one at a time.
  RESOURCE_LOCK omnicast_webrtc_media)
