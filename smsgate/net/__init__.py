"""Network clients shared by the engine and the connectors (HTTP/1.1 keep-alive client)."""
