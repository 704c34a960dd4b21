// Lint is type-aware and enforces the one-way import direction of DESIGN.md:
// bin -> src -> reconciler -> engine. A lower layer importing a higher one is an error.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

const upward = (layers) => ({
  "no-restricted-imports": [
    "error",
    {
      patterns: layers.map((layer) => ({
        group: [`**/${layer}/**`, `**/${layer}`],
        message: `imports flow bin -> src -> reconciler -> engine; this layer may not import ${layer}/`,
      })),
    },
  ],
});

export default tseslint.config(
  { ignores: ["dist/**", "dist-dev/**", "node_modules/**", "bin/**", "eslint.config.js", "test-output/**", ".tmp/**"] },
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
  { files: ["engine/**/*.ts"], rules: upward(["reconciler", "src", "bin"]) },
  { files: ["reconciler/**/*.ts"], rules: upward(["src", "bin"]) },
  // The supervision runtime (health checks, readiness probes, restart policies) runs timers and
  // sockets for the daemon: it sits below the daemon's coordinator and above the pure reconciler,
  // and imports no other part of src (the controller wires it; clients never see it).
  {
    files: ["src/daemon/supervision/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            { regex: "^\\.\\./(?!\\.\\./)", message: "the supervision runtime is driven by the daemon's controller; it may not import the rest of src/daemon" },
            ...["cli", "tui", "stack", "bin"].map((layer) => ({
              group: [`**/${layer}/**`, `**/${layer}`],
              message: `the supervision runtime may not import ${layer}/`,
            })),
          ],
        },
      ],
    },
  },
  // Only the daemon drives supervision: its clients and the loader never import it.
  // (Another rule for these files must go in this same block: a later block's no-restricted-imports replaces this one.)
  {
    files: ["src/cli/**/*.ts", "src/tui/**/*.ts", "src/stack/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        { patterns: [{ group: ["**/supervision/**", "**/supervision"], message: "supervision is the daemon's runtime; clients see health and restarts through the daemon API" }] },
      ],
    },
  },
  // The stack model is plain data shared by the loader (src/stack) and the reconciler: it imports no layer.
  { files: ["model/**/*.ts"], rules: upward(["engine", "reconciler", "src", "bin"]) },
  // Within src: the loader is used by the daemon and the CLI, never the other way round.
  // (ESLint keeps only the last block's no-restricted-imports for a file: another rule for these files goes in this block.)
  {
    files: ["src/stack/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: ["daemon", "cli", "tui"].map((part) => ({
            group: [`**/${part}/**`, `**/${part}`],
            message: `src/stack (the loader) is used by the daemon and the clients; it may not import src/${part}/`,
          })),
        },
      ],
    },
  },
  // The CLI and the TUI are clients of the daemon: they speak its wire types (src/daemon/api.ts)
  // and may read the model, but they never plan or apply (the reconciler is the daemon's).
  // reconciler/labels is the exception only until it moves to model/ (issue 15, "oneway").
  {
    files: ["src/cli/**/*.ts", "src/tui/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: ["**/reconciler/**", "!**/reconciler/labels.js"],
              message: "src/cli and src/tui are clients of the daemon: the reconciler runs there, not here (model/ is fine)",
            },
          ],
        },
      ],
    },
  },
  // The wire format is the API's own: a change inside the engine or the reconciler must not
  // change it silently (src/daemon/to-wire.ts maps them). api.ts imports nothing.
  {
    files: ["src/daemon/api.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        { patterns: [{ group: ["**"], message: "src/daemon/api.ts is the wire format: plain types, no imports (map internal values in src/daemon/to-wire.ts)" }] },
      ],
    },
  },
  {
    files: ["**/*.test.ts", "test/**/*.ts", "bench/**/*.ts"],
    rules: {
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/no-non-null-assertion": "off",
    },
  },
);
