"""No test bounds wall-clock time.

CI machines are shared and noisy (the same 30-minute stream took 45 s idle and
71 s with another process running), so a speed bound in seconds is a flaky
test. Speed is a figure the tools print; tests bound only deterministic things
(instructions under QEMU's -icount, bytes, counts). This test reads every test
module and refuses an upper bound (`<`, `<=`) on anything named like a
duration.
"""

import ast
import re
from pathlib import Path

TESTS = Path(__file__).resolve().parent
DURATION = re.compile(r"(second|elapsed|wall|duration|monotonic|perf_counter|time\(\))", re.I)


def _is_collection(node: ast.AST) -> bool:
    return isinstance(node, (ast.Set, ast.Dict, ast.List, ast.Tuple)) or (
        isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in {"set", "dict", "list"})


def _upper_bounds(tree: ast.AST):
    for node in ast.walk(tree):
        if not isinstance(node, ast.Assert) or not isinstance(node.test, ast.Compare):
            continue
        cmp = node.test
        operands = [cmp.left, *cmp.comparators]
        for op, lhs, rhs in zip(cmp.ops, operands, operands[1:]):
            # x < bound / x <= bound bounds x from above; bound > x likewise
            if isinstance(op, (ast.Lt, ast.LtE)):
                bounded = lhs
            elif isinstance(op, (ast.Gt, ast.GtE)):
                bounded = rhs
            else:
                continue
            if any(_is_collection(x) for x in (lhs, rhs)):   # set(m) >= {...}: a subset test
                continue
            if DURATION.search(ast.unparse(bounded)):
                yield node.lineno, ast.unparse(node.test)


def test_no_test_asserts_an_upper_bound_on_wall_time():
    found = []
    for path in sorted(TESTS.rglob("test_*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        found += [f"{path.relative_to(TESTS)}:{line}: {src}" for line, src in _upper_bounds(tree)]
    assert not found, "wall-clock upper bounds in tests:\n" + "\n".join(found)


SAMPLES = TESTS / "data" / "wallclock_bound_samples.py.txt"


def test_the_check_catches_the_patterns_it_is_for():
    # the samples live in a data file (not a test module): each line is marked
    # "# flag" (a flaky bound the checker must find) or "# keep" (not one)
    src = SAMPLES.read_text()
    marked = {n for n, line in enumerate(src.splitlines(), 1) if line.startswith("assert") and "# flag" in line}
    kept = {n for n, line in enumerate(src.splitlines(), 1) if line.startswith("assert") and "# keep" in line}
    assert len(marked) == 3 and len(kept) == 2
    assert {line for line, _ in _upper_bounds(ast.parse(src))} == marked
