// tiktoken-oracle.js — the real tiktoken (npm package "tiktoken", the Rust
// core compiled to WASM) as an oracle and a benchmark peer.
//
//   node tiktoken-oracle.js ranks ENCODING OUT.tiktoken
//       Write the package's ranks for ENCODING (r50k_base, cl100k_base,
//       o200k_base) as a .tiktoken rank file: "BASE64TOKEN RANK" per line.
//       The package keeps them in encoders/ENCODING.json, field bpe_ranks:
//       lines "! OFFSET TOK TOK ...", each TOK base64, ranks OFFSET, OFFSET+1...
//   node tiktoken-oracle.js encode ENCODING FILE [all]
//       Print the ids of encode_ordinary(contents of FILE as UTF-8), one line
//       of space-separated ids; with "all", of encode(contents, "all"): the
//       encoding's special tokens are recognised.
//   node tiktoken-oracle.js cases ENCODING FILE
//       FILE holds one test string per line, JSON-quoted; print one line of
//       ids per string.
//   node tiktoken-oracle.js subset ENCODING FILE OUT.tiktoken
//       FILE as for cases: write the ranks of every token whose bytes occur
//       in one of the strings, and of all 256 single bytes. Encoding a piece
//       consults only the ranks of byte strings inside it, so this subset
//       gives exactly the ids of the full ranks on these strings.
//   node tiktoken-oracle.js hex FILE
//       FILE as for cases: print each string's UTF-8 bytes in hex, one line
//       per string (what the C tests read).
//   node tiktoken-oracle.js classes OUT.c
//       Write the character classes of the package's regex engine as C:
//       for every code point, which of \p{Lu} \p{Ll} \p{Lt} \p{Lm} \p{Lo}
//       \p{M} \p{N} \s it belongs to (none, or exactly one). Each class is
//       read from the engine itself: a Tiktoken whose pattern is the class
//       alone and whose ranks are the 256 single bytes gives back, for a
//       string of all code points, exactly the bytes of those it matched.
//       The Unicode version is named from letters first assigned in 15.0,
//       15.1, 16.0 and 17.0. The hand-written pre-tokenizer of the built-in
//       patterns (src/bpe/pretok.c) classifies characters with this table.
//   node tiktoken-oracle.js unicode DERIVEDAGE OUT.jsonl
//       Write test strings of characters by Unicode version, one JSON string
//       per line: for every version from 6.0, a few characters that version
//       added (DERIVEDAGE is the UCD's DerivedAge.txt, e.g. Debian's
//       unicode-data, /usr/share/unicode/DerivedAge.txt) of each general
//       category the patterns tell apart (Lu Ll Lt Lm Lo, marks, Nd Nl No,
//       Zs), each set in the contexts where the three patterns cut: after a
//       letter and before a contraction ("x\u{11F04}'s"), in runs, after a
//       space, between digits, before newlines. Versions newer than the file
//       are taken from node's own Unicode (JavaScript's \p{...}): the
//       characters it knows that the file does not, split into those
//       tiktoken's engine knows (a class other than none in classes) and the
//       rest.
//   node tiktoken-oracle.js special ENCODING FILE
//       As cases, with tiktoken's special tokens allowed: encode(s, "all").
//   node tiktoken-oracle.js bench ENCODING FILE RUNS
//       Time encode_ordinary on the whole file RUNS times (single thread) and
//       print "seconds tokens" of each run.
//
// The package is found through $AD_NPM_DIR/node_modules (quickstart test
// installs it there) or the usual node resolution.
"use strict";
const fs = require("fs");
const path = require("path");

function pkgDir() {
	const dirs = [];
	if (process.env.AD_NPM_DIR)
		dirs.push(path.join(process.env.AD_NPM_DIR, "node_modules", "tiktoken"));
	for (const d of dirs)
		if (fs.existsSync(path.join(d, "package.json")))
			return d;
	return path.dirname(require.resolve("tiktoken/package.json"));
}

function load(name) {
	const dir = pkgDir();
	const tk = require(path.join(dir, "tiktoken.cjs"));
	const data = JSON.parse(fs.readFileSync(path.join(dir, "encoders", name + ".json"), "utf8"));
	return { tk, data, enc: new tk.Tiktoken(data.bpe_ranks, data.special_tokens, data.pat_str) };
}

