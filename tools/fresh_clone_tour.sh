#!/usr/bin/env bash
# A new user's first half hour, checked: clone the repository into an empty temporary folder (nothing beside it,
# so no shared folder of the developers), run the README's two commands, then a tour of the commands the README shows, with and without
# mistakes. Fails on a stack trace, an exit code other than the documented ones (0 ok, 1 leak where asked,
# 2 usage or input, 3 `run`'s command failed), or an output file that should exist and does not.
#
#   tools/fresh_clone_tour.sh [--skip-tests]     (run by .ci/run after the suite; --skip-tests: all but `npm test`)
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
skip_tests=0
[ "${1:-}" = "--skip-tests" ] && skip_tests=1

work=$(mktemp -d /tmp/memsleuth-tour-XXXXXX)
trap 'rm -rf "$work"' EXIT
clone="$work/memsleuth"
failures=0
step=0

# run NAME ALLOWED_CODES CMD...: runs CMD in the clone; checks its exit code and that stderr holds no stack trace.
run() {
  local name=$1 allowed=$2; shift 2
  step=$((step + 1))
  local out="$work/out.$step" err="$work/err.$step"
  (cd "$clone" && "$@") >"$out" 2>"$err"
  local code=$?
  local why=""
  [[ ",$allowed," == *",$code,"* ]] || why="exit $code (expected $allowed)"
  if grep -qE '^\s+at .+:[0-9]+:[0-9]+\)?$|node:internal/|^memsleuth: (unexpected|internal) error' "$err"; then why="${why:+$why; }stack trace or internal error"; fi
  if [ -n "$why" ]; then
    failures=$((failures + 1))
    echo "FAIL $name: $why"
    sed 's/^/    /' "$err" | tail -n 15
  else
    echo "ok   $name (exit $code)"
  fi
}

# expect_file NAME PATH: a file the previous steps must have written, not empty.
expect_file() {
  if [ -s "$clone/$2" ]; then echo "ok   $1: $2 written"; else failures=$((failures + 1)); echo "FAIL $1: $2 missing or empty"; fi
}

git clone -q "$repo" "$clone" || { echo "FAIL git clone"; exit 1; }
if [ -e "$work/shared" ]; then echo "FAIL the clone has a shared folder beside it"; exit 1; fi

# The README's first line: npm ci, then the live watch (Ctrl-C stops it: SIGINT after a few seconds).
run "npm ci" 0 npm ci --no-audit --no-fund
run "watch (README line 1), stopped by Ctrl-C" 0 timeout --preserve-status -s INT 8 node bin/memsleuth.js watch --interval 1s
ls "$clone"/.memsleuth/*.db >/dev/null 2>&1 && echo "ok   watch recorded into ./.memsleuth/" || { failures=$((failures + 1)); echo "FAIL watch left no database in ./.memsleuth/"; }

# The README's table, as written (npx memsleuth is the installed name).
run "--version" 0 npx --no-install memsleuth --version
run "--help" 0 npx --no-install memsleuth --help
run "snapshot" 0 node bin/memsleuth.js snapshot
run "snapshot -o" 0 node bin/memsleuth.js snapshot -o before.json
run "ps --sort pss" 0 node bin/memsleuth.js ps --sort pss --limit 5
run "snapshot --via sh" 0 node bin/memsleuth.js snapshot --via sh --top 3
run "ps --via sh" 0 node bin/memsleuth.js ps --via sh --limit 3
run "record --duration" 0 node bin/memsleuth.js record --interval 1s --duration 4s --db tour.db
run "analyze recording" 0,1 node bin/memsleuth.js analyze tour.db --html report.html --md summary.md --junit verdicts.xml
expect_file "analyze --html" report.html
expect_file "analyze --md" summary.md
expect_file "analyze --junit" verdicts.xml
run "export" 0 node bin/memsleuth.js export --db tour.db --series 'meminfo.*'
run "snapshot -o after" 0 node bin/memsleuth.js snapshot -o after.json
run "diff before after" 0 node bin/memsleuth.js diff before.json after.json
run "diff seed log" 0 node bin/memsleuth.js diff test/seeds/002_9f17d7f1090a8f58.txt
run "analyze seed log" 0 node bin/memsleuth.js analyze test/seeds/002_9f17d7f1090a8f58.txt
run "script" 0 node bin/memsleuth.js script --interval 1s
run "ingest log" 0 node bin/memsleuth.js ingest test/seeds/002_9f17d7f1090a8f58.txt
run "ingest --db" 0 node bin/memsleuth.js ingest test/seeds/002_9f17d7f1090a8f58.txt --db seed.db
run "oom" 0 node bin/memsleuth.js oom test/corpus/oom/oomanalyser-example-ubuntu2110-5.13.txt
run "evidence" 0 node bin/memsleuth.js evidence test/fixtures/valgrind-memcheck-local.txt
run "run --fail-on leak (no leak)" 0 node bin/memsleuth.js run --interval 1s --fail-on leak -- sleep 2
run "serve --help" 0 node bin/memsleuth.js serve --help

# Mistakes a hurried user makes: each is one line and exit 2, never a stack.
run "unknown command" 2 node bin/memsleuth.js bogus
run "--top -5" 2 node bin/memsleuth.js snapshot --top -5
run "--top abc" 2 node bin/memsleuth.js ps --limit abc
run "record --pid 999999" 2 node bin/memsleuth.js record --pid 999999 --duration 2s
run "--watch-file X:bogus" 2 node bin/memsleuth.js record --watch-file X:bogus --duration 2s
run "watch --ui --port 99999" 2 node bin/memsleuth.js watch --ui --port 99999
run "serve --recording 99" 2 node bin/memsleuth.js serve --db tour.db --recording 99
run "snapshot -o missing folder" 2 node bin/memsleuth.js snapshot -o /nonexistent/dir/x.json
run "analyze --html missing folder" 2 node bin/memsleuth.js analyze tour.db --html /nonexistent/dir/r.html
run "ingest --db missing folder" 2 node bin/memsleuth.js ingest test/seeds/002_9f17d7f1090a8f58.txt --db /nonexistent/dir/x.db
[ -e /nonexistent/dir ] && { failures=$((failures + 1)); echo "FAIL ingest created /nonexistent/dir"; }
head -c 20000 "$clone/tour.db" > "$clone/truncated.db"
run "analyze truncated db" 2 node bin/memsleuth.js analyze truncated.db
run "analyze missing file" 2 node bin/memsleuth.js analyze nothing-here.db
run "trace kernel --cache nosuchcache" 2 node bin/memsleuth.js trace kernel --cache nosuchcache
run "trace user -- missing binary" 2 node bin/memsleuth.js trace user -- ./missing-binary
run "run without a command" 2 node bin/memsleuth.js run

# The README's second line.
if [ "$skip_tests" = 0 ]; then
  run "npm test (README line 2)" 0 npm test
  # Each failure's diagnostics (location, error), then the suite's closing block: failed and skipped tests by name, then the runner's counts.
  grep -A 14 '^not ok' "$work/out.$step" | grep -v -E '^--$|duration_ms|stack:|Test\.|TestContext|node:internal|async |code:|name:|operator:' | head -n 60 | sed 's/^/    /'
  sed -n '/^[0-9]* \(failed\|skipped\):$/,$p' "$work/out.$step" | grep -v '^full TAP' | tail -n 60 | sed 's/^/    /'
  grep -q '^[0-9]* \(failed\|skipped\):$' "$work/out.$step" || tail -n 8 "$work/out.$step" | sed 's/^/    /'
fi

echo "tour: $step steps, $failures failed"
[ "$failures" -eq 0 ]
