-- Southbound routing: which connector had each message, and the routing table.

-- route_mark --
-- A message handed (or about to be handed) to a connector; the carrier id once known
INSERT INTO message_routes (message_id, connector, carrier_id, at) VALUES (?, ?, ?, ?)
ON CONFLICT (message_id) DO UPDATE SET connector = excluded.connector,
    carrier_id = excluded.carrier_id, at = excluded.at

-- routes_of --
-- The connectors of the messages in a JSON array of ids
SELECT message_id, connector, carrier_id, at FROM message_routes
WHERE message_id IN (SELECT value FROM json_each(?))

-- routes_by_carrier --
-- The messages a connector's provider knows by the carrier ids in a JSON array
SELECT carrier_id, message_id FROM message_routes
WHERE connector = ? AND carrier_id IN (SELECT value FROM json_each(?))

-- routing_entries --
-- The routing table, rules in order
SELECT kind, name, position, body FROM routing_entries ORDER BY kind, position, name

-- routing_clear --
-- Forget the routing table (a new one is written in the same transaction)
DELETE FROM routing_entries

-- routing_insert --
-- One rule, route or price
INSERT INTO routing_entries (kind, name, position, body) VALUES (?, ?, ?, ?)

