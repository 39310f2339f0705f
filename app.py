"""The web app: ``python app.py [OPTIONS]`` is ``report-search serve [OPTIONS]`` (``--help`` lists them).

Kept at the top of the repository for the README's first command; the app itself is ``search/serve/``.
"""

import sys

from search.cli import cli

if __name__ == "__main__":
    cli(["serve", *sys.argv[1:]], prog_name="app.py")
