"""Fake Reddit API server for rscrape's tests and `make demo`.

See tests/README.md. Start it with `python3 -m fakereddit` from tests/ or
`python3 tests/fakereddit/server.py`.
"""
