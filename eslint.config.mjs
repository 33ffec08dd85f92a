// `eslint` (scripts/test.sh): ESLint's recommended rules over every script of the repository: the
// page's modules (www/, the worker included), the embedding example and the e2e scripts (Node;
// the functions they hand to page.evaluate run in the page, hence the browser's globals too).
import js from "@eslint/js";
import globals from "globals";

export default [
  { ignores: ["dist/", "pkg/", "node_modules/", "target/", "test-output/", "data/", ".venv/"] },
  js.configs.recommended,
  { files: ["www/**/*.js", "examples/**/*.js"], languageOptions: { globals: globals.browser } },
  { files: ["www/worker.js"], languageOptions: { globals: globals.worker } },
  { files: ["tests/e2e/**/*.mjs"], languageOptions: { globals: { ...globals.node, ...globals.browser } } },
];
