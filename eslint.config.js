// Lint: type-aware rules where they catch real bugs (floating promises), and the workflow
// sandbox rule: no Node built-ins or I/O modules inside workflows/.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'web/dist/', '.healing/', 'dist/', 'bench/results/', 'test/fixtures/', 'scripts/', 'web/'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*', 'fs', 'path', 'os', 'child_process', 'crypto', 'http', 'https', 'net'], message: 'workflows run in a deterministic sandbox: do I/O in an activity' },
            { group: ['../db/*', '../activities/*', '../api/*', 'pg', 'knex'], allowTypeImports: true, message: 'workflows may import only core/ and @temporalio/workflow (types excepted)' },
          ],
        },
      ],
    },
  },
);
