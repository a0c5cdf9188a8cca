// The status page's script (served as /status.js): polls /calls and
// /metrics every few seconds, keeps the last minutes of samples to draw
// the chart, and fills the tables. Everything from the gateway goes into
// the page as text (textContent, createElement), never as markup: a
// caller's display name is chosen by whoever calls.
"use strict";

const POLL_MS = 3000;
const KEEP_MS = 10 * 60 * 1000; // the chart's span
const samples = [];             // {t, calls, rate, refused}
let last = null;                 // the previous scrape's counters, for rates

function el(tag, text, cls) {
	const e = document.createElement(tag);
	if (text !== undefined && text !== null) e.textContent = String(text);
	if (cls) e.className = cls;
	return e;
}

function setText(id, text) {
	document.getElementById(id).textContent = String(text);
}

// The Prometheus text format: "name{a="x",b="y"} value" lines; comments skipped.
function parseMetrics(text) {
	const out = [];
	for (const line of text.split("\n")) {
		if (line === "" || line[0] === "#") continue;
		const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
		if (!m) continue;
		const labels = {};
		const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
		let l;
		while (m[3] !== undefined && (l = re.exec(m[3])) !== null)
			labels[l[1]] = l[2].replace(/\\n/g, "\n").replace(/\\(.)/g, "$1");
		out.push({ name: m[1], labels: labels, value: Number(m[4]) });
	}
	return out;
}

function sum(metrics, name) {
	return metrics.filter(s => s.name === name).reduce((a, s) => a + s.value, 0);
}

function one(metrics, name) {
	const s = metrics.find(x => x.name === name);
	return s ? s.value : null;
}

function replaceRows(tableId, rows, cols) {
	const body = document.querySelector("#" + tableId + " tbody");
	const fresh = document.createElement("tbody");
	if (rows.length === 0) {
		const tr = el("tr");
		const td = el("td", "none", "empty");
		td.colSpan = cols;
		tr.appendChild(td);
		fresh.appendChild(tr);
	}
	for (const r of rows) fresh.appendChild(r);
	body.replaceWith(fresh);
}

function duration(s) {
	const h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60, sec = s % 60;
	return (h ? h + ":" + String(m).padStart(2, "0") : String(m)) + ":" + String(sec).padStart(2, "0");
}

function legText(leg) {
	let t = leg.leg + " " + leg.transport;
	if (leg.tls_version) t += " " + leg.tls_version;
	t += leg.srtp_suite ? " SRTP " + leg.srtp_suite : " RTP";
	return t;
}

function packets(legs) {
	let rx = 0, tx = 0;
	for (const leg of legs)
		for (const m of leg.media || []) {
			rx += m.rx_packets || 0;
			tx += m.tx_packets || 0;
		}
	return rx + " / " + tx;
}

function showCalls(doc) {
	const rows = [];
	for (const c of doc.calls) {
		const tr = el("tr");
		tr.dataset.callId = c.id;
		const legs = c.legs || [];
		const caller = legs.find(l => l.side === "caller");
		const callee = legs.find(l => l.side === "callee");
		tr.appendChild(el("td", c.id, "num"));
		tr.appendChild(el("td", c.state));
		tr.appendChild(el("td", c.from === undefined ? "(private)" : c.from, "from"));
		tr.appendChild(el("td", c.to, "to"));
		tr.appendChild(el("td", duration(c.duration_s), "num"));
		tr.appendChild(el("td", caller ? legText(caller) : ""));
		tr.appendChild(el("td", callee ? legText(callee) : ""));
		tr.appendChild(el("td", packets(legs), "num"));
		rows.push(tr);
	}
	replaceRows("calls", rows, 8);
	setText("calls-note", doc.truncated ? "(list cut: more calls than shown)" : "");
}

