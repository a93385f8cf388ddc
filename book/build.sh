#!/usr/bin/env bash
# Builds the book into book/build and fails on any mdBook warning or error.
#
# mdBook logs a broken {{#include}} (missing file) as an ERROR and still exits 0,
# and has no flag to make warnings fatal, so this script reads its log instead.
# (A misspelt anchor is not logged at all: tests/book.rs catches that one.)
#
# Usage: book/build.sh            (from anywhere)
# Needs: mdbook $MDBOOK_VERSION; installed from crates.io if missing or different.
set -euo pipefail

MDBOOK_VERSION=0.5.4
book_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

installed="$(mdbook --version 2>/dev/null || true)"
if [[ "$installed" != "mdbook v$MDBOOK_VERSION" ]]; then
    echo "book: found '${installed:-no mdbook}', installing mdbook $MDBOOK_VERSION (a few minutes)"
    cargo install mdbook --locked --version "$MDBOOK_VERSION"
fi

log="$(mktemp)"
trap 'rm -f "$log"' EXIT

# NO_COLOR keeps the level words greppable; mdBook only colours a terminal anyway.
status=0
NO_COLOR=1 mdbook build "$book_dir" >"$log" 2>&1 || status=$?
cat "$log"

if [[ $status -ne 0 ]]; then
    echo "book: mdbook build failed (exit $status)" >&2
    exit 1
fi
if grep -Eq '\b(WARN|ERROR)\b' "$log"; then
    echo "book: mdbook printed warnings or errors (above); failing the build" >&2
    exit 1
fi
echo "book: built $book_dir/build/index.html"
