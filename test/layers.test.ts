import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkImports } from '../tools/check_imports.js';

test('every layer imports only what DESIGN.md allows', () => {
  assert.deepEqual(checkImports(), []);
});
