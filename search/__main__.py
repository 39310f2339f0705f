from search.cli import main

main("python -m search")
