// Lint is type-aware and enforces the one-way import direction of DESIGN.md:
// bin -> src -> reconciler -> engine. A lower layer importing a higher one is an error.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

/** Patterns refusing imports of whole layers (folders) from a lower one. */
const layers = (names, who = "this layer") =>
  names.map((layer) => ({
    group: [`**/${layer}/**`, `**/${layer}`],
    message: `imports flow bin -> src -> reconciler -> engine (model/ below all); ${who} may not import ${layer}/`,
  }));

const SUPERVISION = { group: ["**/supervision/**", "**/supervision"], message: "supervision is the daemon's runtime; clients see health and restarts through the daemon API" };
const CLIENT = [
  { group: ["**/engine/**", "**/engine"], message: "src/cli and src/tui are clients of the daemon: they use its wire types (src/daemon/api.ts), never the engine" },
  { group: ["**/reconciler/**", "**/reconciler"], message: "src/cli and src/tui are clients of the daemon: the reconciler runs there, not here (model/ is fine)" },
  SUPERVISION,
];

/** One config block per file glob with all of its import restrictions. */
const boundaries = (byFiles) =>
  Object.entries(byFiles).map(([files, patterns]) => ({
    files: [files],
    rules: { "no-restricted-imports": ["error", { patterns }] },
  }));

export default tseslint.config(
  { ignores: ["dist/**", "dist-dev/**", "node_modules/**", "bin/**", "eslint.config.js", "test-output/**", ".tmp/**", "test/build-corpus/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": "error",
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/restrict-template-expressions": ["error", { allowNumber: true, allowBoolean: true }],
      "no-control-regex": "off",
    },
  },
  // One block per folder: ESLint keeps only the last matching block's no-restricted-imports for a
  // file, so every import rule of a folder is listed in its entry of `boundaries` below.
  ...boundaries({
    "engine/**/*.ts": layers(["reconciler", "src", "bin"]),
    "reconciler/**/*.ts": layers(["src", "bin"]),
    // The stack model is plain data shared by the loader (src/stack) and the reconciler: it imports no layer.
    "model/**/*.ts": layers(["engine", "reconciler", "src", "bin"]),
    // The wire format is the API's own: a change inside the engine or the reconciler must not
    // change it silently (src/daemon/to-wire.ts maps them). api.ts imports nothing.
    "src/daemon/api.ts": [{ group: ["**"], message: "src/daemon/api.ts is the wire format: plain types, no imports (map internal values in src/daemon/to-wire.ts)" }],
    // The supervision runtime (health checks, readiness probes, restart supervisor) runs timers and
    // sockets for the daemon: below the daemon's coordinator, above the pure reconciler; it imports
    // no other part of src (the controller wires it; clients never see it).
    "src/daemon/supervision/**/*.ts": [
      { regex: "^\\.\\./(?!\\.\\./)", message: "the supervision runtime is driven by the daemon's controller; it may not import the rest of src/daemon" },
      ...layers(["cli", "tui", "stack", "bin"], "the supervision runtime"),
    ],
    // The loader is used by the daemon and the clients, never the other way round.
    "src/stack/**/*.ts": [...layers(["daemon", "cli", "tui", "bin"], "src/stack (the loader)"), SUPERVISION],
    // The CLI and the TUI are clients of the daemon: they speak its wire types (src/daemon/api.ts)
    // and may read model/ (the stack model, labels and the error vocabulary, model/errors.ts);
    // the engine and the reconciler run in the daemon, so nothing of engine/ is imported here.
    "src/cli/**/*.ts": CLIENT,
    "src/tui/**/*.ts": CLIENT,
  }),
  {
    files: ["**/*.test.ts", "test/**/*.ts", "bench/**/*.ts"],
    rules: {
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/no-non-null-assertion": "off",
    },
  },
);
