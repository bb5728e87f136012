// swc strips types only; `make typecheck` runs tsc as its own step, so tests stay fast.
const { pathsToModuleNameMapper } = require('./jest.paths');

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  transform: {
    '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' } }],
    // jose ships ESM only; Node 20's runtime loads it with require(esm), jest's module system cannot.
    '/node_modules/jose/.+\\.js$': ['@swc/jest', { jsc: { target: 'es2022' }, module: { type: 'commonjs' } }],
  },
  transformIgnorePatterns: ['/node_modules/(?!jose/)'],
  moduleNameMapper: pathsToModuleNameMapper(),
  testMatch: ['<rootDir>/{apps,packages,services}/*/test/**/*.test.ts', '<rootDir>/tests/**/*.test.ts'],
  testTimeout: 30000,
  // On 2 cores jest runs in band; a handle some library leaves open after the last suite
  // (not yet traced) must not keep CI waiting forever once every test has reported.
  forceExit: true,
};
