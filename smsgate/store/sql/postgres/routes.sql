-- Southbound routing: which connector had each message, and the routing table.

-- route_mark --
-- Messages handed (or about to be handed) to a connector; their carrier ids once known.
-- Parameters: message ids, connector, carrier ids (null: not yet), at
INSERT INTO message_routes (message_id, connector, carrier_id, at)
SELECT m, $2, c, $4 FROM unnest($1::text[], $3::text[]) AS t(m, c)
ON CONFLICT (message_id) DO UPDATE SET connector = excluded.connector,
    carrier_id = excluded.carrier_id, at = excluded.at

-- routes_of --
-- The connectors of the messages with these ids
SELECT message_id, connector, carrier_id, at FROM message_routes WHERE message_id = ANY($1::text[])

-- routes_by_carrier --
-- The messages a connector's provider knows by these carrier ids
SELECT carrier_id, message_id FROM message_routes
WHERE connector = $1 AND carrier_id = ANY($2::text[])

-- routing_entries --
-- The routing table, rules in order
SELECT kind, name, position, body FROM routing_entries ORDER BY kind, position, name

-- routing_lock --
-- One import at a time (two nodes applying a table at once would interleave)
LOCK TABLE routing_entries IN EXCLUSIVE MODE

-- routing_clear --
-- Forget the routing table (a new one is written in the same transaction)
DELETE FROM routing_entries

-- routing_insert --
-- One rule, route or price
INSERT INTO routing_entries (kind, name, position, body) VALUES ($1, $2, $3, $4)

