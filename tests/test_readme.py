"""The README's quick tour runs as written."""
import os
import re


def test_readme_quick_tour_runs(capsys):
    path = os.path.join(os.path.dirname(__file__), os.pardir, "README.md")
    with open(path) as f:
        code = re.search(r"```python\n(.*?)```", f.read(), re.S).group(1)
    exec(compile(code, "README.md", "exec"), {})
    assert "reduce_sum[axes=(0,)]" in capsys.readouterr().out
