// One source for module aliases: tsconfig.json "paths", translated for jest.
const { compilerOptions } = require('./tsconfig.json');

function pathsToModuleNameMapper() {
  const map = {};
  for (const [alias, [target]] of Object.entries(compilerOptions.paths)) {
    const from = '^' + alias.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace('*', '(.*)') + '$';
    map[from] = '<rootDir>/' + target.replace('*', '$1');
  }
  return map;
}

module.exports = { pathsToModuleNameMapper };
