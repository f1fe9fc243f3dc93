"""``python -m acefit.config``: the configuration reference, docs/config.md, on stdout."""

import sys

from acefit.config.markdown import render_markdown

sys.stdout.write(render_markdown())
