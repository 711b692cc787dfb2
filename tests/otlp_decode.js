// SPDX-License-Identifier: MIT
//
// Decode an OTLP/HTTP request body with OpenTelemetry JS's own generated
// protobuf code (@opentelemetry/otlp-transformer 0.200.0) and print it as
// plain lines a C test can compare exactly:
//   resource KEY=VALUE
//   scope NAME [VERSION]
//   span TRACEID SPANID PARENTID|- NAME kind=N start=NS end=NS KEY=VALUE...
//   metric NAME unit=U TYPE [temporality=N monotonic=B]
//   point KEY=VALUE... value=V | count=N sum=S buckets=a,b bounds=x,y
//   log severity=N text=T time=NS observed=NS KEY=VALUE...
//   body TEXT
// Usage: node otlp_decode.js traces|metrics|logs FILE (a request body)
//        node otlp_decode.js traces-json FILE (OTLP-JSON lines, as --spans writes)
'use strict';

const fs = require('fs');
const path = require('path');

const root = require(path.join(__dirname, 'node_modules', '@opentelemetry', 'otlp-transformer',
	'build', 'src', 'generated', 'root.js'));
const v1 = root.opentelemetry.proto;

const hex = (b) => Buffer.from(b || []).toString('hex');
const str = (v) => (v === null || v === undefined ? '' : v.toString());
// An absent proto3 scalar reads as its default, as in every other decoder.
const num = (v) => (v === null || v === undefined ? '0' : v.toString());

function anyValue(v) {
	if (!v)
		return '';
	if (v.stringValue !== undefined && v.stringValue !== null && v.value === 'stringValue')
		return v.stringValue;
	if (v.value === 'intValue')
		return str(v.intValue);
	if (v.value === 'boolValue')
		return str(v.boolValue);
	if (v.value === 'doubleValue')
		return str(v.doubleValue);
	if (v.value === 'arrayValue')
		return '[' + ((v.arrayValue && v.arrayValue.values) || []).map(anyValue).join(',') + ']';
	return '?';
}

// "NAME" or "NAME VERSION".
const scopeOf = (s) => (!s ? '' : s.version ? `${s.name} ${s.version}` : s.name);

const attrs = (kvs) => (kvs || []).map((kv) => `${kv.key}=${anyValue(kv.value)}`);

function resource(r, out) {
	for (const a of attrs(r && r.attributes))
		out.push(`resource ${a}`);
}

function traces(buf, out) {
	const req = v1.collector.trace.v1.ExportTraceServiceRequest.decode(buf);

	for (const rs of req.resourceSpans) {
		resource(rs.resource, out);
		for (const ss of rs.scopeSpans) {
			out.push(`scope ${scopeOf(ss.scope)}`);
			for (const s of ss.spans) {
				const parent = s.parentSpanId && s.parentSpanId.length ? hex(s.parentSpanId) : '-';

				out.push([`span ${hex(s.traceId)} ${hex(s.spanId)} ${parent} ${s.name}`,
					`kind=${s.kind}`, `start=${num(s.startTimeUnixNano)}`,
					`end=${num(s.endTimeUnixNano)}`, ...attrs(s.attributes)].join(' '));
			}
		}
	}
}

function numberPoints(points, out) {
	for (const p of points) {
		const v = p.value === 'asInt' ? num(p.asInt) : num(p.asDouble);

		out.push(['point', ...attrs(p.attributes), `start=${num(p.startTimeUnixNano)}`,
			`time=${num(p.timeUnixNano)}`, `value=${v}`].join(' '));
	}
}

function metrics(buf, out) {
	const req = v1.collector.metrics.v1.ExportMetricsServiceRequest.decode(buf);

	for (const rm of req.resourceMetrics) {
		resource(rm.resource, out);
		for (const sm of rm.scopeMetrics) {
			out.push(`scope ${scopeOf(sm.scope)}`);
			for (const m of sm.metrics) {
				const head = `metric ${m.name} unit=${str(m.unit)}`;

				if (m.data === 'sum') {
					out.push(`${head} sum temporality=${m.sum.aggregationTemporality} ` +
						`monotonic=${Boolean(m.sum.isMonotonic)}`);
					numberPoints(m.sum.dataPoints, out);
				} else if (m.data === 'gauge') {
					out.push(`${head} gauge`);
					numberPoints(m.gauge.dataPoints, out);
				} else if (m.data === 'histogram') {
					out.push(`${head} histogram temporality=` +
						`${m.histogram.aggregationTemporality}`);
					for (const p of m.histogram.dataPoints) {
						out.push(['point', ...attrs(p.attributes),
							`start=${num(p.startTimeUnixNano)}`,
							`time=${num(p.timeUnixNano)}`, `count=${num(p.count)}`,
							`sum=${num(p.sum)}`,
							`buckets=${p.bucketCounts.map(num).join(',')}`,
							`bounds=${p.explicitBounds.join(',')}`].join(' '));
					}
				} else {
					out.push(`${head} ${m.data}`);
				}
			}
		}
	}
}

function logs(buf, out) {
	const req = v1.collector.logs.v1.ExportLogsServiceRequest.decode(buf);

	for (const rl of req.resourceLogs) {
		resource(rl.resource, out);
		for (const sl of rl.scopeLogs) {
			out.push(`scope ${scopeOf(sl.scope)}`);
			for (const l of sl.logRecords) {
				out.push([`log severity=${l.severityNumber}`, `text=${str(l.severityText)}`,
					`time=${num(l.timeUnixNano)}`, `observed=${num(l.observedTimeUnixNano)}`,
					...attrs(l.attributes)].join(' '));
				out.push(`body ${anyValue(l.body)}`);
			}
		}
	}
}

// The same object with its keys sorted, to compare two readings of it.
function canon(v) {
	if (Array.isArray(v))
		return v.map(canon);
	if (v && typeof v === 'object')
		return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canon(v[k])]));
	return v;
}

// OTLP-JSON lines: protobuf's JSON mapping but for the ids, which are hex.
// The generated code's fromObject reads each line; a field it does not
// know would be lost, so the message must read back as the same object.
function tracesJson(buf, out) {
	const Req = v1.collector.trace.v1.ExportTraceServiceRequest;
	const ids = ['traceId', 'spanId', 'parentSpanId'];

	for (const line of buf.toString().split('\n')) {
		if (!line)
			continue;
		const obj = JSON.parse(line);

		for (const rs of obj.resourceSpans || [])
			for (const ss of rs.scopeSpans || [])
				for (const s of ss.spans || [])
					for (const k of ids) {
						if (s[k] === undefined)
							continue;
						if (!/^([0-9a-f]{2})+$/.test(s[k]))
							throw new Error(`${k} is not lower-case hex: ${s[k]}`);
						s[k] = Buffer.from(s[k], 'hex').toString('base64');
					}
		const msg = Req.fromObject(obj);
		const back = Req.toObject(msg, { longs: String, enums: Number, bytes: String });

		if (JSON.stringify(canon(back)) !== JSON.stringify(canon(obj)))
			throw new Error(`not read as written:\n${JSON.stringify(canon(obj))}\n` +
				`${JSON.stringify(canon(back))}`);
		traces(Req.encode(msg).finish(), out);
	}
}

const [kind, file] = process.argv.slice(2);
const out = [];
const decoders = { metrics, traces, logs, 'traces-json': tracesJson };

decoders[kind](fs.readFileSync(file), out);
process.stdout.write(out.join('\n') + '\n');
