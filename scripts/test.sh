#!/usr/bin/env bash
# The whole test run, as CI runs it: typecheck, build, then every test suite
# (unit tests and the end-to-end suites that start real registries and
# containers) with lint beside them. Ends with a "N passed, N failed" line.
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p test-output
npm run --silent typecheck || exit 1
# dist/ built here, before lint starts, not by the tests' global setup: the
# build regenerates src/stack/generated, which lint reads.
if [ "${TSCOMPOSE_TEST_NO_BUILD:-}" != "1" ]; then npm run --silent build || exit 1; fi
export TSCOMPOSE_TEST_NO_BUILD=1
# Lint (type-aware, about 2 minutes of one core) runs beside the tests, which
# mostly wait on containers and daemons: its report follows theirs, and a
# lint error fails the run as before.
npm run --silent lint >test-output/lint.log 2>&1 &
lint_pid=$!
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
wait "$lint_pid"
lint_status=$?
if [ "$lint_status" -ne 0 ]; then
  cat test-output/lint.log
  echo "lint failed (exit $lint_status)"
  [ "$status" -ne 0 ] || status=$lint_status
else
  echo "lint: clean"
fi
exit $status
