#!/usr/bin/env node
// Thin launcher: the compiled entry point does everything (built by `npm run build`, run by `prepare`).
// Why no static import and old syntax here: an older Node must reach this check and say so, instead of
// failing on syntax it does not know in dist/ (bookworm's own nodejs is 18). Keep this file ES5 + import().
var major = Number(String(process.versions.node).split('.')[0]);
if (!(major >= 20)) {
  process.stderr.write(
    'rollout: needs Node.js 20 or newer; ' +
      process.execPath +
      ' is ' +
      process.version +
      '.\nInstall Node.js 20 (NodeSource or Debian backports, see /usr/share/doc/rollout/production.md, "Install"), ' +
      'or run rollout with it: /path/to/node20/bin/node ' +
      process.argv[1] +
      '\n',
  );
  process.exit(2);
}
import('../dist/main.js');
