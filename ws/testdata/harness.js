// Runs client.js (argv[2]) or livereload.js in a fake browser and checks its
// behaviour. Prints "ok" or the failures, one a line.
'use strict';
const fs = require('fs');
const vm = require('vm');

const file = process.argv[2];
const live = /livereload\.js$/.test(file);
const src = fs.readFileSync(file, 'utf8');
const failures = [];
function check(cond, what) { if (!cond) failures.push(what); }

function el(tag) {
  return {
    tagName: tag.toUpperCase(), attrs: {}, children: [], parentNode: null, rel: '', href: '',
    setAttribute(k, v) { this.attrs[k] = v; },
    appendChild(c) { c.parentNode = this; this.children.push(c); return c; },
    insertBefore(c, ref) {
      c.parentNode = this;
      const i = ref ? this.children.indexOf(ref) : -1;
      if (i < 0) this.children.push(c); else this.children.splice(i, 0, c);
      return c;
    },
    removeChild(c) { this.children.splice(this.children.indexOf(c), 1); c.parentNode = null; },
    get nextSibling() {
      if (!this.parentNode) return null;
      const s = this.parentNode.children;
      return s[s.indexOf(this) + 1] || null;
    },
    cloneNode() { const c = el(this.tagName); c.rel = this.rel; c.href = this.href; return c; },
    attachShadow() { return el('#shadow-root'); },
  };
}
function link(href) { const l = el('link'); l.rel = 'stylesheet'; l.href = href; return l; }

const head = el('head');
const body = el('body');
const a = head.appendChild(link('http://localhost:8000/static/app.css?v=1'));
const b = head.appendChild(link('http://localhost:8000/static/other.css'));
const sockets = [];
const timers = [];
let reloads = 0;
const storage = {};
const logged = [];

class FakeWebSocket {
  constructor(url) { this.url = url; this.sent = []; sockets.push(this); }
  send(d) { this.sent.push(d); }
  open() { if (this.onopen) this.onopen({}); }
  msg(o) { this.onmessage({ data: JSON.stringify(o) }); }
  drop() { this.onclose({}); }
}
const quiet = {};
for (const k of ['log', 'info', 'warn', 'error', 'debug']) quiet[k] = (...x) => logged.push(k + ': ' + x.join(' '));

const sandbox = {
  WebSocket: FakeWebSocket,
  location: { protocol: 'http:', host: 'localhost:8000', hostname: 'localhost', href: 'http://localhost:8000/page', reload() { reloads++; } },
  sessionStorage: { getItem: (k) => (k in storage ? storage[k] : null), setItem: (k, v) => { storage[k] = String(v); } },
  document: {
    head, body, documentElement: el('html'),
    currentScript: { src: 'http://localhost:35729/livereload.js?snipver=1' },
    createElement: el,
    getElementsByTagName: (t) => head.children.filter((c) => c.tagName === t.toUpperCase()),
  },
  setTimeout: (f, ms) => { timers.push({ f, ms }); return timers.length; },
  clearTimeout: () => {},
  addEventListener: () => {},
  console: quiet,
  URL, JSON, Math, Date, String,
};
sandbox.window = sandbox;
sandbox.window.addEventListener = () => {};
vm.runInNewContext(src, sandbox);
vm.runInNewContext(src, sandbox); // injected twice: must connect once

function fire() { const t = timers.shift(); t.f(); return t.ms; }

check(sockets.length === 1, 'one socket, got ' + sockets.length);
let s = sockets[0];

if (!live) {
  check(s.url === 'ws://localhost:8000/.reloadproxy/ws', 'url ' + s.url);
  s.open();
  s.msg({ type: 'hello', generation: 5 });
  check(reloads === 0, 'first hello reloads');
  check(storage['reloadproxy.generation'] === '5', 'generation not stored');

  // Reconnect with backoff; a hello with the same generation does nothing.
  s.drop();
  check(timers.length === 1 && timers[0].ms === 100, 'first retry after 100 ms');
  fire();
  s = sockets[sockets.length - 1];
  s.drop(); check(timers[0].ms === 200, 'backoff doubles: ' + timers[0].ms); fire();
  for (let i = 0; i < 10; i++) { sockets[sockets.length - 1].drop(); fire(); }
  sockets[sockets.length - 1].drop();
  check(timers[0].ms === 3000, 'backoff capped at 3 s: ' + timers[0].ms);
  fire();
  s = sockets[sockets.length - 1];
  s.msg({ type: 'hello', generation: 5 });
  check(reloads === 0, 'same generation reloads');
  // Missed a restart while away: reload.
  s.drop(); fire(); s = sockets[sockets.length - 1];
  s.msg({ type: 'hello', generation: 6 });
  check(reloads === 1, 'changed generation on reconnect does not reload');
  check(storage['reloadproxy.generation'] === '6', 'generation 6 not stored');

  s.msg({ type: 'restarting', generation: 7 });
  const badge = body.children.find((c) => c.id === 'reloadproxy-badge');
  check(badge && /pointer-events:none/.test(badge.attrs.style) && /position:fixed/.test(badge.attrs.style), 'badge');
  s.msg({ type: 'restarting', generation: 7 });
  check(body.children.length === 1, 'one badge');
  s.msg({ type: 'reload', generation: 7 });
  check(reloads === 2 && storage['reloadproxy.generation'] === '7', 'reload message');

  s.msg({ type: 'css', path: 'static/app.css' });
} else {
  check(s.url === 'ws://localhost:35729/livereload', 'url ' + s.url);
  s.open();
  const hello = JSON.parse(s.sent[0]);
  check(hello.command === 'hello' && hello.protocols.indexOf('http://livereload.com/protocols/official-7') >= 0, 'hello ' + s.sent[0]);
  s.msg({ command: 'hello', protocols: ['http://livereload.com/protocols/official-7'], serverName: 'reloadproxy' });
  s.msg({ command: 'reload', path: '/', liveCSS: true });
  check(reloads === 1, 'reload /');
  s.msg({ command: 'reload', path: 'static/app.css', liveCSS: true });
}

// The matching stylesheet is swapped: the clone goes in after it with a
// cache buster, the old one leaves once the new one loaded.
check(reloads === (live ? 1 : 2), 'css change reloaded the page');
const links = head.children;
check(links.length === 3, 'links after swap: ' + links.length);
const fresh = links[1];
check(links[0] === a && /static\/app\.css\?v=1&_reloadproxy=\d+$/.test(fresh.href), 'fresh link ' + fresh.href);
check(links[2] === b, 'other stylesheet untouched');
fresh.onload();
check(head.children.length === 2 && head.children[0] === fresh, 'old link removed after load');
// No match: every stylesheet is refreshed.
(live ? s.msg({ command: 'reload', path: 'x/none.css', liveCSS: true }) : s.msg({ type: 'css', path: 'x/none.css' }));
check(head.children.length === 4, 'all refreshed when none matches: ' + head.children.length);

check(logged.length === 0, 'console output: ' + logged.join('; '));
console.log(failures.length ? failures.join('\n') : 'ok');
