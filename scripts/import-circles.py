#!/usr/bin/env python3
"""Import circles between the modules of a crate: exits 1, naming them, if any module uses one
that uses it back (directly or through others). Usage: scripts/import-circles.py DIR...

A module is a file; module a uses b when a names crate::b..., super::... or self::... (in a
`use` or in a path), resolved to the deepest module file that exists. A module and its own
parent or child are not a circle (a parent declares and re-exports its children). Test
modules (`#[cfg(test)] mod tests`) are left out. Standard library only."""
import os, re, sys


def check(root):
    mods = {}
    for dp, _, fs in os.walk(root):
        for f in fs:
            if not f.endswith('.rs'): continue
            p = os.path.join(dp, f); rel = os.path.relpath(p, root)[:-3]
            parts = rel.split(os.sep)
            if parts[-1] in ('mod', 'lib', 'main'): parts = parts[:-1]
            mods[tuple(parts)] = p
    def resolve(path):
        path = list(path)
        while path and tuple(path) not in mods: path.pop()
        return tuple(path)
    edges = {}
    for m, p in mods.items():
        src = open(p).read()
        # Leave out the test module at the end of a file.
        src = re.split(r'#\[cfg\(test\)\]\s*mod tests', src)[0]
        src = re.sub(r'//.*', '', src)
        targets = set()
        for mm in re.finditer(r'\b(crate|super|self)((?:::[A-Za-z_][A-Za-z0-9_]*)+)', src):
            head, rest = mm.group(1), mm.group(2).split('::')[1:]
            base = [] if head == 'crate' else list(m[:-1]) if head == 'super' else list(m)
            t = resolve(base + rest)
            if t != m and t:
                targets.add(t)
        # Grouped imports: `use crate::a::{b::C, d}` uses a::b and a::d.
        for mm in re.finditer(r'\b(crate|super|self)((?:::[A-Za-z_][A-Za-z0-9_]*)*)::\{([^}]*)\}', src):
            head, rest = mm.group(1), [x for x in mm.group(2).split('::') if x]
            base = [] if head == 'crate' else list(m[:-1]) if head == 'super' else list(m)
            for item in mm.group(3).split(','):
                item = item.strip().split(' as ')[0]
                if not item or item == 'self':
                    continue
                t = resolve(base + rest + item.split('::'))
                if t != m and t:
                    targets.add(t)
        edges[m] = targets
    # ancestors don't count as an import of a child's content when the child only uses the parent's re-exports? count all.
    def is_anc(a, b): return b[:len(a)] == a
    # Strongly connected components (Tarjan), over edges between modules neither of which
    # contains the other (a parent re-exporting its children is not a circle).
    graph = {a: {b for b in ts if not (is_anc(a, b) or is_anc(b, a))} for a, ts in edges.items()}
    index, low, stack, on, sccs, n = {}, {}, [], set(), [], [0]
    def visit(v):
        index[v] = low[v] = n[0]; n[0] += 1; stack.append(v); on.add(v)
        for w in graph.get(v, ()):
            if w not in index: visit(w); low[v] = min(low[v], low[w])
            elif w in on: low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop(); on.discard(w); comp.append(w)
                if w == v: break
            if len(comp) > 1: sccs.append(sorted('::'.join(c) or 'crate' for c in comp))
    sys.setrecursionlimit(10000)
    for v in list(graph): 
        if v not in index: visit(v)
    for c in sccs: print(root + ': modules importing each other: ' + ', '.join(c))
    return not sccs


if __name__ == "__main__":
    ok = all([check(r) for r in sys.argv[1:]])
    sys.exit(0 if ok else 1)
