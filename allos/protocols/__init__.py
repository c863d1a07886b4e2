"""One pure module per wire protocol: canonical objects in, plain data out, and back. No I/O here."""
