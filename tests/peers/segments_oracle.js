#!/usr/bin/env node
// Segment-count oracle for tests/core/test_segments_oracle.py.
// Usage: node segments_oracle.js INPUT.json
// INPUT.json is a JSON array of strings; prints a JSON array of
// {"encoding": "GSM-7" | "UCS-2", "segments": N} in the same order.
'use strict';
const fs = require('fs');
const { SegmentedMessage } = require('sms-segments-calculator');

const texts = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const out = texts.map((text) => {
  const m = new SegmentedMessage(text, 'auto', false); // no Twilio "smart encoding"
  return { encoding: m.getEncodingName(), segments: m.segmentsCount };
});
process.stdout.write(JSON.stringify(out));