const [cmd, name, file, extra] = process.argv.slice(2);
if (cmd === "ranks") {
	const { data, enc } = load(name);
	enc.free();
	const out = [];
	for (const line of data.bpe_ranks.split("\n")) {
		if (!line) continue;
		const parts = line.split(" ");
		const offset = parseInt(parts[1], 10);
		for (let i = 2; i < parts.length; i++)
			out.push(parts[i] + " " + (offset + i - 2));
	}
	fs.writeFileSync(file, out.join("\n") + "\n");
} else if (cmd === "encode") {
	const { enc } = load(name);
	const text = fs.readFileSync(file, "utf8");
	const ids = extra === "all" ? enc.encode(text, "all") : enc.encode_ordinary(text);
	process.stdout.write(Array.from(ids).join(" ") + "\n");
	enc.free();
} else if (cmd === "cases") {
	const { enc } = load(name);
	for (const line of fs.readFileSync(file, "utf8").split("\n")) {
		if (!line) continue;
		process.stdout.write(Array.from(enc.encode_ordinary(JSON.parse(line))).join(" ") + "\n");
	}
	enc.free();
} else if (cmd === "subset") {
	const { data, enc } = load(name);
	enc.free();
	const texts = fs.readFileSync(file, "utf8").split("\n").filter(Boolean)
		.map((l) => Buffer.from(JSON.parse(l), "utf8"));
	const out = [];
	for (const line of data.bpe_ranks.split("\n")) {
		if (!line) continue;
		const parts = line.split(" ");
		const offset = parseInt(parts[1], 10);
		for (let i = 2; i < parts.length; i++) {
			const tok = Buffer.from(parts[i], "base64");
			if (tok.length === 1 || texts.some((t) => t.indexOf(tok) >= 0))
				out.push(parts[i] + " " + (offset + i - 2));
		}
	}
	fs.writeFileSync(extra, out.join("\n") + "\n");
} else if (cmd === "hex") {
	for (const line of fs.readFileSync(name, "utf8").split("\n")) {
		if (!line) continue;
		process.stdout.write(Buffer.from(JSON.parse(line), "utf8").toString("hex") + "\n");
	}
} else if (cmd === "classes") {
	const tk = require(path.join(pkgDir(), "tiktoken.cjs"));
	const ver = require(path.join(pkgDir(), "package.json")).version;
	const bytes = [];
	for (let b = 0; b < 256; b++)
		bytes.push(Buffer.from([b]).toString("base64"));
	const members = (pat) => {
		const enc = new tk.Tiktoken("! 0 " + bytes.join(" "), {}, pat);
		const set = new Set();
		for (let base = 0; base < 0x110000; base += 4096) {
			let s = "";
			for (let cp = base; cp < base + 4096; cp++)
				if (cp < 0xd800 || cp > 0xdfff)
					s += String.fromCodePoint(cp);
			for (const c of Buffer.from(enc.encode_ordinary(s)).toString("utf8"))
				set.add(c.codePointAt(0));
		}
		enc.free();
		return set;
	};
	// The order is the C enum pretok_class (1..8; 0 is none of them).
	const classes = ["\\p{Lu}", "\\p{Ll}", "\\p{Lt}", "\\p{Lm}", "\\p{Lo}", "\\p{M}", "\\p{N}", "\\s"];
	const cls = new Uint8Array(0x110000);
	classes.forEach((c, i) => {
		for (const cp of members(c)) {
			if (cls[cp] !== 0)
				throw new Error("U+" + cp.toString(16) + " is in two classes");
			cls[cp] = i + 1;
		}
	});
	let uni = "14.0 or older";
	for (const [v, cp] of [["15.0", 0x11f04], ["15.1", 0x2ebf0], ["16.0", 0x10d4a], ["17.0", 0x10940]])
		if (cls[cp] === 5)
			uni = v;
	// Case-insensitive contractions: only s has a non-ASCII case variant (U+017F).
	for (const l of "strvmld") {
		const got = [...members("(?i:" + l + ")")].sort((a, b) => a - b).join(",");
		const want = [l.toUpperCase().codePointAt(0), l.codePointAt(0)].concat(l === "s" ? [0x17f] : []).join(",");
		if (got !== want)
			throw new Error("(?i:" + l + ") matches " + got + ", not " + want + ": update pretok.c");
	}
	const runs = [];
	for (let cp = 0; cp < 0x110000; cp++)
		if (cp === 0 || cls[cp] !== cls[cp - 1])
			runs.push("0x" + (cp * 16 + cls[cp]).toString(16).padStart(8, "0") + "u");
	const out = ["/*",
		" * pretok_uni.c — the character classes of tiktoken's regex engine (Unicode " + uni + "),",
		" * generated by tests/tiktoken-oracle.js classes from the npm package tiktoken " + ver + ";",
		" * do not edit. Each entry is (first code point << 4) | class: the class",
		" * (enum pretok_class in pretok_uni.h) of every code point up to the next entry.",
		" */",
		"#include \"config.h\"",
		"",
		"#include \"bpe/pretok_uni.h\"",
		"",
		"const char pretok_uni_version[] = \"" + uni + "\";",
		"const size_t pretok_uni_nruns = " + runs.length + ";",
		"const uint32_t pretok_uni_runs[] = {"];
	for (let i = 0; i < runs.length; i += 6)
		out.push("\t" + runs.slice(i, i + 6).join(", ") + ",");
	out.push("};");
	fs.writeFileSync(name, out.join("\n") + "\n");
} else if (cmd === "special") {
	const { enc } = load(name);
	for (const line of fs.readFileSync(file, "utf8").split("\n")) {
		if (!line) continue;
		process.stdout.write(Array.from(enc.encode(JSON.parse(line), "all")).join(" ") + "\n");
	}
	enc.free();
} else if (cmd === "unicode") {
	const age = new Map();   // code point -> version, from DerivedAge.txt
	const versions = [];
	for (const line of fs.readFileSync(name, "utf8").split("\n")) {
		const m = /^([0-9A-F]+)(?:\.\.([0-9A-F]+))?\s*;\s*([0-9.]+)/.exec(line);
		if (!m) continue;
		const a = parseInt(m[1], 16), z = m[2] ? parseInt(m[2], 16) : a;
		for (let cp = a; cp <= z; cp++)
			age.set(cp, m[3]);
		if (!versions.includes(m[3])) versions.push(m[3]);
	}
	const cats = ["Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Me", "Nd", "Nl", "No", "Zs"];
	const re = Object.fromEntries(cats.map((c) => [c, new RegExp("^\\p{gc=" + c + "}$", "u")]));
	const catOf = (ch) => cats.find((c) => re[c].test(ch));
	// tiktoken's engine: a character it puts in no class matches [^\s\p{L}\p{N}].
	const tk = require(path.join(pkgDir(), "tiktoken.cjs"));
	const bytes = [];
	for (let b = 0; b < 256; b++)
		bytes.push(Buffer.from([b]).toString("base64"));
	const known = new tk.Tiktoken("! 0 " + bytes.join(" "), {}, "[\\p{L}\\p{M}\\p{N}\\s]");
	const tkKnows = (ch) => known.encode_ordinary(ch).length > 0;
	const byVersion = new Map();
	const add = (v, cp) => {
		if (!byVersion.has(v)) byVersion.set(v, []);
		byVersion.get(v).push(cp);
	};
	for (let cp = 0; cp < 0x110000; cp++) {
		if (cp >= 0xd800 && cp <= 0xdfff) continue;
		const ch = String.fromCodePoint(cp);
		if (catOf(ch) === undefined) continue;
		if (age.has(cp))
			add(age.get(cp), cp);
		else
			add(tkKnows(ch) ? "newer than the file, known to tiktoken" : "newer than tiktoken's", cp);
	}
	known.free();
	const out = [];
	const order = (v) => v.split(".").map(Number).reduce((a, b) => a * 100 + b, 0);
	const vs = [...byVersion.keys()].filter((v) => !/^[0-9]/.test(v) || order(v) >= order("6.0"));
	vs.sort((a, b) => (/^[0-9]/.test(a) ? order(a) : 1e9 + a.length) - (/^[0-9]/.test(b) ? order(b) : 1e9 + b.length));
	for (const v of vs) {
		const list = byVersion.get(v);
		for (const c of cats) {
			const of = list.filter((cp) => catOf(String.fromCodePoint(cp)) === c);
			// The first and a middle one: two characters of each kind.
			for (const cp of new Set([of[0], of[Math.floor(of.length / 2)]].filter((x) => x !== undefined))) {
				const ch = String.fromCodePoint(cp);
				out.push(JSON.stringify("x" + ch + "'s " + ch + ch + ch + ch + " A" + ch + "b " + ch +
				    "1 1" + ch + ch + ch + " " + ch + "'LL ." + ch + ". " + ch + ch + "\n" + ch +
				    "  " + ch + "\t" + ch + "/" + ch + "\r\n"));
			}
		}
	}
	fs.writeFileSync(file, out.join("\n") + "\n");
} else if (cmd === "bench") {
	const { enc } = load(name);
	const text = fs.readFileSync(file, "utf8");
	const runs = parseInt(extra || "3", 10);
	for (let r = 0; r < runs; r++) {
		const t0 = process.hrtime.bigint();
		const ids = enc.encode_ordinary(text);
		const t1 = process.hrtime.bigint();
		process.stdout.write((Number(t1 - t0) / 1e9).toFixed(6) + " " + ids.length + "\n");
	}
	enc.free();
} else {
	process.stderr.write("usage: node tiktoken-oracle.js ranks|encode|cases|bench ENCODING FILE [RUNS]\n");
	process.exit(2);
}
