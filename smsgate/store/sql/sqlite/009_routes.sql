-- Southbound routing (docs/routing.md).
-- The connector each message was last handed to, and the id that connector's provider gave it:
-- DRs are matched per connector (carrier ids collide across providers) and a message whose
-- outcome is unknown is recovered through the connector that had it.
CREATE TABLE message_routes (
    message_id TEXT PRIMARY KEY,
    connector TEXT NOT NULL,
    carrier_id TEXT,
    at REAL NOT NULL
);
CREATE INDEX message_routes_carrier ON message_routes(connector, carrier_id)
    WHERE carrier_id IS NOT NULL;

-- The routing table: rules (in `position` order), routes and prices, each a JSON body
-- (core.routing's structs), replaced as a whole by `smsgate routes import`.
CREATE TABLE routing_entries (
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    position INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (kind, name)
);
