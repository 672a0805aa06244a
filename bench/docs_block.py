"""Puts a table between `<!-- NAME:start -->` and `<!-- NAME:end -->` in docs/performance.md
(appending the markers if the page has none), for the bench scripts' --write-docs."""
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def write_block(name, body):
    doc = os.path.join(ROOT, "docs", "performance.md")
    text = open(doc).read()
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    block = f"{start}\n{body}\n{end}"
    if start in text:
        text = text[: text.index(start)] + block + text[text.index(end) + len(end):]
    else:
        text += "\n" + block + "\n"
    open(doc, "w").write(text)