function showMetrics(metrics, now) {
	const refusals = metrics.filter(s => s.name === "portcullis_refusals_total");
	const calls = metrics.filter(s => s.name === "portcullis_calls_started_total");
	const setups = sum(calls.filter(s => s.labels.direction === "in"), "portcullis_calls_started_total");
	// A digest challenge is how authentication starts, not a refusal: every
	// authenticated call has one, so the rate leaves them out (the table not).
	const challenges = new Set(["challenge", "proxy_challenge"]);
	const refused = sum(refusals.filter(s => !challenges.has(s.labels.reason)),
		"portcullis_refusals_total");
	let rate = null, refusedRate = null;
	if (last && now > last.t) {
		const dt = (now - last.t) / 1000;
		rate = Math.max(0, setups - last.setups) / dt;
		refusedRate = Math.max(0, refused - last.refused) / dt;
	}
	last = { t: now, setups: setups, refused: refused };
	const live = one(metrics, "portcullis_calls");
	setText("t-calls", live === null ? "–" : live);
	setText("t-rate", rate === null ? "–" : rate.toFixed(2));
	setText("t-refusals", refusedRate === null ? "–" : refusedRate.toFixed(2));
	const up = one(metrics, "portcullis_peers_up"), pinged = one(metrics, "portcullis_peers_pinged");
	setText("t-peers", up === null ? "–" : up + " / " + (pinged === null ? "?" : pinged));
	const streams = one(metrics, "portcullis_media_streams");
	setText("t-streams", streams === null ? "–" : streams);

	replaceRows("refusals", refusals.filter(s => s.value > 0)
		.sort((a, b) => b.value - a.value)
		.map(s => {
			const tr = el("tr");
			tr.appendChild(el("td", s.labels.reason));
			tr.appendChild(el("td", s.value, "num"));
			return tr;
		}), 2);
	replaceRows("legs", calls.map(s => {
		const tr = el("tr");
		tr.appendChild(el("td", s.labels.leg));
		tr.appendChild(el("td", s.labels.direction));
		tr.appendChild(el("td", s.value, "num"));
		return tr;
	}), 3);

	if (live !== null) {
		samples.push({ t: now, calls: live, rate: rate || 0, refused: refusedRate || 0 });
		while (samples.length && samples[0].t < now - KEEP_MS) samples.shift();
	}
	draw(now);
}

function draw(now) {
	const cv = document.getElementById("chart");
	const g = cv.getContext("2d");
	const w = cv.width, h = cv.height, pad = 30;
	g.clearRect(0, 0, w, h);
	g.strokeStyle = "#c9ced8";
	g.fillStyle = "#5b6475";
	g.font = "11px sans-serif";
	g.beginPath();
	g.moveTo(pad, 5);
	g.lineTo(pad, h - pad);
	g.lineTo(w - 5, h - pad);
	g.stroke();
	const t0 = now - KEEP_MS;
	const x = t => pad + (w - pad - 30) * (t - t0) / KEEP_MS;
	for (let min = 0; min <= 10; min += 2)
		g.fillText(min === 10 ? "now" : "-" + (10 - min) + " min", x(t0 + min * 60000) - 14, h - pad + 14);
	let top = 1;
	for (const s of samples) top = Math.max(top, s.calls, s.rate, s.refused);
	g.fillText(String(Math.ceil(top)), 2, 12);
	g.fillText("0", 2, h - pad);
	const y = v => (h - pad) - (h - pad - 10) * v / top;
	const series = [["calls", "#2f6fdb"], ["rate", "#1e9e57"], ["refused", "#d2452f"]];
	for (const [key, colour] of series) {
		g.strokeStyle = colour;
		g.lineWidth = 2;
		g.beginPath();
		samples.forEach((s, i) => (i ? g.lineTo : g.moveTo).call(g, x(s.t), y(s[key])));
		g.stroke();
		// A dot per sample: the first minutes have too few for a line.
		g.fillStyle = colour;
		for (const s of samples) g.fillRect(x(s.t) - 1.5, y(s[key]) - 1.5, 3, 3);
	}
}

async function poll() {
	const now = Date.now();
	try {
		const [calls, metrics] = await Promise.all([
			fetch("/calls", { cache: "no-store" }).then(r => {
				if (!r.ok) throw new Error("/calls: HTTP " + r.status);
				return r.json();
			}),
			fetch("/metrics", { cache: "no-store" }).then(r => {
				if (!r.ok) throw new Error("/metrics: HTTP " + r.status);
				return r.text();
			}),
		]);
		showCalls(calls);
		showMetrics(parseMetrics(metrics), now);
		const u = document.getElementById("updated");
		u.className = "";
		u.textContent = "Updated " + new Date(now).toLocaleTimeString() +
			"; every " + POLL_MS / 1000 + " s";
	} catch (e) {
		const u = document.getElementById("updated");
		u.className = "stale";
		u.textContent = "Not updated: " + e.message;
	}
}

poll();
setInterval(poll, POLL_MS);
