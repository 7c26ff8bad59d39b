// A small SMSC on npm's `smpp` package: an independent peer for smsgate's SMPP client.
//
// Configuration: a JSON object in SMSC_CONFIG (every key optional):
//   port (0: any free), system_id, password,
//   receipt: "after" (default) | "before" (deliver_sm receipt, then submit_sm_resp) | "none",
//   receipt_delay_ms, id_format: "dec" | "hex" (submit_sm_resp id; receipts always carry the
//   decimal form when receipt_ids is "dec", else the same string), receipt_ids: "same" | "dec",
//   throttle_every: N (every Nth submit_sm gets ESME_RTHROTTLED),
//   drop_after: N (after the Nth submit_sm arrives, cut the connection without answering it,
//   once), fail_prefix (destinations starting with it get stat:UNDELIV),
//   log: true (one JSON line per submit_sm and per completed message on stdout),
//   count_every: N (with log false: a {"event":"count"} line every N submit_sm, for benches).
// Prints "LISTENING <port>" when ready. A submit_sm whose text is "MO please" makes the
// handset answer with an incoming SMS "Reply from handset".
"use strict";
const smpp = require("smpp");

const cfg = Object.assign(
  {
    port: 0,
    system_id: "carrier",
    password: "secret",
    receipt: "after",
    receipt_delay_ms: 0,
    id_format: "dec",
    receipt_ids: "same",
    throttle_every: 0,
    drop_after: 0,
    fail_prefix: "7999",
    log: true,
    count_every: 0,
  },
  JSON.parse(process.env.SMSC_CONFIG || "{}"),
);

let nextId = 1000;
let submits = 0;
let dropped = false;
const receivers = new Set();
const parts = new Map();

function out(obj) {
  if (cfg.log) process.stdout.write(JSON.stringify(obj) + "\n");
}

function stamp() {
  const d = new Date();
  const p = (n) => String(n).padStart(2, "0");
  return (
    p(d.getUTCFullYear() % 100) + p(d.getUTCMonth() + 1) + p(d.getUTCDate()) +
    p(d.getUTCHours()) + p(d.getUTCMinutes())
  );
}

function textOf(pdu) {
  const sm = pdu.short_message;
  if (sm && typeof sm === "object" && "message" in sm) {
    return Buffer.isBuffer(sm.message) ? sm.message.toString("hex") : sm.message;
  }
  if (Buffer.isBuffer(sm)) return sm.toString("latin1");
  return String(sm || "");
}

function concatInfo(pdu) {
  const sm = pdu.short_message;
  if (sm && sm.udh) {
    for (const ie of sm.udh) {
      if (ie[0] === 0x00 && ie.length >= 5) return { ref: ie[2], total: ie[3], seq: ie[4] };
      if (ie[0] === 0x08 && ie.length >= 6) return { ref: ie.readUInt16BE(2), total: ie[4], seq: ie[5] };
    }
  }
  if (pdu.sar_msg_ref_num !== undefined && pdu.sar_total_segments !== undefined) {
    return { ref: pdu.sar_msg_ref_num, total: pdu.sar_total_segments, seq: pdu.sar_segment_seqnum };
  }
  return null;
}

function receiptFor(session, pdu, id, text) {
  const failed = cfg.fail_prefix && pdu.destination_addr.startsWith(cfg.fail_prefix);
  const stat = failed ? "UNDELIV" : "DELIVRD";
  const rid = cfg.receipt_ids === "dec" ? String(parseInt(id, 16)) : id;
  const body =
    `id:${rid} sub:001 dlvrd:${failed ? "000" : "001"} submit date:${stamp()} ` +
    `done date:${stamp()} stat:${stat} err:${failed ? "001" : "000"} text:${text.slice(0, 20)}`;
  deliver({
    source_addr: pdu.destination_addr,
    destination_addr: pdu.source_addr,
    esm_class: 4,
    short_message: body,
  });
}

