// Preloaded (`node --import`) by every e2e ctest before `node --test`: the suite needs the npm
// packages of tests/e2e/package.json installed in tests/e2e/node_modules. Without them the tests
// must fail loudly, not skip and not die on an obscure ERR_MODULE_NOT_FOUND.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const e2eDir = path.resolve(here, '..');
const pkg = JSON.parse(fs.readFileSync(path.join(e2eDir, 'package.json'), 'utf8'));
const wanted = Object.keys({ ...pkg.dependencies, ...pkg.devDependencies });
const missing = wanted.filter(
  (name) => !fs.existsSync(path.join(e2eDir, 'node_modules', ...name.split('/'), 'package.json')),
);
if (missing.length > 0) {
  process.stderr.write(
    `omnicast e2e: ${path.join(e2eDir, 'node_modules')} lacks ${missing.join(', ')}.\n` +
      `Install the suite's packages first:  npm ci --prefix ${path.relative(process.cwd(), e2eDir) || '.'}\n` +
      `(scripts/install-deps.sh does this on a fresh machine).\n`,
  );
  process.exit(1);
}
