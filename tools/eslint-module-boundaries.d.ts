// Types of tools/eslint-module-boundaries.js (plain JS: ESLint's flat config loads it without a TypeScript step).
export declare const MAY_IMPORT: Readonly<Record<string, readonly string[]>>;
export declare function moduleOf(relPath: string): string | null;
export declare function boundaryProblem(importer: string, target: string): string | null;
declare const plugin: { rules: Record<string, unknown> };
export default plugin;
