// swc strips types only; `make typecheck` runs tsc as its own step, so tests stay fast.
const { pathsToModuleNameMapper } = require('./jest.paths');

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' } }] },
  moduleNameMapper: pathsToModuleNameMapper(),
  testMatch: ['<rootDir>/{packages,services}/*/test/**/*.test.ts', '<rootDir>/tests/**/*.test.ts'],
  testTimeout: 30000,
};
