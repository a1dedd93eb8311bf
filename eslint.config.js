// ESLint flat config: typescript-eslint's recommended rules on every TypeScript source.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import mesgw from './tools/eslint-module-boundaries.js';

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'data/**', 'db/migrations/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['web/**/*.js'],
    languageOptions: {
      sourceType: 'module',
      globals: Object.fromEntries(
        [
          'document',
          'window',
          'fetch',
          'console',
          'location',
          'history',
          'CustomEvent',
          'sessionStorage',
          'URLSearchParams',
          'URL',
          'Blob',
          'FormData',
          'File',
          'setTimeout',
          'clearTimeout',
          'getComputedStyle',
          'navigator',
          'HTMLElement',
          'TextEncoder',
          'crypto',
        ].map((g) => [g, 'readonly']),
      ),
    },
  },
  {
    files: ['**/*.ts'],
    ignores: ['tests/**'],
    plugins: { mesgw },
    rules: { 'mesgw/module-boundaries': 'error' },
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
    },
  },
);
