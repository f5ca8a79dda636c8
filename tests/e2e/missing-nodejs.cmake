# Run by the e2e.nodejs test when CMake found no Node.js: the e2e suite needs Node.js 20 and npm.
message(FATAL_ERROR "The e2e tests need Node.js (>= 20.19) and npm: install them (Debian: apt-get install nodejs npm), "
                    "then `npm ci --prefix tests/e2e` and re-run cmake.")
