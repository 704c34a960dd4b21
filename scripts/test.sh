#!/usr/bin/env bash
# The whole test run, as CI runs it: typecheck, lint, then every test suite
# (unit tests and the end-to-end suites that start real registries and
# containers). Ends with a "N passed, N failed" line.
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p test-output
npm run --silent typecheck || exit 1
npm run --silent lint || exit 1
# As root on a machine set up by scripts/install-deps.sh every suite can run,
# so a suite that skips (no root, a tool missing) fails the run instead of
# vanishing into the skipped count (test/support/requires.ts).
if [ "$(id -u)" -eq 0 ]; then export TSCOMPOSE_TEST_REQUIRE_ALL="${TSCOMPOSE_TEST_REQUIRE_ALL:-1}"; fi
npx vitest run --reporter=default --reporter=json --outputFile.json=test-output/results.json "$@"
status=$?
node -e '
  const r = JSON.parse(require("fs").readFileSync("test-output/results.json", "utf8"));
  const skipped = r.numPendingTests + r.numTodoTests;
  // Named, so that a skip is seen (the ones of a machine kind, e.g. cgroup v1 on v2, are expected).
  for (const f of r.testResults) for (const a of f.assertionResults) if (a.status === "pending" || a.status === "skipped" || a.status === "todo") console.log(`skipped: ${require("path").relative(process.cwd(), f.name)} > ${a.fullName}`);
  console.log(`Tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
' || true
exit $status