// Like a real SMSC, keep what no bind can take now and send it on the next bind.
const waiting = [];
function deliver(fields) {
  const target = [...receivers][0];
  if (target) target.deliver_sm(fields);
  else waiting.push(fields);
}

const server = smpp.createServer({ debug: false }, (session) => {
  session.bindMode = null;
  const bind = (mode) => (pdu) => {
    if (pdu.system_id !== cfg.system_id || pdu.password !== cfg.password) {
      session.send(pdu.response({ command_status: smpp.ESME_RBINDFAIL }));
      session.close();
      return;
    }
    session.bindMode = mode;
    session.send(pdu.response({ system_id: "npm-smsc" }));
    if (mode !== "tx") {
      receivers.add(session);
      while (waiting.length) session.deliver_sm(waiting.shift());
    }
    out({ event: "bind", mode });
  };
  session.on("bind_transceiver", bind("trx"));
  session.on("bind_transmitter", bind("tx"));
  session.on("bind_receiver", bind("rx"));
  session.on("enquire_link", (pdu) => session.send(pdu.response()));
  session.on("unbind", (pdu) => {
    session.send(pdu.response());
    session.close();
  });
  session.on("close", () => receivers.delete(session));
  session.on("error", () => receivers.delete(session));
  session.on("deliver_sm_resp", () => {});
  session.on("submit_sm", (pdu) => {
    submits += 1;
    if (cfg.count_every && submits % cfg.count_every === 0) {
      process.stdout.write(JSON.stringify({ event: "count", n: submits, t: Date.now() }) + "\n");
    }
    if (cfg.drop_after && submits === cfg.drop_after && !dropped) {
      dropped = true;
      out({ event: "drop", seq: pdu.sequence_number });
      receivers.delete(session);
      session.socket.destroy();
      return;
    }
    if (cfg.throttle_every && submits % cfg.throttle_every === 0) {
      session.send(pdu.response({ command_status: smpp.ESME_RTHROTTLED }));
      out({ event: "throttled" });
      return;
    }
    const num = nextId++;
    const id = cfg.id_format === "hex" ? num.toString(16) : String(num);
    const text = textOf(pdu);
    const info = concatInfo(pdu);
    out({
      event: "submit",
      id,
      to: pdu.destination_addr,
      from: pdu.source_addr,
      ton: pdu.source_addr_ton,
      dc: pdu.data_coding,
      esm: pdu.esm_class,
      text,
      part: info,
    });
    if (info) {
      const key = `${pdu.source_addr}/${pdu.destination_addr}/${info.ref}`;
      const got = parts.get(key) || new Map();
      got.set(info.seq, text);
      parts.set(key, got);
      if (got.size === info.total) {
        parts.delete(key);
        const whole = [...got.keys()].sort((a, b) => a - b).map((k) => got.get(k)).join("");
        out({ event: "message", to: pdu.destination_addr, text: whole, parts: info.total });
      }
    } else {
      out({ event: "message", to: pdu.destination_addr, text, parts: 1 });
    }
    const resp = pdu.response({ message_id: id });
    const wantsReceipt = (pdu.registered_delivery & 3) !== 0 && cfg.receipt !== "none";
    if (wantsReceipt && cfg.receipt === "before") {
      receiptFor(session, pdu, id, text);
      setTimeout(() => session.send(resp), 30);
    } else {
      session.send(resp);
      if (wantsReceipt) {
        if (cfg.receipt_delay_ms) {
          setTimeout(() => receiptFor(session, pdu, id, text), cfg.receipt_delay_ms);
        } else {
          receiptFor(session, pdu, id, text);
        }
      }
    }
    if (text === "MO please") {
      deliver({
        source_addr: pdu.destination_addr,
        source_addr_ton: 1,
        source_addr_npi: 1,
        destination_addr: pdu.source_addr,
        short_message: "Reply from handset",
      });
    }
  });
});

server.listen(cfg.port, "127.0.0.1", () => {
  process.stdout.write(`LISTENING ${server.address().port}\n`);
});
process.on("SIGTERM", () => process.exit(0));
