#!/usr/bin/env python3
"""man-params.py: the CONFIGURATION PARAMETERS section of postlb.conf(5),
made from the three tables of README.md's "Configuration reference" (the
README is where settings are documented first).

  tools/man-params.py            rewrites man/postlb.conf.5 in place
  tools/man-params.py --check    exits 1 (and says so) when it is stale
"""
import os
import re
import sys

TOP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
TITLES = ["Redis, postlb\\-policyd and quotas", "Routing (postlb\\-milter)",
          "Delivery feedback (postlb\\-policyd)"]
WIDTH = 75


def tables(readme):
    """The rows of each table of the Configuration reference section."""
    sec = readme.split("\n## Configuration reference\n", 1)[1]
    sec = sec.split("\n## ", 1)[0]
    out, cur = [], None
    for line in sec.split("\n"):
        if line.startswith("| setting |"):
            cur = []
            out.append(cur)
        elif line.startswith("|---"):
            continue
        elif line.startswith("| ") and cur is not None:
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
            cur.append(cells)
        else:
            cur = None
    return out


def roff(text):
    """Markdown inline text to roff: `code` bold, escapes."""
    text = text.replace("\\|", "|")
    parts = re.split(r"(`[^`]*`)", text)
    res = []
    for p in parts:
        if p.startswith("`") and p.endswith("`") and len(p) > 1:
            res.append("\\fB" + p[1:-1].replace("\\", "\\e").replace("-", "\\-")
                       + "\\fR")
        else:
            res.append(p.replace("\\", "\\e"))
    text = "".join(res)
    for a, b in (("\u2014", "\\(em"), ("\u2013", "\\(en"),
                 ("\u00d7", "\\(mu"), ("\u2192", "\\(->"),
                 ("\u2264", "\\(<="), ("\u2265", "\\(>=")):
        text = text.replace(a, b)
    return text


def wrap(text):
    """Fills text at WIDTH columns; a line never starts with . or '."""
    words, lines, cur = text.split(" "), [], ""
    for w in words:
        if cur and len(cur) + 1 + len(w) > WIDTH:
            lines.append(cur)
            cur = w
        else:
            cur = cur + " " + w if cur else w
    if cur:
        lines.append(cur)
    return "\n".join(("\\&" + l if l[:1] in ".'" else l) for l in lines)


def section(rows_by_table):
    out = [".SH CONFIGURATION PARAMETERS"]
    for k, (title, rows) in enumerate(zip(TITLES, rows_by_table)):
        out.append(".SS " + title)
        for setting, default, meaning in rows:
            names = [n.strip().strip("`") for n in setting.split(",")]
            # the feedback table's rules[] are feedback.rules[]
            names = [("feedback." + n if k == 2 and n.startswith("rules[]")
                      else n) for n in names]
            meaning = meaning[:1].upper() + meaning[1:]
            if not meaning.endswith("."):
                meaning += "."
            out.append(".TP")
            out.append(", ".join("\\fB" + n.replace("-", "\\-") + "\\fR"
                                 for n in names))
            out.append(wrap(roff(meaning)))
            out.append(wrap("Default: " + roff(default) + "."))
    return "\n".join(out) + "\n"


def main():
    readme = open(os.path.join(TOP, "README.md")).read()
    page_path = os.path.join(TOP, "man", "postlb.conf.5")
    page = open(page_path).read()
    t = tables(readme)
    if len(t) != len(TITLES):
        sys.exit("man-params: %d tables in the Configuration reference, "
                 "want %d" % (len(t), len(TITLES)))
    head, rest = page.split(".SH CONFIGURATION PARAMETERS\n", 1)
    tail = rest[rest.index("\n.SH ") + 1:]
    new = head + section(t) + tail
    if "--check" in sys.argv[1:]:
        if new != page:
            sys.exit("man/postlb.conf.5 is stale: run tools/man-params.py")
        return
    open(page_path, "w").write(new)


main()
