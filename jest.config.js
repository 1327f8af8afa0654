/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': 'ts-jest',
    '^.+\\.wasm$': '<rootDir>/test/jest/wasm-transform.cjs',
  },
  moduleFileExtensions: ['ts', 'js', 'json', 'wasm', 'cjs'],
  testTimeout: 60000,
};
