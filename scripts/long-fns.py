#!/usr/bin/env python3
"""List Rust functions longer than LIMIT lines, longest first (from the `fn`
line to its closing brace, counted with strings, chars and comments stripped).
Usage: python3 scripts/long-fns.py 80 src --exclude src/cli src/wasm_api
PATHs may be folders or files."""
import os
import re
import sys

FN = re.compile(r'^\s*(?:pub(?:\([^)]*\))?\s+)?(?:const\s+)?(?:async\s+)?(?:unsafe\s+)?fn\s+(\w+)')
# String and char literals and line comments: their braces do not count.
NOISE = re.compile(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])\'|//.*$')


def rust_files(paths, excluded):
    for root in paths:
        found = [root] if os.path.isfile(root) else [
            os.path.join(d, f) for d, _, files in os.walk(root) for f in sorted(files)
        ]
        for p in found:
            if p.endswith('.rs') and not any(p.startswith(e + '/') for e in excluded):
                yield p


def functions(path):
    """(lines, first line, name) of every function with a body."""
    lines = [NOISE.sub('""', l) for l in open(path).read().split('\n')]
    for i, line in enumerate(lines):
        m = FN.match(line)
        if not m:
            continue
        depth, opened = 0, False
        for j in range(i, len(lines)):
            if not opened and ';' in lines[j] and '{' not in lines[j]:
                break  # a declaration without a body (trait item)
            depth += lines[j].count('{') - lines[j].count('}')
            opened = opened or '{' in lines[j]
            if opened and depth == 0:
                yield j - i + 1, i + 1, m.group(1)
                break


def main(args):
    limit = int(args.pop(0))
    excluded = []
    if '--exclude' in args:
        i = args.index('--exclude')
        excluded = [e.rstrip('/') for e in args[i + 1:]]
        args = args[:i]
    long = [(n, p, ln, name) for p in rust_files(args, excluded) for n, ln, name in functions(p) if n > limit]
    for n, p, ln, name in sorted(long, reverse=True):
        print(f'{n:5} {p}:{ln} {name}')


if __name__ == '__main__':
    main(sys.argv[1:])
