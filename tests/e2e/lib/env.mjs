// Where the binaries and the sources are. ctest passes them (tests/e2e/CMakeLists.txt); running
// `node --test` by hand needs the same variables.
import path from 'node:path';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

function required(name) {
  const v = process.env[name];
  if (!v) {
    throw new Error(
      `${name} is not set: run the suite through ctest (ctest -L e2e), or set OMNICAST_BIN and ` +
        'OMNICAST_REPLAY_BIN to the built omnicast and omnicast-replay binaries',
    );
  }
  if (!fs.existsSync(v)) throw new Error(`${name}=${v} does not exist: build it first`);
  return v;
}

export const SOURCE_DIR = process.env.OMNICAST_SOURCE_DIR || path.resolve(here, '../../..');
export const DOCS_DIR = path.join(SOURCE_DIR, 'docs');
export const omnicastBin = () => required('OMNICAST_BIN');
export const replayBin = () => required('OMNICAST_REPLAY_BIN');
// Keep the data directories and logs of every node (for debugging a failure).
export const KEEP = process.env.OMNICAST_E2E_KEEP === '1';
